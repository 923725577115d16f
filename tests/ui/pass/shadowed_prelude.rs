// Generated code names nothing through the prelude: it compiles, without a
// warning, in a crate that shadows the prelude's names.
#![deny(warnings)]
#![allow(non_camel_case_types, dead_code)]

struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct Box;
struct String;
struct Clone;
struct Copy;
struct Debug;
struct Send;
struct Sync;
struct Future;
struct Default;
mod core {}
mod std {}
mod serde {}

use weft::{ActivityContext, ActivityError, WorkflowContext, WorkflowResult, activity, workflow};

/// An activity.
#[activity]
async fn charge(
    _ctx: ActivityContext,
    cents: u64,
    memo: ::std::string::String,
) -> ::core::result::Result<u64, ActivityError> {
    let _ = memo;
    ::core::result::Result::Ok(cents)
}

/// A workflow.
#[workflow]
async fn checkout(_ctx: WorkflowContext, order: ::std::vec::Vec<u64>) -> WorkflowResult<::std::string::String> {
    WorkflowResult::Ok(::std::format!("{}", order.len()))
}

fn main() {
    let _ = (charge, checkout);
}
