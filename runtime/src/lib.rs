//! weft: durable workflows for Rust.
//!
//! A **workflow** is an ordinary `async fn` that orchestrates **activities**;
//! the engine records every step in an event history and, after a crash or
//! restart, **replays** the workflow's code against that history so it
//! carries on exactly where it stopped. An activity does the side effects: it
//! runs at least once, under timeouts and a retry policy, and its result is
//! recorded once.
//!
//! weft runs embedded: a library in your process, its history in one SQLite
//! file (or in memory), no server to install.
//!
//! # Examples
//!
//! The Temporal documentation's `YourWorkflow`, in weft, on an in-memory store:
//!
//! ```
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//! use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult};
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct YourParams {
//!     pub greeting: String,
//!     pub name: String,
//! }
//!
//! #[activity]
//! pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
//!     Ok(format!("{}, {}!", input.greeting, input.name))
//! }
//!
//! #[workflow(name = "YourWorkflow")]
//! pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
//!     let greeting = ctx
//!         .execute_activity(
//!             your_activity,
//!             YourParams { greeting: "Hello".into(), name },
//!             ActivityOptions::start_to_close(Duration::from_secs(10)),
//!         )
//!         .await?;
//!     Ok(greeting)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> weft::Result<()> {
//! let engine = Engine::builder()
//!     .in_memory()
//!     .register_workflow(your_workflow)
//!     .register_activity(your_activity)
//!     .build()
//!     .await?;
//! let handle = engine.client().start_workflow(your_workflow, "greet-1", "World".to_owned()).await?;
//! assert_eq!(handle.result().await?, "Hello, World!");
//! engine.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code))))]

pub mod activity;
mod client;
mod description;
mod engine;
mod error;
pub mod history;
pub mod inspect;
mod list;
mod query;
mod store;
pub mod testing;
pub mod workflow;

pub use activity::{
    Activity, ActivityContext, ActivityError, ActivityFailure, ActivityOptions, CancellationType, RetryPolicy,
    TimeoutType,
};
pub use client::{Client, MAX_WORKFLOW_ID_LEN, UpdateOptions, WorkflowHandle, WorkflowIdReusePolicy, WorkflowOptions};
pub use description::{
    ChildDescription, ChildState, PendingActivity, PendingActivityState, PendingTimer, WorkerDescription,
    WorkflowDescription,
};
pub use engine::{DEFAULT_TASK_QUEUE, Durability, Engine, EngineBuilder, WorkerStats};
pub use error::{Error, ErrorChain, FileKind, PayloadError, Result};
pub use list::{ListFilter, PageToken, WorkflowCounts, WorkflowPage};
pub use store::RunStatus;
pub use workflow::{
    ActivityHandle, Canceled, ChildWorkflowFailure, ChildWorkflowHandle, ChildWorkflowOptions, Workflow,
    WorkflowContext, WorkflowError, WorkflowResult,
};

/// Marks an `async fn` as an activity and turns its name into a typed stub.
///
/// See the crate's `docs/dsl.md` for every argument.
#[cfg(feature = "macros")]
#[doc(inline)]
pub use weft_macros::activity;

/// Marks an `impl` block whose `#[activity]` methods share one instance.
///
/// See the crate's `docs/dsl.md` for every argument.
#[cfg(feature = "macros")]
#[doc(inline)]
pub use weft_macros::activities;

/// Marks an `async fn` as a workflow and turns its name into a typed stub.
///
/// See the crate's `docs/dsl.md` for every argument.
#[cfg(feature = "macros")]
#[doc(inline)]
pub use weft_macros::workflow;

/// The Rust blocks of the user guide compile and run as doc tests.
#[cfg(doctest)]
mod user_guide {
    #[doc = include_str!("../../docs/activities.md")]
    struct Activities;
    #[doc = include_str!("../../docs/concepts.md")]
    struct Concepts;
    #[doc = include_str!("../../docs/dsl.md")]
    struct Dsl;
    #[doc = include_str!("../../docs/determinism.md")]
    struct Determinism;
    #[doc = include_str!("../../docs/durability.md")]
    struct Durability;
    #[doc = include_str!("../../docs/messages.md")]
    struct Messages;
    #[doc = include_str!("../../docs/history-format.md")]
    struct HistoryFormat;
    #[doc = include_str!("../../docs/versioning.md")]
    struct Versioning;
    #[doc = include_str!("../../docs/workflow-lifecycle.md")]
    struct WorkflowLifecycle;
    #[doc = include_str!("../../docs/cli.md")]
    struct Cli;
    #[doc = include_str!("../../docs/decisions.md")]
    struct Decisions;
    #[doc = include_str!("../../README.md")]
    struct Readme;
}

/// What the fuzz targets in `runtime/fuzz` need of the internals. Not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

/// What the macros' generated code refers to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use core;
    pub use serde;
    pub use std;

    pub use crate::activity::definition::{
        ActivityDefinition, ActivityFnDefinition, ActivityMethodDefinition, DefaultTimeoutDefinition,
    };
    pub use crate::activity::{
        Activities, Activity, ActivityContext, ActivityError, ActivityFn, ActivityMethod, ActivityOptions, Defaulted,
        HasDefaultTimeout, Registrar, RetryPolicy,
    };
    pub use crate::workflow::definition::WorkflowDefinition;
    pub use crate::workflow::{
        Handlers, Query, Signal, Update, Workflow, WorkflowContext, WorkflowError, WorkflowResult, WorkflowStub,
    };

    /// The options an `#[activity(...)]` attribute declares; the macro has checked them.
    pub fn declared_options(
        schedule_to_close: Option<core::time::Duration>,
        schedule_to_start: Option<core::time::Duration>,
        start_to_close: Option<core::time::Duration>,
        heartbeat: Option<core::time::Duration>,
        retry_policy: Option<RetryPolicy>,
        task_queue: Option<&'static str>,
    ) -> ActivityOptions<Defaulted> {
        let timeouts = crate::activity::Timeouts { schedule_to_close, schedule_to_start, start_to_close, heartbeat };
        crate::activity::declared(timeouts, retry_policy, task_queue)
    }

    /// Fails to compile unless `T` can travel through history.
    pub const fn assert_payload<T: serde::Serialize + serde::de::DeserializeOwned>() {}

    /// Fails to compile unless the future can move between engine threads.
    pub fn assert_send<F: core::future::Future + Send + 'static>(future: F) -> F {
        future
    }

    /// The parameter type of a stub function (`fn step<T: ActivityStubArgument<step>>(_: T) -> step`):
    /// uninhabited, so a stub is never called. Through `Fn(StubToken) -> D` the
    /// runtime's blanket impls give the function what its definition type `D` implements.
    #[derive(Debug)]
    pub enum StubToken {}

    /// Met only by [`StubToken`]: calling an activity stub like a function
    /// fails here, with a message that says how to run the activity.
    #[diagnostic::on_unimplemented(
        message = "`{S}` is an activity: a workflow does not call it like a function",
        label = "this calls activity `{S}` directly",
        note = "run it through the workflow's context, which records it in history: \
                `ctx.execute_activity({S}, input, options).await` (several inputs as a tuple)"
    )]
    pub trait ActivityStubArgument<S> {}
    impl<S> ActivityStubArgument<S> for StubToken {}

    /// Met only by [`StubToken`]: calling a workflow stub like a function
    /// fails here, with a message that says how to start the workflow.
    #[diagnostic::on_unimplemented(
        message = "`{S}` is a workflow: it is not called like a function",
        label = "this calls workflow `{S}` directly",
        note = "start it from a client: `client.start_workflow({S}, workflow_id, input).await`; \
                child workflows are not supported yet"
    )]
    pub trait WorkflowStubArgument<S> {}
    impl<S> WorkflowStubArgument<S> for StubToken {}
}
