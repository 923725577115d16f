//! Stores: where runs, histories and pending tasks are kept.
//!
//! The engine talks to a [`Store`] through a few operations, each one
//! transaction: create a run, commit a workflow step (its events, the run's
//! state and the task rows those events imply), and the fenced updates of an
//! activity attempt. [`sqlite::SqliteStore`] implements it on a file (WAL,
//! group commit) or in memory.

mod lock;
pub(crate) mod sqlite;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::activity::{ActivityOptions, TimeoutType};
use crate::client::WorkflowIdReusePolicy;
use crate::history::{Failure, HistoryEvent, Payload};

/// The status of a workflow run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// The run is open.
    Running,
    /// The workflow returned a result.
    Completed,
    /// The workflow returned an error.
    Failed,
    /// The workflow accepted a cancellation.
    Canceled,
    /// The run was terminated from outside.
    Terminated,
}

impl RunStatus {
    /// The status as stored and printed: `running`, `completed`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Canceled => "canceled",
            RunStatus::Terminated => "terminated",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "canceled" => RunStatus::Canceled,
            "terminated" => RunStatus::Terminated,
            _ => return None,
        })
    }

    /// The status a close event leaves the run in.
    pub(crate) fn after(event: &crate::history::EventAttributes) -> Option<Self> {
        use crate::history::EventAttributes as E;
        Some(match event {
            E::WorkflowExecutionCompleted { .. } => RunStatus::Completed,
            E::WorkflowExecutionFailed { .. } => RunStatus::Failed,
            E::WorkflowExecutionCanceled {} => RunStatus::Canceled,
            E::WorkflowExecutionTerminated { .. } => RunStatus::Terminated,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run, as the store keeps it.
#[derive(Debug, Clone)]
pub(crate) struct RunRecord {
    pub(crate) run_id: String,
    pub(crate) workflow_id: String,
    pub(crate) workflow_type: String,
    pub(crate) status: RunStatus,
    pub(crate) created_at: SystemTime,
    pub(crate) closed_at: Option<SystemTime>,
    pub(crate) next_event_id: u64,
    /// Why the run is held (non-determinism, a panic, corruption), if it is.
    pub(crate) held: Option<String>,
}

/// Identifies one activity of one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ActivityKey {
    pub(crate) run_id: String,
    pub(crate) seq: u32,
}

/// A pending activity: its task row, and what the engine needs to run it.
#[derive(Debug, Clone)]
pub(crate) struct ActivityTask {
    pub(crate) key: ActivityKey,
    pub(crate) workflow_id: String,
    pub(crate) scheduled_event_id: u64,
    pub(crate) activity_id: String,
    pub(crate) activity_type: String,
    pub(crate) input: Payload,
    pub(crate) options: ActivityOptions,
    pub(crate) scheduled_at: SystemTime,
    /// Attempts started so far (0: none yet).
    pub(crate) attempt: u32,
    /// Whether attempt `attempt` is running (as far as the store knows).
    pub(crate) running: bool,
    /// When the next attempt may start (backoff), if later than scheduling.
    pub(crate) retry_at: Option<SystemTime>,
    pub(crate) last_failure: Option<Failure>,
    pub(crate) heartbeat_details: Option<Payload>,
    pub(crate) cancel_requested: bool,
}

/// A pending durable timer.
#[derive(Debug, Clone)]
pub(crate) struct TimerTask {
    pub(crate) run_id: String,
    pub(crate) seq: u32,
    pub(crate) started_event_id: u64,
    pub(crate) fire_at: SystemTime,
}

/// How an activity ended, waiting in the run's inbox for the next workflow step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ActivityOutcome {
    Completed { result: Payload },
    Failed { failure: Failure },
    TimedOut { timeout_type: TimeoutType, last_failure: Option<Failure> },
    Canceled,
}

/// A fact for the workflow, not yet in its history: the next workflow step
/// turns it into events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum InboxItem {
    /// The run was started; the first workflow step records `WorkflowExecutionStarted`.
    Start {
        input: Payload,
    },
    ActivityClosed {
        scheduled_event_id: u64,
        attempt: u32,
        last_failure: Option<Failure>,
        outcome: ActivityOutcome,
    },
    TimerFired {
        started_event_id: u64,
    },
    CancelRequested {
        reason: String,
    },
    Terminate {
        reason: String,
    },
}

/// An inbox item with its store id.
#[derive(Debug, Clone)]
pub(crate) struct InboxEntry {
    pub(crate) id: i64,
    pub(crate) item: InboxItem,
}

/// What one workflow step writes, atomically.
#[derive(Debug)]
pub(crate) struct WorkflowTaskCommit {
    pub(crate) run_id: String,
    pub(crate) workflow_id: String,
    /// The id of the first new event: the run's `next_event_id` when the step read it (fencing).
    pub(crate) first_event_id: u64,
    pub(crate) events: Vec<HistoryEvent>,
    /// The inbox items the step consumed.
    pub(crate) consumed: Vec<i64>,
    /// Activities scheduled by this step whose first attempt starts right
    /// after it, recorded as started in the same transaction (no commit of its own).
    pub(crate) eager_starts: Vec<u32>,
}

/// A run and its inbox, as a workflow step reads them.
pub(crate) type StepInput = (RunRecord, Vec<InboxEntry>);

/// How a new run starts.
#[derive(Debug)]
pub(crate) enum RunStart {
    /// With an [`InboxItem::Start`] in its inbox, for its first step to consume.
    Inbox(InboxItem),
    /// With its first step already run: committed with the run, in one transaction.
    Step(WorkflowTaskCommit),
}

/// A fenced change to one activity attempt's task row.
#[derive(Debug)]
pub(crate) enum ActivityUpdate {
    /// Attempt `attempt` starts (the row must be at `attempt - 1`, not running).
    Start { attempt: u32, at: SystemTime },
    /// Attempt `attempt` failed and will be retried at `retry_at`.
    Retry { attempt: u32, retry_at: SystemTime, failure: Failure, heartbeat_details: Option<Payload> },
    /// Attempt `attempt` heartbeated.
    Heartbeat { attempt: u32, details: Option<Payload> },
    /// The activity ended (attempt 0 when no attempt ever started).
    Close { attempt: u32, last_failure: Option<Failure>, outcome: ActivityOutcome },
    /// The activity was cancelled while no attempt ran (queued or in backoff).
    CancelIdle,
}

/// What the engine reloads on start.
#[derive(Debug, Default)]
pub(crate) struct Recovery {
    pub(crate) runs_with_work: Vec<String>,
    pub(crate) activities: Vec<ActivityTask>,
    pub(crate) timers: Vec<TimerTask>,
}

/// Filters for [`Store::list_runs`].
#[derive(Debug, Clone, Default)]
pub(crate) struct RunFilter {
    pub(crate) status: Option<RunStatus>,
    pub(crate) workflow_type: Option<String>,
    pub(crate) limit: Option<usize>,
}

/// The engine's view of durable storage. Every method is one transaction.
pub(crate) trait Store: Send + Sync + 'static {
    /// Creates a run and starts it as `start` says; fails with
    /// `AlreadyStarted` if an open run holds the workflow id. Closed runs of
    /// the id are checked against `reuse`.
    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>>;

    /// Commits one workflow step: appends the events (their ids must continue
    /// the run's), removes the consumed inbox items, and applies what the
    /// events imply: task rows for scheduled activities and started timers,
    /// timer rows removed on cancel, cancel flags, and on a close event the
    /// run's status and the removal of its remaining task rows. Clears the
    /// run's hold. Fails with `Ok(false)` if the run moved on (fencing).
    fn commit_workflow_task(&self, commit: WorkflowTaskCommit) -> BoxFuture<'_, Result<bool>>;

    /// Marks a run held (`Some(reason)`) or not (`None`).
    fn hold_run(&self, run_id: String, reason: Option<String>) -> BoxFuture<'_, Result<()>>;

    /// Applies a fenced activity update; `Ok(false)` when the row is gone or
    /// at another attempt (a stale task). `Close` also adds the outcome to the
    /// run's inbox.
    fn update_activity(&self, key: ActivityKey, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>>;

    /// A timer fired: removes its row and adds `TimerFired` to the inbox;
    /// `Ok(false)` if the row is gone (cancelled, or fired already).
    fn fire_timer(&self, run_id: String, seq: u32, started_event_id: u64) -> BoxFuture<'_, Result<bool>>;

    /// Adds an item to an open run's inbox; `Ok(false)` if the run is closed or unknown.
    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>>;

    /// One run by run id.
    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>>;

    /// The newest run of a workflow id.
    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>>;

    /// Runs, newest first.
    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<RunRecord>>>;

    /// A run's events with ids above `after`, checked (contiguous ids, checksums).
    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>>;

    /// Closes an activity attempt (fenced on `attempt`) and commits the step
    /// that records its close, in one transaction. False, with nothing
    /// written, if the attempt is stale or the step is fenced.
    fn close_activity_with_step(
        &self,
        key: ActivityKey,
        attempt: u32,
        step: WorkflowTaskCommit,
    ) -> BoxFuture<'_, Result<bool>>;

    /// What a workflow step reads: the run and its inbox (oldest first), in one read.
    fn step_input(&self, run_id: String) -> BoxFuture<'_, Result<Option<StepInput>>>;

    /// A run's pending activities and timers.
    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>>;

    /// Everything open, for the engine's start.
    fn recover(&self) -> BoxFuture<'_, Result<Recovery>>;

    /// The runs with inbox items newer than `after`, and the newest item id
    /// (`after` if there is none): how a running engine notices requests
    /// written by another process (the `weft` command).
    fn inbox_since(&self, after: i64) -> BoxFuture<'_, Result<(i64, Vec<String>)>>;

    /// Finishes queued writes and releases the store; later calls fail with `Shutdown`.
    fn close(&self);
}
