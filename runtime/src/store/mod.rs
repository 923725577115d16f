//! Stores: where runs, histories and task rows are kept, and how workers claim them.
//!
//! The engine talks to a [`Store`] through a few operations, each one
//! transaction. The store keeps rows and enforces leases and fences; it does
//! not read history: a step's commit names the task rows it adds, changes
//! and removes ([`StepCommit`]), and the engine derives them from the events.
//!
//! Work is claimed, not handed over: a worker claims workflow tasks (a run
//! with inbox items), activity attempts and expired attempts under a
//! [`Lease`], and each completion is fenced on the lease's token; a
//! completion whose lease was lost fails with [`Error::StaleTask`](crate::Error::StaleTask)
//! and changes nothing. [`sqlite::SqliteStore`] implements it on a file (WAL,
//! group commit) or in memory; `postgres::PostgresStore` on PostgreSQL.
//! Every store runs the one conformance suite in `conformance.rs`.

/// When an activity row's expiry may be claimed (`claim_expired_activities`),
/// in either backend's SQL: once it has expired and no unexpired lease holds
/// it; NULL when it never expires or a lease without a deadline holds it. A
/// claimed row so leaves the range the claim scans until its lease ends.
/// Each backend's `activity_tasks_claimable` index is on this expression,
/// and a database uses it only for a query that spells it the same.
macro_rules! claimable_at {
    () => {
        "(CASE WHEN lease_token IS NULL OR lease_deadline <= expires_at THEN expires_at ELSE lease_deadline END)"
    };
}

pub(crate) mod codec;
#[cfg(test)]
pub(crate) mod conformance;
mod list;
mod lock;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::activity::{ActivityOptions, TimeoutType};
pub use crate::history::WorkflowIdReusePolicy;
use crate::history::{Failure, HistoryEvent, ParentClosePolicy, ParentExecution, Payload, WorkflowTimeout};
pub(crate) use list::{
    Dialect, ListPosition, ListedRun, RUN_TABLES, RunCounts, RunFilter, Shape, SqlValue, expired_runs_sql,
};

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
    /// The run continued as a new run of the same workflow id.
    ContinuedAsNew,
    /// The run's (or the workflow's execution) timeout ended it.
    TimedOut,
}

impl RunStatus {
    /// Every status, open first.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Canceled,
        RunStatus::Terminated,
        RunStatus::ContinuedAsNew,
        RunStatus::TimedOut,
    ];

    /// The status as stored and printed: `running`, `completed`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Canceled => "canceled",
            RunStatus::Terminated => "terminated",
            RunStatus::ContinuedAsNew => "continued_as_new",
            RunStatus::TimedOut => "timed_out",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "canceled" => RunStatus::Canceled,
            "terminated" => RunStatus::Terminated,
            "continued_as_new" => RunStatus::ContinuedAsNew,
            "timed_out" => RunStatus::TimedOut,
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
            E::WorkflowExecutionContinuedAsNew { .. } => RunStatus::ContinuedAsNew,
            E::WorkflowExecutionTimedOut { .. } => RunStatus::TimedOut,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How hard a store pushes each commit to disk.
///
/// | setting | a committed step survives |
/// |---|---|
/// | `Full` (default) | process crash (`kill -9`) and power loss |
/// | `Normal` | process crash; power loss may lose the last commits (never corrupts) |
///
/// On SQLite, `synchronous=FULL` or `NORMAL` (WAL); on PostgreSQL,
/// `synchronous_commit` `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is flushed to disk before it is acknowledged (group commit shares one flush).
    #[default]
    Full,
    /// Commits are flushed in the background: a power loss (or a database
    /// server crash) may lose the last ones, never corrupt the store.
    Normal,
}

/// Whether `policy` refuses a new run of a workflow id whose newest run has
/// `status` (as the stores keep it: `running`, `completed`, ...).
pub(crate) fn reuse_refuses(policy: WorkflowIdReusePolicy, status: &str) -> bool {
    match policy {
        _ if status == RunStatus::Running.as_str() => true,
        WorkflowIdReusePolicy::AllowDuplicate => false,
        WorkflowIdReusePolicy::AllowDuplicateFailedOnly => status == RunStatus::Completed.as_str(),
        WorkflowIdReusePolicy::RejectDuplicate => true,
    }
}

/// A claim on a task row: who holds it, until when, and the token that
/// fences what the holder writes. A claim gives the row a new token, so a
/// holder whose lease ran out and was claimed again writes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The worker holding the row.
    pub(crate) owner: String,
    /// The fence: every write of the holder names it.
    pub(crate) token: i64,
    /// When the row may be claimed by another worker.
    pub(crate) deadline: SystemTime,
}

/// A worker process as the store knows it: what it polls and runs.
#[derive(Debug, Clone)]
pub(crate) struct WorkerInfo {
    /// Unique per worker process (and per engine in it).
    pub(crate) worker_id: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    /// The task queues it polls.
    pub(crate) task_queues: Vec<String>,
    /// The workflow types it runs: it claims workflow tasks of these only.
    pub(crate) workflow_types: Vec<String>,
    /// The activity types it runs: it claims activity attempts of these only.
    pub(crate) activity_types: Vec<String>,
    pub(crate) started_at: SystemTime,
}

/// A registered worker, as `list_workers` returns it.
#[derive(Debug, Clone)]
pub(crate) struct WorkerRecord {
    pub(crate) info: WorkerInfo,
    /// Past this, the worker counts as gone: its sticky runs go to others.
    pub(crate) expires_at: SystemTime,
}

/// One run, as the store keeps it.
#[derive(Debug, Clone)]
pub(crate) struct RunRecord {
    pub(crate) run_id: String,
    pub(crate) workflow_id: String,
    pub(crate) workflow_type: String,
    /// The queue whose workers run its workflow tasks.
    pub(crate) task_queue: String,
    pub(crate) status: RunStatus,
    pub(crate) created_at: SystemTime,
    pub(crate) closed_at: Option<SystemTime>,
    pub(crate) next_event_id: u64,
    /// Why the run is held (non-determinism, a panic, corruption), if it is.
    pub(crate) held: Option<String>,
    /// When it was held.
    pub(crate) held_at: Option<SystemTime>,
    /// The lease on its workflow task, while a worker holds it (ignored on create).
    pub(crate) lease: Option<Lease>,
    /// The worker that ran its last step and keeps it cached; while that
    /// worker is registered and live, only it claims the run's workflow tasks.
    pub(crate) sticky: Option<String>,
}

impl RunRecord {
    /// A new open run with no events, unleased.
    pub(crate) fn new(
        run_id: String,
        workflow_id: String,
        workflow_type: String,
        task_queue: String,
        created_at: SystemTime,
    ) -> Self {
        RunRecord {
            run_id,
            workflow_id,
            workflow_type,
            task_queue,
            status: RunStatus::Running,
            created_at,
            closed_at: None,
            next_event_id: 1,
            held: None,
            held_at: None,
            lease: None,
            sticky: None,
        }
    }
}

/// Identifies one activity of one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ActivityKey {
    pub(crate) run_id: String,
    pub(crate) seq: u32,
}

/// The time limits of an activity's attempts, which the store enforces as
/// lease deadlines (the engine derives them from the options once, at scheduling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttemptLimits {
    /// How long one attempt may run (start-to-close, or schedule-to-close when that is the only one).
    pub(crate) start_to_close: Duration,
    /// How long an attempt may go without a heartbeat.
    pub(crate) heartbeat: Option<Duration>,
    /// How long a queued attempt may wait for a worker.
    pub(crate) schedule_to_start: Option<Duration>,
    /// When the activity as a whole times out (scheduled + schedule-to-close).
    pub(crate) close_deadline: Option<SystemTime>,
}

impl AttemptLimits {
    /// The limits `options` set on an activity scheduled at `scheduled_at`.
    pub(crate) fn of(options: &ActivityOptions, scheduled_at: SystemTime) -> Self {
        let timeouts = options.timeouts();
        AttemptLimits {
            start_to_close: options.attempt_timeout(),
            heartbeat: timeouts.heartbeat,
            schedule_to_start: timeouts.schedule_to_start,
            close_deadline: timeouts.schedule_to_close.and_then(|d| scheduled_at.checked_add(d)),
        }
    }
}

/// A pending activity: its task row.
///
/// A row is *queued* (`running == false`), claimable by a worker of its task
/// queue and type from `ready_at` on, or *running* attempt `attempt` under
/// `lease`. Either way it *expires* at `expires_at`: a queued row at
/// `ready_at + schedule_to_start` or `close_deadline`; a running attempt at
/// the earliest of its start-to-close deadline (`attempt_deadline`), its
/// heartbeat deadline and `close_deadline`. An expired row is claimed by any
/// worker (`claim_expired_activities`) to time the attempt out.
#[derive(Debug, Clone)]
pub(crate) struct ActivityTask {
    pub(crate) key: ActivityKey,
    pub(crate) workflow_id: String,
    pub(crate) task_queue: String,
    pub(crate) scheduled_event_id: u64,
    pub(crate) activity_id: String,
    pub(crate) activity_type: String,
    pub(crate) input: Payload,
    pub(crate) options: ActivityOptions,
    pub(crate) limits: AttemptLimits,
    pub(crate) scheduled_at: SystemTime,
    /// Attempts started so far (0: none yet).
    pub(crate) attempt: u32,
    /// Whether attempt `attempt` is running (as far as the store knows).
    pub(crate) running: bool,
    /// When a queued row may be claimed: its scheduling, or the end of its retry backoff.
    pub(crate) ready_at: SystemTime,
    /// When the running attempt started.
    pub(crate) started_at: Option<SystemTime>,
    /// The running attempt's start-to-close deadline (bounded by `close_deadline`).
    pub(crate) attempt_deadline: Option<SystemTime>,
    /// The running attempt's heartbeat deadline, if it has a heartbeat timeout.
    pub(crate) heartbeat_deadline: Option<SystemTime>,
    /// When the row expires (see the type's doc); `None`: never.
    pub(crate) expires_at: Option<SystemTime>,
    /// The lease of the worker running the attempt (or timing it out).
    pub(crate) lease: Option<Lease>,
    pub(crate) last_failure: Option<Failure>,
    pub(crate) heartbeat_details: Option<Payload>,
    pub(crate) cancel_requested: bool,
}

impl ActivityTask {
    /// Starts the row's next attempt at `now` under a lease of `owner`: its
    /// deadlines follow from its limits, and the lease ends when it expires.
    /// Returns the columns it set, as a restart writes them.
    pub(crate) fn start_attempt(&mut self, owner: &str, token: i64, now: SystemTime) -> AttemptStart {
        let limits = &self.limits;
        let mut attempt_deadline =
            now.checked_add(limits.start_to_close).unwrap_or(now + crate::activity::MAX_DURATION);
        if let Some(close) = limits.close_deadline {
            attempt_deadline = attempt_deadline.min(close);
        }
        let heartbeat_deadline =
            limits.heartbeat.map(|h| now.checked_add(h).map_or(attempt_deadline, |d| d.min(attempt_deadline)));
        let expires_at = heartbeat_deadline.unwrap_or(attempt_deadline);
        self.attempt += 1;
        self.running = true;
        self.started_at = Some(now);
        self.attempt_deadline = Some(attempt_deadline);
        self.heartbeat_deadline = heartbeat_deadline;
        self.expires_at = Some(expires_at);
        let lease = Lease { owner: owner.to_owned(), token, deadline: expires_at };
        self.lease = Some(lease.clone());
        AttemptStart { started_at: now, attempt_deadline, heartbeat_deadline, lease }
    }

    /// When the row expires while queued (ready at `ready_at`): its
    /// schedule-to-start or schedule-to-close deadline, whichever is first.
    pub(crate) fn queued_expiry(limits: &AttemptLimits, ready_at: SystemTime) -> Option<SystemTime> {
        let start = limits.schedule_to_start.and_then(|d| ready_at.checked_add(d));
        match (start, limits.close_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A started attempt's columns (see [`ActivityTask`]): it expires, and its
/// lease ends, at `lease.deadline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptStart {
    pub(crate) started_at: SystemTime,
    pub(crate) attempt_deadline: SystemTime,
    pub(crate) heartbeat_deadline: Option<SystemTime>,
    pub(crate) lease: Lease,
}

/// A pending durable timer.
#[derive(Debug, Clone)]
pub(crate) struct TimerTask {
    pub(crate) run_id: String,
    pub(crate) seq: u32,
    pub(crate) started_event_id: u64,
    pub(crate) fire_at: SystemTime,
}

/// The timer rows (seq, started event id) of a run's own timeouts, apart
/// from the workflow's timers: their seqs start at 1 and their started
/// events are `TimerStarted`, never event 1 (`WorkflowExecutionStarted`) or 0.
const RUN_TIMEOUT_TIMER: (u32, u64) = (0, 1);
const EXECUTION_TIMEOUT_TIMER: (u32, u64) = (u32::MAX, 0);

impl TimerTask {
    /// The row that times run `run_id` out at `fire_at`.
    pub(crate) fn for_timeout(run_id: &str, timeout: WorkflowTimeout, fire_at: SystemTime) -> Self {
        let (seq, started_event_id) = match timeout {
            WorkflowTimeout::Run => RUN_TIMEOUT_TIMER,
            _ => EXECUTION_TIMEOUT_TIMER,
        };
        TimerTask { run_id: run_id.to_owned(), seq, started_event_id, fire_at }
    }

    /// The workflow timeout this row stands for, if it is one.
    pub(crate) fn timeout(&self) -> Option<WorkflowTimeout> {
        timeout_of(self.started_event_id)
    }
}

/// The workflow timeout that a timer row started by `started_event_id` stands for, if it is one.
pub(crate) fn timeout_of(started_event_id: u64) -> Option<WorkflowTimeout> {
    match started_event_id {
        id if id == RUN_TIMEOUT_TIMER.1 => Some(WorkflowTimeout::Run),
        id if id == EXECUTION_TIMEOUT_TIMER.1 => Some(WorkflowTimeout::Execution),
        _ => None,
    }
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
/// turns it into events. The store keeps it as it is, without reading it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum InboxItem {
    /// The run was started; the first workflow step records
    /// `WorkflowExecutionStarted` (and the signal it was started with, if any).
    Start {
        input: Payload,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<(String, Payload)>,
        /// What `WorkflowExecutionStarted` records besides the input.
        #[serde(default, skip_serializing_if = "StartAttributes::is_empty")]
        attributes: StartAttributes,
    },
    /// A signal: the next step records `WorkflowExecutionSignaled`.
    Signal {
        signal_name: String,
        input: Payload,
    },
    /// An update request: the next step runs its validator, then records
    /// `WorkflowExecutionUpdateAccepted` or replies with its rejection ([`Reply`]).
    Update {
        update_id: String,
        update_name: String,
        input: Payload,
        /// Names this request's reply, apart from other requests of the update id.
        request_id: String,
    },
    /// Whether a signal this run sent another workflow was delivered (to
    /// that run id) or not (why): the next step records which.
    ExternalSignaled {
        initiated_event_id: u64,
        outcome: Result<String, String>,
    },
    /// A query from a process without the workflow's code (the `weft`
    /// command): the next step answers it with a [`Reply`] and records nothing.
    Query {
        query_name: String,
        input: Payload,
        request_id: String,
    },
    /// An activity closed: the next step records `ActivityTaskStarted`
    /// (unless no attempt ever started) and the closing event.
    ActivityClosed {
        scheduled_event_id: u64,
        attempt: u32,
        last_failure: Option<Failure>,
        outcome: ActivityOutcome,
        /// When attempt `attempt` started (the row's `started_at` at the
        /// close): `None` if no attempt was running (the activity closed
        /// queued: before its first attempt, or between two). Items stored
        /// before it was kept have none.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_time::option")]
        started_at: Option<SystemTime>,
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
    /// Whether a child this run started was created (its run id) or not
    /// (the run that holds its id, and that run's status): the next step records which.
    ChildStarted {
        initiated_event_id: u64,
        outcome: Result<String, (String, String)>,
    },
    /// A child of this run closed (the last run of its chain).
    ChildClosed {
        initiated_event_id: u64,
        outcome: ChildOutcome,
    },
}

/// How a child workflow ended, for its parent's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChildOutcome {
    Completed { result: Payload },
    Failed { failure: Failure },
    Canceled,
    TimedOut { timeout: WorkflowTimeout },
    Terminated { reason: String },
}

impl ChildOutcome {
    /// What a child's close event tells its parent; `None` for continue-as-new (the chain goes on).
    pub(crate) fn of(close: &crate::history::EventAttributes) -> Option<Self> {
        use crate::history::EventAttributes as E;
        Some(match close {
            E::WorkflowExecutionCompleted { result } => ChildOutcome::Completed { result: result.clone() },
            E::WorkflowExecutionFailed { failure } => ChildOutcome::Failed { failure: failure.clone() },
            E::WorkflowExecutionCanceled {} => ChildOutcome::Canceled,
            E::WorkflowExecutionTimedOut { timeout } => ChildOutcome::TimedOut { timeout: *timeout },
            E::WorkflowExecutionTerminated { reason } => ChildOutcome::Terminated { reason: reason.clone() },
            _ => return None,
        })
    }
}

/// A child workflow a step starts, in its transaction: its run is created
/// (unless its id is taken, by an open run or as its reuse policy says) with
/// its start in its inbox and its parent recorded, and the outcome
/// ([`InboxItem::ChildStarted`]) goes to the parent's inbox.
#[derive(Debug, Clone)]
pub(crate) struct ChildStart {
    /// The parent's `StartChildWorkflowExecutionInitiated` event.
    pub(crate) initiated_event_id: u64,
    pub(crate) run: RunRecord,
    pub(crate) start: InboxItem,
    pub(crate) reuse: WorkflowIdReusePolicy,
    pub(crate) parent_close_policy: ParentClosePolicy,
}

/// What a run's `WorkflowExecutionStarted` records besides its input: the
/// run it continues, and its timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StartAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) continued_from_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
    pub(crate) run_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
    pub(crate) execution_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_time::option")]
    pub(crate) execution_expires_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<ParentExecution>,
}

impl StartAttributes {
    fn is_empty(&self) -> bool {
        *self == StartAttributes::default()
    }
}

/// A run a step starts in its transaction: the run that continues the
/// step's run (continue-as-new), with its start in its inbox.
#[derive(Debug, Clone)]
pub(crate) struct NewRun {
    pub(crate) run: RunRecord,
    pub(crate) start: InboxItem,
}

/// An inbox item with its store id. Ids are unique; within one run they
/// follow the order the items were added in. Nothing depends on ids across runs.
#[derive(Debug, Clone)]
pub(crate) struct InboxEntry {
    pub(crate) id: i64,
    pub(crate) item: InboxItem,
}

/// A claimed workflow task: the run, its inbox (oldest first), and the lease
/// that fences its commit.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowTask {
    pub(crate) run: RunRecord,
    pub(crate) inbox: Vec<InboxEntry>,
    pub(crate) lease: Lease,
}

/// How a step's commit is fenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepFence {
    /// The committer holds the run's workflow task under this token.
    Leased { token: i64 },
    /// The committer holds no lease: the run's workflow task must be unleased
    /// at commit (a lease that ended but was not taken again still blocks
    /// it), and stays unleased after. For a step that records one
    /// [`Delivery`] on a cached workflow, and for a run's first step.
    Unleased,
}

/// An outcome a step records directly, instead of through the inbox: the
/// row it ends is removed in the step's transaction.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    /// The activity's attempt closed: its row is removed, fenced like
    /// [`Store::update_activity`].
    ActivityClosed(ActivityFence),
    /// The timer fired: its row (which must exist) is removed.
    TimerFired { seq: u32 },
}

/// What one workflow step writes, atomically. The engine derives every row
/// change from the step's events; the store applies them as given.
#[derive(Debug)]
pub(crate) struct StepCommit {
    pub(crate) run_id: String,
    pub(crate) fence: StepFence,
    /// The id of the first new event: the run's `next_event_id` when the step read it (fencing).
    pub(crate) first_event_id: u64,
    pub(crate) events: Vec<HistoryEvent>,
    /// The inbox items the step consumed.
    pub(crate) consumed: Vec<i64>,
    /// An outcome recorded directly (see [`Delivery`]).
    pub(crate) delivered: Option<Delivery>,
    /// Activity rows to add: queued (attempt 0), or started eagerly by the
    /// committer (attempt 1, running, with its lease).
    pub(crate) new_activities: Vec<ActivityTask>,
    /// Activities (by scheduled event id) whose cancellation was requested.
    pub(crate) cancel_activities: Vec<u64>,
    pub(crate) new_timers: Vec<TimerTask>,
    /// Timers (by started event id) that were cancelled: their rows are removed.
    pub(crate) cancel_timers: Vec<u64>,
    /// The run closed: its status and close time; its task rows and inbox are removed.
    pub(crate) close: Option<(RunStatus, SystemTime)>,
    /// The worker committing: it becomes the run's sticky worker.
    pub(crate) worker_id: String,
    /// Signals to other workflows: each goes to the inbox of its workflow's
    /// open run, and its outcome ([`InboxItem::ExternalSignaled`]) to this
    /// run's (unless this step closes it), in the step's transaction.
    pub(crate) signals_out: Vec<OutgoingSignal>,
    /// Replies to requests the step consumed (a rejected update, a query):
    /// kept for their callers, outside the history.
    pub(crate) replies: Vec<Reply>,
    /// The run that continues this one, when the step closes it as
    /// [`RunStatus::ContinuedAsNew`]: created (of the same workflow id, which
    /// stays taken throughout) in the step's transaction, after the close. A
    /// child's parent carries over to it.
    pub(crate) continued: Option<NewRun>,
    /// Child workflows the step starts.
    pub(crate) children_out: Vec<ChildStart>,
    /// Cancellation requests to children (by `StartChildWorkflowExecutionInitiated`
    /// event id): each open child run gets `CancelRequested` in its inbox.
    pub(crate) cancel_children: Vec<u64>,
    /// How the run ended, for its parent, when the step closes a child run
    /// (not as continued-as-new): its parent's inbox gets
    /// [`InboxItem::ChildClosed`] if the parent is open. Ignored for a run without a parent.
    pub(crate) to_parent: Option<ChildOutcome>,
    /// Whether the run may have children: a step that closes it then
    /// applies each open child's parent close policy (`Terminate` or
    /// `CancelRequested` to its inbox, or nothing).
    pub(crate) may_have_children: bool,
}

/// A signal a step sends to another workflow.
#[derive(Debug, Clone)]
pub(crate) struct OutgoingSignal {
    /// The sender's `SignalExternalWorkflowExecutionInitiated` event.
    pub(crate) initiated_event_id: u64,
    pub(crate) workflow_id: String,
    pub(crate) signal_name: String,
    pub(crate) input: Payload,
}

impl OutgoingSignal {
    /// What the receiving run's inbox gets.
    pub(crate) fn item(&self) -> InboxItem {
        InboxItem::Signal { signal_name: self.signal_name.clone(), input: self.input.clone() }
    }

    /// What the sender's inbox gets: delivered to `run_id`, or not.
    pub(crate) fn outcome(&self, run_id: Option<String>) -> InboxItem {
        let outcome = run_id.ok_or_else(|| format!("workflow `{}` has no open run", self.workflow_id));
        InboxItem::ExternalSignaled { initiated_event_id: self.initiated_event_id, outcome }
    }
}

/// A step's reply to one request of its inbox, kept by request id (until
/// the run is removed) for a caller that may be in another process.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) request_id: String,
    pub(crate) body: ReplyBody,
}

/// What a [`Reply`] says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReplyBody {
    /// The update's validator (or the workflow) refused it; it left no event.
    UpdateRejected { failure: Failure },
    /// The query's answer.
    QueryAnswered { answer: Payload },
    /// The query got no answer: no handler of its name (`unknown`), or why not.
    QueryFailed { unknown: bool, reason: String },
}

/// How a new run starts.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "moved once into the store's write, never copied")]
pub(crate) enum RunStart {
    /// With an [`InboxItem::Start`] in its inbox, for a worker to claim.
    Inbox(InboxItem),
    /// With its first step already run: committed with the run, in one
    /// transaction (its fence must be [`StepFence::Unleased`]).
    Step(StepCommit),
}

/// Fences a write to an activity's row: the row must be at this attempt and
/// held under this token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActivityFence {
    pub(crate) key: ActivityKey,
    pub(crate) attempt: u32,
    pub(crate) token: i64,
}

/// A fenced change to one activity attempt's row.
#[derive(Debug)]
pub(crate) enum ActivityUpdate {
    /// The attempt heartbeated at `at`: its heartbeat deadline moves to
    /// `at + heartbeat` (bounded by the attempt deadline), and so do its
    /// lease deadline and expiry.
    Heartbeat { at: SystemTime, details: Option<Payload> },
    /// The attempt failed and is retried: the row is queued again, ready at
    /// `retry_at`, unleased.
    Retry { retry_at: SystemTime, failure: Failure, heartbeat_details: Option<Payload> },
    /// The attempt failed and the next one starts at once in the writer's
    /// process: a [`Retry`](Self::Retry) and a claim in one write. The row
    /// becomes attempt `fence.attempt + 1`, running as `next` says. Returns
    /// whether the activity's cancellation has been requested.
    Restart { failure: Failure, heartbeat_details: Option<Payload>, next: AttemptStart },
    /// The activity ended: the row is removed, the outcome goes to the run's inbox.
    Close { last_failure: Option<Failure>, outcome: ActivityOutcome },
}

/// What a store tells the engines on it about changes made elsewhere (by
/// another process): new work, a closed run. Called from the store's own
/// tasks; must not block.
pub(crate) trait StoreListener: Send + Sync + 'static {
    /// New work may be waiting on `task_queue`. `None`: on any queue, and
    /// anything may have changed (the store reconnected, so it may have
    /// missed notifications, closes included).
    fn work_available(&self, task_queue: Option<&str>);
    /// Run `run_id` closed.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // Only a shared store reports closes.
    fn run_closed(&self, run_id: &str);
}

/// The engine's view of durable storage. Every method is one transaction.
///
/// Times are the caller's (`now` arguments), never the store's clock, so
/// that the engine's virtual time in tests governs leases too.
pub(crate) trait Store: Send + Sync + 'static {
    /// Whether only one process can use the store at a time (an SQLite file
    /// under its lock, or memory). Then an attempt found running at start
    /// died with the previous process, and is retried at once.
    fn exclusive(&self) -> bool;

    /// Tells `listener` about changes made by other processes, until the
    /// store closes. Changes made through this store object are not reported.
    fn subscribe(&self, listener: Arc<dyn StoreListener>);

    /// Registers (or re-registers) a worker, live until `expires_at`.
    fn register_worker(&self, worker: Arc<WorkerInfo>, expires_at: SystemTime) -> BoxFuture<'_, Result<()>>;

    /// Keeps a worker live until `expires_at`, and extends the leases of the
    /// workflow tasks it holds to `lease_deadline` (the expired ones
    /// included, unless another worker claimed them meanwhile).
    fn heartbeat_worker(
        &self,
        worker_id: String,
        expires_at: SystemTime,
        lease_deadline: SystemTime,
    ) -> BoxFuture<'_, Result<()>>;

    /// A worker leaves: its row is removed, the workflow tasks it holds are
    /// released and its sticky runs become anyone's.
    fn unregister_worker(&self, worker_id: String) -> BoxFuture<'_, Result<()>>;

    /// The registered workers, live and expired.
    fn list_workers(&self) -> BoxFuture<'_, Result<Vec<WorkerRecord>>>;

    /// At the start of an engine on an [`exclusive`](Self::exclusive) store:
    /// every lease of the previous process ends `now`. Running attempts
    /// expire `now` (their deadlines are kept, so the claimer can tell a
    /// crash from a timeout); workflow tasks are released; workers are removed.
    fn expire_all(&self, now: SystemTime) -> BoxFuture<'_, Result<()>>;

    /// Creates a run and starts it as `start` says; fails with
    /// `AlreadyStarted` if an open run holds the workflow id. Closed runs of
    /// the id are checked against `reuse`.
    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>>;

    /// Claims up to `limit` workflow tasks for `worker` under leases ending
    /// at `now + lease`. First fires the due timers (`fire_at <= now`) of runs
    /// on the worker's queues: each timer row is removed and `TimerFired` added to
    /// its run's inbox. Then claims open, unheld runs on the worker's queues
    /// and of its workflow types that have inbox items, whose workflow task
    /// is unleased or whose lease ended, and that are sticky to no live
    /// worker but this one. Runs this worker is sticky for come first. A held
    /// run is claimed only by a worker that started after it was held (which
    /// may run other code).
    fn claim_workflow_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<WorkflowTask>>>;

    /// Claims one run's workflow task, as [`claim_workflow_tasks`](Self::claim_workflow_tasks)
    /// would (its due timers fired first) but whatever its queue, type or
    /// sticky worker: `None` if it is closed, held (see `claim_workflow_tasks`),
    /// leased by another worker, or has no inbox items. A worker may claim
    /// again a task it holds (a retry of a step that failed): the lease gets
    /// a new token.
    fn claim_workflow_task(
        &self,
        worker: Arc<WorkerInfo>,
        run_id: String,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<WorkflowTask>>>;

    /// Commits one workflow step, fenced by `commit.fence` and on the run's
    /// `next_event_id` (`StaleTask` if either fails, with nothing written),
    /// and, if it closes the run, on the run's inbox holding nothing but what
    /// the step consumed (`StaleTask` with reason [`INBOX_GREW`]):
    /// appends the events (their ids must continue the run's), removes the
    /// consumed inbox items and the delivered row, applies the row changes,
    /// clears the run's hold, releases the lease and makes the committer the
    /// run's sticky worker. Returns whether the run has inbox items left
    /// (added while the step ran): its workflow task is ready again, and the
    /// committer should claim it, as no one else was told in time.
    fn commit_workflow_task(&self, commit: StepCommit) -> BoxFuture<'_, Result<bool>>;

    /// Releases a workflow task without a step (there was nothing to do, or
    /// the step failed and is to be retried): fenced on `token`, `StaleTask`
    /// if the lease was lost. The run stays ready if it has inbox items.
    fn release_workflow_task(&self, run_id: String, token: i64) -> BoxFuture<'_, Result<()>>;

    /// Marks a run held (`Some(reason)`, at `now`) or not (`None`), fenced
    /// on the workflow task's `token` (and releasing it) when one is given.
    /// A held run is sticky to no worker: the one that held it cannot run it.
    fn hold_run(
        &self,
        run_id: String,
        token: Option<i64>,
        reason: Option<String>,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<()>>;

    /// Adds an item to an open run's inbox, making its workflow task ready;
    /// `Ok(false)` if the run is closed or unknown.
    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>>;

    /// Claims up to `limit` queued activity rows (`ready_at <= now`, not
    /// expired, unleased or lease ended) on the worker's queues and of its
    /// activity types, oldest first: each starts its next attempt at `now`
    /// (`attempt + 1`, running, `started_at = now`, deadlines from its
    /// limits) under a lease whose deadline is the attempt's expiry.
    fn claim_activity_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>>;

    /// Claims up to `limit` expired activity rows (`expires_at <= now`, on
    /// any queue, unleased or lease ended) for the worker to time them out,
    /// under a lease ending at `now + lease`; the attempt and its deadlines
    /// are kept.
    fn claim_expired_activities(
        &self,
        worker_id: String,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>>;

    /// Applies a fenced activity update; `StaleTask` (nothing written) when
    /// the row is gone, at another attempt, or held under another token.
    /// A heartbeat and a restart return whether the activity's cancellation
    /// has been requested (how an attempt running in another process learns
    /// of it); the other updates return `false`.
    fn update_activity(&self, fence: ActivityFence, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>>;

    /// Cancels a queued activity that no attempt runs (queued or in backoff,
    /// not leased): the row is removed and `Canceled` goes to the inbox.
    /// `Ok(false)` if the row is gone or leased (an attempt started).
    fn cancel_queued_activity(&self, key: ActivityKey) -> BoxFuture<'_, Result<bool>>;

    /// The earliest time after `now` at which work for `worker` comes due
    /// without anyone writing: a timer on its queues, a queued activity's
    /// `ready_at` (its queues and types), any row's expiry, a workflow
    /// task's lease end on its queues, a worker's expiry.
    fn next_due(&self, worker: Arc<WorkerInfo>, now: SystemTime) -> BoxFuture<'_, Result<Option<SystemTime>>>;

    /// One run by run id.
    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>>;

    /// The newest run of a workflow id (an open one, if there is one).
    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>>;

    /// Runs, newest first, with their positions (for the next page's `after`).
    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<ListedRun>>>;

    /// How many runs match `filter`'s type and id prefix, by status.
    fn count_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunCounts>>;

    /// A run's events with ids above `after`, checked (contiguous ids,
    /// checksums): `CorruptHistory` (with `workflow_id`) otherwise.
    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>>;

    /// The reply to request `request_id` of run `run_id`, once a step gave one.
    fn reply(&self, run_id: String, request_id: String) -> BoxFuture<'_, Result<Option<ReplyBody>>>;

    /// A run's pending activities and timers.
    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>>;

    /// Deletes up to `limit` closed runs that closed before `closed_before`,
    /// with everything that is theirs (events, inbox, replies, leftover
    /// activity and timer rows, the link to a parent); how many it deleted.
    /// Open runs are never touched; a child whose parent is deleted keeps
    /// running (its close then notifies no one, as for any closed parent).
    fn delete_closed_runs(&self, closed_before: SystemTime, limit: usize) -> BoxFuture<'_, Result<usize>>;

    /// Finishes queued writes and releases the store; later calls fail with `Shutdown`.
    fn close(&self);
}

/// The reason a child's cancellation request gives (`WorkflowExecutionCancelRequested`).
pub(crate) const CHILD_CANCEL_REASON: &str = "the parent workflow requested it";

/// What an open child gets when its parent closes, under its parent close
/// policy as stored (`terminate`, else a cancellation request).
pub(crate) fn parent_closed(policy: &str) -> InboxItem {
    if policy == ParentClosePolicy::Terminate.as_str() {
        InboxItem::Terminate { reason: "the parent workflow closed (parent close policy: terminate)".to_owned() }
    } else {
        InboxItem::CancelRequested {
            reason: "the parent workflow closed (parent close policy: request cancel)".to_owned(),
        }
    }
}

/// Why a new run of a workflow id is refused, by the status of the run that holds it.
pub(crate) fn refusal_reason(status: &str) -> String {
    if status == RunStatus::Running.as_str() {
        "an open run holds the workflow id".to_owned()
    } else {
        format!("the workflow id's reuse policy refuses a new run (its last run is {status})")
    }
}

/// Why a closing step is refused when its run's inbox got items the step
/// did not see (a signal, an update): the run closes only with an empty
/// inbox, so the step runs again with them instead of dropping them.
pub(crate) const INBOX_GREW: &str = "new inbox items arrived before the run could close";

/// A fresh lease token, for every claim (by a store or by the engine itself,
/// for an eager start): random, so that claims by different processes on a
/// shared store never reuse one, and no counter can overflow.
pub(crate) fn new_token() -> i64 {
    uuid::Uuid::new_v4().as_u64_pair().0 as i64
}

/// This machine's host name, as workers and engines record it.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
