//! The attribute macros of [weft](https://docs.rs/weft): `#[activity]` and `#[workflow]`.
//!
//! Use them through the `weft` crate, which re-exports them; the code they
//! generate reaches everything through `weft` (or the path given with
//! `crate = "..."`), so a user depends on `weft` alone.
//!
//! Each attribute runs parse ([`args`], [`ast`]) -> [`validate`] ->
//! [`expand`]; on any error, [`fallback`] emits the errors next to a stub so
//! that one mistake does not cascade.

mod args;
mod ast;
mod errors;
mod expand;
mod fallback;
mod validate;

use proc_macro::TokenStream;

use crate::ast::Kind;

/// Turns an `async fn` into a typed activity stub.
///
/// The function's first parameter is an `ActivityContext`; the parameters
/// after it are the activity's input (none: `()`, one: its type, several: a
/// tuple of them), and it returns `Result<T, ActivityError>`, `T` being the
/// output. Inputs and output must be `Serialize + DeserializeOwned`, and the
/// function's future must be `Send`.
///
/// The function's name becomes a unit struct implementing `weft::Activity`
/// and `weft::ActivityFn`: pass it to `WorkflowContext::execute_activity` and
/// `EngineBuilder::register_activity`.
///
/// ```ignore
/// use weft::{activity, ActivityContext, ActivityError};
///
/// #[activity(name = "Transfer")]
/// pub async fn transfer(ctx: ActivityContext, from: String, to: String, cents: u64) -> Result<String, ActivityError> {
///     Ok(format!("moved {cents} from {from} to {to} ({})", ctx.idempotency_key()))
/// }
///
/// // In a workflow: the input is the tuple of the three arguments.
/// let receipt: String = ctx.execute_activity(transfer, (from, to, 500), options).await?;
/// ```
///
/// # Arguments
///
/// - `name = "..."`: the registered name (default: the function's name).
/// - `crate = "path"`: where the `weft` crate is, if it is renamed (default: `::weft`).
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, item) = (args.into(), item.into());
    expand::expand(Kind::Activity, &args, &item)
        .unwrap_or_else(|error| fallback::expand(Kind::Activity, &args, &item, error))
        .into()
}

/// Turns an `async fn` into a typed workflow stub.
///
/// The function's first parameter is a `WorkflowContext`; the parameters after
/// it are the workflow's input (none: `()`, one: its type, several: a tuple of
/// them), and it returns `WorkflowResult<T>` (or `Result<T, WorkflowError>`),
/// `T` being the output. Inputs and output must be
/// `Serialize + DeserializeOwned`, and the function's future must be `Send`.
///
/// The function's name becomes a unit struct implementing `weft::Workflow`:
/// pass it to `EngineBuilder::register_workflow` and `Client::start_workflow`.
///
/// ```ignore
/// use std::time::Duration;
/// use weft::{workflow, ActivityOptions, WorkflowContext, WorkflowResult};
///
/// #[workflow(name = "YourWorkflow")]
/// pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
///     let options = ActivityOptions::start_to_close(Duration::from_secs(10));
///     let greeting = ctx.execute_activity(your_activity, YourParams { greeting: "Hello".into(), name }, options).await?;
///     Ok(greeting)
/// }
/// ```
///
/// # Arguments
///
/// - `name = "..."`: the registered name (default: the function's name).
/// - `crate = "path"`: where the `weft` crate is, if it is renamed (default: `::weft`).
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, item) = (args.into(), item.into());
    expand::expand(Kind::Workflow, &args, &item)
        .unwrap_or_else(|error| fallback::expand(Kind::Workflow, &args, &item, error))
        .into()
}
