//! What `describe` reports about a run: its status and what it waits on.

use std::time::SystemTime;

use serde::Serialize;

use crate::RunStatus;
use crate::history::{EventAttributes, Failure, HistoryEvent, ParentExecution, Payload};
use crate::store::{ActivityTask, RunRecord, TimerTask, WorkerRecord};

/// A run's state: status, hold reason, pending activities and timers.
/// It serializes to JSON with times as RFC 3339 text (as histories do).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct WorkflowDescription {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The registered workflow type.
    pub workflow_type: String,
    /// Open or how it closed.
    pub status: RunStatus,
    /// When the run was started.
    #[serde(with = "crate::history::serde_time")]
    pub start_time: SystemTime,
    /// When it closed, if it did.
    #[serde(with = "crate::history::serde_time::option")]
    pub close_time: Option<SystemTime>,
    /// How many events its history holds.
    pub history_length: u64,
    /// Why the run is held (non-determinism, a workflow panic, corruption), if it is.
    pub held: Option<String>,
    /// When the run was held, if it is.
    #[serde(with = "crate::history::serde_time::option")]
    pub held_since: Option<SystemTime>,
    /// Activities scheduled and not closed.
    pub pending_activities: Vec<PendingActivity>,
    /// Timers started and not fired.
    pub pending_timers: Vec<PendingTimer>,
    /// When the open run times out (its run timeout, or the workflow's
    /// execution timeout, whichever ends first), if it has a timeout.
    #[serde(with = "crate::history::serde_time::option")]
    pub timeout_at: Option<SystemTime>,
    /// The workflow that started this one as its child (`describe` only, as are the three below).
    pub parent: Option<ParentExecution>,
    /// The run this one continues (continue-as-new).
    pub continued_from_run_id: Option<String>,
    /// The run that continues this one.
    pub continued_as_run_id: Option<String>,
    /// The child workflows this run started, in the order it started them.
    pub children: Vec<ChildDescription>,
}

/// A child workflow as its parent's history tells of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChildDescription {
    /// The parent's `StartChildWorkflowExecutionInitiated` event.
    pub initiated_event_id: u64,
    /// The child's workflow id.
    pub workflow_id: String,
    /// The child's workflow type.
    pub workflow_type: String,
    /// The child's (first) run, once it started.
    pub run_id: Option<String>,
    /// Where the child is, as far as the parent knows.
    pub state: ChildState,
}

/// Where a child workflow is, as its parent's history records it
/// (serialized as [`as_str`](Self::as_str) says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildState {
    /// Initiated; its run is being created.
    Starting,
    /// Its id was in use: it did not start.
    StartFailed,
    /// Open.
    Running,
    /// Closed, with the status of the last run of its chain.
    Closed(RunStatus),
}

impl Serialize for ChildState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ChildState {
    /// The state as printed: `starting`, `start_failed`, `running`, or the closed status.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChildState::Starting => "starting",
            ChildState::StartFailed => "start_failed",
            ChildState::Running => "running",
            ChildState::Closed(status) => status.as_str(),
        }
    }
}

/// What a run's history says of its parent, its chain and its children.
#[derive(Default)]
pub(crate) struct Lineage {
    parent: Option<ParentExecution>,
    continued_from_run_id: Option<String>,
    continued_as_run_id: Option<String>,
    children: Vec<ChildDescription>,
}

impl Lineage {
    pub(crate) fn of(history: &[HistoryEvent]) -> Self {
        use EventAttributes as E;
        let mut lineage = Lineage::default();
        for event in history {
            let (initiated, state) = match event.attributes() {
                E::WorkflowExecutionStarted { parent, continued_from_run_id, .. } => {
                    lineage.parent = parent.clone();
                    lineage.continued_from_run_id = continued_from_run_id.clone();
                    continue;
                }
                E::WorkflowExecutionContinuedAsNew { new_run_id, .. } => {
                    lineage.continued_as_run_id = Some(new_run_id.clone());
                    continue;
                }
                E::StartChildWorkflowExecutionInitiated { workflow_id, workflow_type, .. } => {
                    lineage.children.push(ChildDescription {
                        initiated_event_id: event.event_id(),
                        workflow_id: workflow_id.clone(),
                        workflow_type: workflow_type.clone(),
                        run_id: None,
                        state: ChildState::Starting,
                    });
                    continue;
                }
                E::ChildWorkflowExecutionStarted { initiated_event_id, run_id } => {
                    if let Some(child) =
                        lineage.children.iter_mut().find(|c| c.initiated_event_id == *initiated_event_id)
                    {
                        child.run_id = Some(run_id.clone());
                    }
                    (*initiated_event_id, ChildState::Running)
                }
                E::StartChildWorkflowExecutionFailed { initiated_event_id, .. } => {
                    (*initiated_event_id, ChildState::StartFailed)
                }
                E::ChildWorkflowExecutionCompleted { initiated_event_id, .. } => {
                    (*initiated_event_id, ChildState::Closed(RunStatus::Completed))
                }
                E::ChildWorkflowExecutionFailed { initiated_event_id, .. } => {
                    (*initiated_event_id, ChildState::Closed(RunStatus::Failed))
                }
                E::ChildWorkflowExecutionCanceled { initiated_event_id } => {
                    (*initiated_event_id, ChildState::Closed(RunStatus::Canceled))
                }
                E::ChildWorkflowExecutionTimedOut { initiated_event_id, .. } => {
                    (*initiated_event_id, ChildState::Closed(RunStatus::TimedOut))
                }
                E::ChildWorkflowExecutionTerminated { initiated_event_id, .. } => {
                    (*initiated_event_id, ChildState::Closed(RunStatus::Terminated))
                }
                _ => continue,
            };
            if let Some(child) = lineage.children.iter_mut().find(|c| c.initiated_event_id == initiated) {
                child.state = state;
            }
        }
        lineage
    }
}

/// An activity that has not closed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PendingActivity {
    /// The activity id.
    pub activity_id: String,
    /// The activity type.
    pub activity_type: String,
    /// Its `ActivityTaskScheduled` event.
    pub scheduled_event_id: u64,
    /// Whether it waits, runs, or backs off before a retry.
    pub state: PendingActivityState,
    /// Attempts started so far (the running one included).
    pub attempt: u32,
    /// When it was scheduled.
    #[serde(with = "crate::history::serde_time")]
    pub scheduled_time: SystemTime,
    /// When the next attempt starts, while backing off.
    #[serde(with = "crate::history::serde_time::option")]
    pub next_attempt_time: Option<SystemTime>,
    /// The last failed attempt's error.
    pub last_failure: Option<Failure>,
    /// The last recorded heartbeat details.
    pub last_heartbeat_details: Option<Payload>,
    /// Whether the workflow asked to cancel it.
    pub cancel_requested: bool,
}

/// Where a pending activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PendingActivityState {
    /// Waiting for its first attempt.
    Scheduled,
    /// An attempt is running.
    Started,
    /// Waiting out the backoff before its next attempt.
    Backoff,
}

/// A durable timer that has not fired.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PendingTimer {
    /// The `TimerStarted` event.
    pub started_event_id: u64,
    /// When it fires.
    #[serde(with = "crate::history::serde_time")]
    pub fire_time: SystemTime,
}

impl WorkflowDescription {
    pub(crate) fn new(run: RunRecord, activities: Vec<ActivityTask>, timers: Vec<TimerTask>, lineage: Lineage) -> Self {
        WorkflowDescription {
            parent: lineage.parent,
            continued_from_run_id: lineage.continued_from_run_id,
            continued_as_run_id: lineage.continued_as_run_id,
            children: lineage.children,
            history_length: run.next_event_id - 1,
            workflow_id: run.workflow_id,
            run_id: run.run_id,
            workflow_type: run.workflow_type,
            status: run.status,
            start_time: run.created_at,
            close_time: run.closed_at,
            held: run.held,
            held_since: run.held_at,
            pending_activities: activities
                .into_iter()
                .map(|a| PendingActivity {
                    state: match (a.running, a.attempt) {
                        (true, _) => PendingActivityState::Started,
                        (false, 0) => PendingActivityState::Scheduled,
                        (false, _) => PendingActivityState::Backoff,
                    },
                    activity_id: a.activity_id,
                    scheduled_event_id: a.scheduled_event_id,
                    activity_type: a.activity_type,
                    attempt: a.attempt,
                    scheduled_time: a.scheduled_at,
                    next_attempt_time: (!a.running && a.attempt > 0).then_some(a.ready_at),
                    last_failure: a.last_failure,
                    last_heartbeat_details: a.heartbeat_details,
                    cancel_requested: a.cancel_requested,
                })
                .collect(),
            timeout_at: timers.iter().filter(|t| t.timeout().is_some()).map(|t| t.fire_at).min(),
            pending_timers: timers
                .into_iter()
                .filter(|t| t.timeout().is_none())
                .map(|t| PendingTimer { started_event_id: t.started_event_id, fire_time: t.fire_at })
                .collect(),
        }
    }
}

/// A worker registered with the store, as [`Client::list_workers`](crate::Client::list_workers) reports it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerDescription {
    /// Unique per worker process.
    pub worker_id: String,
    /// The machine it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// The task queues it polls.
    pub task_queues: Vec<String>,
    /// The workflow types registered with it.
    pub workflow_types: Vec<String>,
    /// The activity types registered with it.
    pub activity_types: Vec<String>,
    /// When it started (its clock).
    pub start_time: SystemTime,
    /// Until when its last renewal keeps it live; past this it counts as
    /// gone, and other workers take its runs over.
    pub live_until: SystemTime,
}

impl WorkerDescription {
    pub(crate) fn new(record: WorkerRecord) -> Self {
        let info = record.info;
        WorkerDescription {
            worker_id: info.worker_id,
            host: info.host,
            pid: info.pid,
            task_queues: info.task_queues,
            workflow_types: info.workflow_types,
            activity_types: info.activity_types,
            start_time: info.started_at,
            live_until: record.expires_at,
        }
    }

    /// Whether the worker was live at `now`.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.live_until > now
    }
}
