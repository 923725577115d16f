//! The attribute macros of [weft](https://docs.rs/weft): `#[activity]` and
//! `#[workflow]`. Use them through the `weft` crate, which re-exports them.
//!
//! Each macro parses its attribute and function into a small AST
//! ([`ast`]), validates it, and expands it ([`expand`]); every failure is a
//! `syn::Error` on the user's tokens, emitted next to the user's function so
//! one mistake does not cascade ([`fallback`]).

mod args;
mod ast;
mod expand;
mod fallback;

use proc_macro::TokenStream;

/// Turns an `async fn` into a typed activity stub.
///
/// ```text
/// #[activity]                    // or #[activity(name = "Charge")]
/// pub async fn charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> { .. }
/// ```
///
/// The function's name becomes a unit struct implementing `weft::Activity`
/// (registered name, input and output types) and `weft::activity::ActivityFn`.
/// Several inputs travel as a tuple. Arguments: `name = "..."`, `crate = "path"`.
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(ast::Kind::Activity, args.into(), item.into()).into()
}

/// Turns an `async fn` into a typed workflow stub.
///
/// ```text
/// #[workflow(name = "YourWorkflow")]
/// pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> { .. }
/// ```
///
/// The function's name becomes a unit struct implementing `weft::Workflow`.
/// Several inputs travel as a tuple. Arguments: `name = "..."`, `crate = "path"`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(ast::Kind::Workflow, args.into(), item.into()).into()
}
