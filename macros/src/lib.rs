//! The attribute macros of [weft](https://docs.rs/weft): `#[activity]`,
//! `#[activities]` and `#[workflow]`. Use them through the `weft` crate, which
//! re-exports them; `docs/dsl.md` documents every argument.
//!
//! Each macro parses its arguments ([`args`]) and item ([`ast`]), validates
//! them ([`options`], [`determinism`], [`heartbeat`]) and expands them
//! ([`expand`], [`activities`]). Every failure is a `syn::Error` on the
//! user's tokens; the macro still emits the item (expanded when its signature
//! allows), so one mistake does not cascade.

mod activities;
mod args;
mod ast;
mod determinism;
mod errors;
mod expand;
mod heartbeat;
mod options;
mod workflow_impl;

use proc_macro::TokenStream;

/// Turns an `async fn` into a typed activity stub.
///
/// ```text
/// #[activity(start_to_close_timeout = "10s", retry(maximum_attempts = 5))]
/// pub async fn charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> { .. }
/// ```
///
/// The function's name becomes a stub function (so bindings of that name
/// still shadow it) whose definition type, of the same name, implements
/// `weft::Activity` (registered name, input and output types, default options)
/// and `weft::activity::ActivityFn`. Several inputs travel as a tuple. Arguments:
/// `name`, `crate`, `start_to_close_timeout`, `schedule_to_close_timeout`,
/// `schedule_to_start_timeout`, `heartbeat_timeout`, `retry(..)`, `task_queue`.
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::function(args::Site::Activity, args.into(), item.into()).into()
}

/// Turns the `#[activity]` methods of an impl block into typed stubs that
/// share one instance.
///
/// ```text
/// #[activities]
/// impl Payments {
///     #[activity(start_to_close_timeout = "10s")]
///     pub async fn charge(&self, ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> { .. }
/// }
/// // engine: .register_activities(Arc::new(Payments { .. }))
/// // workflow: ctx.execute_activity(Payments::charge, 500, ActivityOptions::defaults())
/// ```
///
/// Methods take `&self` or `self: Arc<Self>`. Argument: `crate`.
#[proc_macro_attribute]
pub fn activities(args: TokenStream, item: TokenStream) -> TokenStream {
    activities::impl_block(args.into(), item.into()).into()
}

/// Turns an `async fn` into a typed workflow stub, or an impl block into a
/// workflow with message handlers; rejects calls in workflow code that would
/// break replay (`SystemTime::now`, `tokio::time::sleep`, ...).
///
/// ```text
/// #[workflow(name = "YourWorkflow")]
/// pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> { .. }
///
/// #[workflow]
/// impl Order {
///     #[run] pub async fn run(ctx: WorkflowContext<Self>, input: OrderInput) -> WorkflowResult<Receipt> { .. }
///     #[signal] pub fn approve(&mut self, approval: Approval) { .. }
///     #[query] pub fn status(&self) -> Status { .. }
///     #[update] pub fn set_quantity(&mut self, quantity: u32) -> WorkflowResult<u32> { .. }
///     #[validator(set_quantity)] fn check_quantity(&self, quantity: &u32) -> Result<(), WorkflowError> { .. }
/// }
/// ```
///
/// On a function, its name becomes a stub function whose definition type, of
/// the same name, implements `weft::Workflow`. On an impl block, the block's
/// type is the workflow's state, `Type::run` its stub, and each handler's name
/// a typed stub constant (`Order::approve`). Several inputs travel as a tuple.
/// Arguments: `name`, `crate`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let is_impl = item.clone().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        && !item.clone().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "fn"));
    if is_impl {
        workflow_impl::impl_block(args.into(), item).into()
    } else {
        expand::function(args::Site::Workflow, args.into(), item).into()
    }
}
