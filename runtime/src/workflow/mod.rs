//! Workflows: deterministic async functions that orchestrate activities.
//!
//! A workflow is an `async fn` marked [`#[workflow]`](crate::workflow) whose
//! first parameter is a [`WorkflowContext`] and which returns a
//! [`WorkflowResult`]. It calls activities through the context
//! ([`execute_activity`](WorkflowContext::execute_activity),
//! [`start_activity`](WorkflowContext::start_activity) for an
//! [`ActivityHandle`]), sleeps on durable [`Timer`]s, and reads time and
//! randomness from the context, so that replaying it against its history
//! reproduces every decision.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};
//!
//! #[activity]
//! async fn double(_ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
//!     Ok(n * 2)
//! }
//!
//! #[workflow]
//! async fn quadruple(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
//!     let options = ActivityOptions::start_to_close(Duration::from_secs(5));
//!     let twice = ctx.execute_activity(double, n, options.clone()).await?;
//!     Ok(ctx.execute_activity(double, twice, options).await?)
//! }
//! # let _ = weft::Engine::builder().register_workflow(quadruple);
//! ```

pub(crate) mod child;
mod command;
pub(crate) mod context;
pub(crate) mod definition;
pub(crate) mod machine;
pub(crate) mod messages;

pub use child::{ChildWorkflowFailure, ChildWorkflowHandle, ChildWorkflowOptions, StartChildWorkflow};
pub(crate) use context::WorkflowInfo;
pub use context::{ActivityHandle, Canceled, ExternalSignal, ExternalSignalError, Timer, WorkflowContext};
pub(crate) use definition::workflow_id_problem;
pub use definition::{MAX_WORKFLOW_ID_LEN, Workflow, WorkflowDefinition, WorkflowError, WorkflowResult, WorkflowStub};
pub use messages::{Handlers, Query, Recv, Signal, SignalChannel, Update, WaitCondition};
