//! Testing workflows on virtual time.
//!
//! The engine's clock is tokio's: every timeout, backoff and durable timer is
//! a tokio `sleep_until`, and every history timestamp is read from tokio's
//! clock. Under [`tokio::time::pause`] (`#[tokio::test(start_paused = true)]`)
//! tokio jumps ahead whenever every task is waiting on time, so a test of a
//! ten-minute timeout runs in milliseconds, and always the same way.
//!
//! [`TestEnv`] is an in-memory engine for such tests.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use weft::testing::TestEnv;
//! use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult};
//!
//! #[activity]
//! async fn slow(_ctx: ActivityContext) -> Result<(), ActivityError> {
//!     tokio::time::sleep(Duration::from_secs(600)).await;
//!     Ok(())
//! }
//!
//! #[workflow]
//! async fn impatient(ctx: WorkflowContext) -> WorkflowResult<bool> {
//!     let options = ActivityOptions::start_to_close(Duration::from_secs(60)).retry_policy(weft::RetryPolicy::no_retries());
//!     Ok(ctx.execute_activity(slow, (), options).await.is_err())
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> weft::Result<()> {
//! // In a test: #[tokio::test(start_paused = true)]
//! let env = TestEnv::start(Engine::builder().register_workflow(impatient).register_activity(slow)).await?;
//! let started = env.now();
//! let handle = env.client().start_workflow(impatient, "wf", ()).await?;
//! assert!(handle.result().await?, "the attempt timed out");
//! assert!(env.now().duration_since(started).unwrap() >= Duration::from_secs(60));
//! env.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::time::SystemTime;

use crate::{Client, Engine, EngineBuilder, Result};

/// An in-memory engine for tests on virtual time.
///
/// Start it inside `#[tokio::test(start_paused = true)]` (a current-thread
/// runtime with tokio's clock paused); the engine then never waits for real.
#[derive(Debug)]
pub struct TestEnv {
    engine: Engine,
}

impl TestEnv {
    /// Builds `builder` on an in-memory store.
    pub async fn start(builder: EngineBuilder) -> Result<Self> {
        let engine = builder.in_memory().build().await?;
        Ok(TestEnv { engine })
    }

    /// Builds `builder` on the SQLite file at `path`, with its writes run on
    /// the test's own thread so virtual time stays deterministic. Shut the
    /// environment down and start another on the same file to test what
    /// survives a restart (durable timers, activities in flight).
    pub async fn start_on_file(builder: EngineBuilder, path: impl AsRef<std::path::Path>) -> Result<Self> {
        let engine = builder.sqlite_inline(path.as_ref()).build().await?;
        Ok(TestEnv { engine })
    }

    /// The engine's client.
    pub fn client(&self) -> Client {
        self.engine.client()
    }

    /// The engine's current (virtual) time.
    pub fn now(&self) -> SystemTime {
        self.engine.now()
    }

    /// The engine under test.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops the engine.
    pub async fn shutdown(self) {
        self.engine.shutdown().await;
    }
}

/// Replays recorded histories against the workflow code you have now, in an
/// ordinary test: a change that would break runs already in flight fails it.
///
/// ```
/// use weft::testing::Replayer;
/// use weft::{workflow, WorkflowContext, WorkflowResult};
///
/// #[workflow]
/// async fn noop(_ctx: WorkflowContext) -> WorkflowResult<()> {
///     Ok(())
/// }
///
/// let history = r#"[
///   {"event_id":1,"timestamp":"2026-01-01T00:00:00Z","event_type":"WorkflowExecutionStarted",
///    "attributes":{"workflow_type":"noop","workflow_id":"w","run_id":"r","input":null}},
///   {"event_id":2,"timestamp":"2026-01-01T00:00:00Z","event_type":"WorkflowExecutionCompleted",
///    "attributes":{"result":null}}
/// ]"#;
/// Replayer::new().register_workflow(noop).replay_json(history).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Replayer {
    registry: crate::engine::Registry,
}

impl Replayer {
    /// A replayer that knows no workflow yet.
    pub fn new() -> Self {
        Replayer::default()
    }

    /// Registers the workflow code to replay histories against.
    #[must_use]
    pub fn register_workflow<W: crate::Workflow>(mut self, workflow: W) -> Self {
        let _ = workflow;
        self.registry.add_workflow::<W>();
        self
    }

    /// Replays one run's history. Fails with [`Error::NonDeterminism`](crate::Error::NonDeterminism)
    /// when the code issues other commands than the history records,
    /// [`Error::CorruptHistory`](crate::Error::CorruptHistory) when the history itself is broken,
    /// and [`Error::UnknownWorkflowType`](crate::Error::UnknownWorkflowType) for an unregistered type.
    pub fn replay(&self, history: &[crate::history::HistoryEvent]) -> Result<()> {
        crate::engine::replay(&self.registry, history)
    }

    /// Replays a history in the JSON format of `weft workflow history --output json`
    /// (an array of events).
    pub fn replay_json(&self, json: &str) -> Result<()> {
        let history: Vec<crate::history::HistoryEvent> =
            serde_json::from_str(json).map_err(|e| crate::Error::CorruptHistory {
                workflow_id: String::new(),
                run_id: String::new(),
                reason: format!("the JSON history does not parse: {e}"),
            })?;
        self.replay(&history)
    }

    /// Replays a JSON history file.
    pub fn replay_file(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let json = std::fs::read_to_string(path.as_ref()).map_err(crate::Error::store)?;
        self.replay_json(&json)
    }
}
