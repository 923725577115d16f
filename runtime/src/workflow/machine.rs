//! The deterministic executor: events in, commands out.
//!
//! A [`WorkflowMachine`] owns one run's workflow future. It is driven by
//! history events, one at a time, in order:
//!
//! - an event that resolves something (an activity closed, a timer fired, the
//!   run started) resolves the matching future and polls the workflow until
//!   it is idle; the commands it issues are queued;
//! - an event that records a command (`ActivityTaskScheduled`, `TimerStarted`,
//!   ...) is matched against the oldest queued command; a mismatch is
//!   non-determinism.
//!
//! Live execution goes through the same door: the engine turns new facts into
//! events, [`record`](WorkflowMachine::record)s them (which applies them), then
//! [`flush`](WorkflowMachine::flush)es the queued commands into events (which
//! applies those too). Replay from history and live execution therefore run
//! exactly the same code, which is why a cached workflow and a replayed one
//! cannot drift apart. The machine knows nothing of stores or clocks.
//!
//! The workflow is polled only here, when an event resolves something: its
//! waker sets a flag that this loop reads, and nothing else. A future that is
//! not weft's (a tokio sleep, a channel) may register that waker with the
//! tokio runtime the engine polls in, but its wake is never a poll: the
//! workflow runs on history events alone. A workflow left pending with no
//! activity or timer outstanding is therefore waiting on something no event
//! will resolve, and is reported ([`MachineError::Stalled`]) instead of
//! waiting forever.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures::task::ArcWake;
use parking_lot::Mutex;

use super::child::ChildResolution;
use super::command::{Command, describe_event};
use super::context::{ActivityResolution, CONTINUE_AS_NEW, LocalActivityRequest, WorkflowInfo, WorkflowState};
use super::messages::{Messages, QueryError, Rejection, SignalError, UpdateFuture, input_rejected};
use crate::PayloadError;
use crate::history::{EventAttributes, Failure, HistoryEvent, LocalActivityOutcome, Marker, Payload, UpdateOutcome};

/// The workflow's future, type-erased: it yields its encoded result.
pub(crate) type WorkflowFuture = Pin<Box<dyn Future<Output = Result<Payload, Failure>> + Send>>;

/// One run's workflow: its body's future, and its state with the handlers over it.
pub(crate) struct Instance {
    pub(crate) future: WorkflowFuture,
    pub(crate) messages: Box<dyn Messages>,
}

/// Builds a run's workflow from its engine state and encoded input.
pub(crate) type WorkflowFactory =
    Arc<dyn Fn(Arc<Mutex<WorkflowState>>, &Payload) -> Result<Instance, PayloadError> + Send + Sync>;

/// A workflow that wakes itself this many times in one step is stuck in a loop.
const MAX_POLLS_PER_ACTIVATION: usize = 100_000;

/// Why the machine cannot go on; the engine holds the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MachineError {
    Unregistered(String),
    NonDeterminism { event_id: u64, expected: String, found: String },
    Corrupt(String),
    Panic(String),
    // Pending, with no activity or timer outstanding: waiting on a future weft did not give it.
    Stalled,
}

impl std::fmt::Display for MachineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MachineError::NonDeterminism { event_id, expected, found } => {
                write!(f, "non-determinism at event {event_id}: history has {expected}, code issued {found}")
            }
            MachineError::Corrupt(reason) => write!(f, "corrupt history: {reason}"),
            MachineError::Unregistered(workflow_type) => {
                write!(f, "workflow type `{workflow_type}` is not registered with this engine")
            }
            MachineError::Panic(message) => write!(f, "workflow code panicked: {message}"),
            MachineError::Stalled => f.write_str(
                "the workflow is waiting on a future that weft did not give it: it has not returned, yet no \
                 activity or timer of it is pending, so nothing will wake it. Likely causes: \
                 `tokio::time::sleep`, `timeout` or `interval`; a tokio or std channel, mutex or `Notify`; \
                 `tokio::spawn` or a `JoinHandle`; any other future not from `WorkflowContext`. Wait with \
                 `ctx.sleep(..)` and do outside work with `ctx.execute_activity(..)`",
            ),
        }
    }
}

struct WakeFlag(AtomicBool);

impl ArcWake for WakeFlag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::Release);
    }
}

pub(crate) struct WorkflowMachine {
    factory: WorkflowFactory,
    state: Arc<Mutex<WorkflowState>>,
    future: Option<WorkflowFuture>,
    /// The run's state and handlers; kept after the run closes, for queries.
    messages: Option<Box<dyn Messages>>,
    /// Update handlers still running, in the order they were accepted.
    running_updates: Vec<(String, UpdateFuture)>,
    /// Accepted update ids -> their `WorkflowExecutionUpdateAccepted` event.
    accepted_updates: HashMap<String, u64>,
    /// What the body returned, while the close waits for update handlers.
    returned: Option<Result<Payload, Failure>>,
    /// Commands issued by the code and not yet matched with an event.
    pending: VecDeque<Command>,
    next_event_id: u64,
    new_events: Vec<HistoryEvent>,
    /// `ActivityTaskScheduled` event id -> command seq, and seq -> event id.
    activity_by_event: HashMap<u64, u32>,
    activity_event: HashMap<u32, u64>,
    /// `SignalExternalWorkflowExecutionInitiated` event id -> seq.
    external_by_event: HashMap<u64, u32>,
    /// `StartChildWorkflowExecutionInitiated` event id -> seq, and seq -> event id.
    child_by_event: HashMap<u64, u32>,
    child_event: HashMap<u32, u64>,
    /// The run's parent, from its `WorkflowExecutionStarted`.
    parent: Option<crate::history::ParentExecution>,
    /// `TimerStarted` event id -> seq, and seq -> event id.
    timer_by_event: HashMap<u64, u32>,
    timer_event: HashMap<u32, u64>,
    /// `ActivityTaskStarted` event id -> attempt, until the closing event.
    started_attempt: HashMap<u64, u32>,
    /// The run's timeouts, as its `WorkflowExecutionStarted` records them.
    timeouts: RunTimeouts,
    /// The payload bytes of the events applied so far.
    history_bytes: u64,
    wake: Arc<WakeFlag>,
}

/// A run's timeouts, from its `WorkflowExecutionStarted`: what the run that
/// continues it carries over.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunTimeouts {
    pub(crate) run_timeout: Option<std::time::Duration>,
    pub(crate) execution_timeout: Option<std::time::Duration>,
    pub(crate) execution_expires_at: Option<SystemTime>,
}

impl WorkflowMachine {
    pub(crate) fn new(factory: WorkflowFactory, info: WorkflowInfo, payload_limit: usize) -> Self {
        WorkflowMachine {
            factory,
            state: Arc::new(Mutex::new(WorkflowState::new(info, payload_limit))),
            future: None,
            messages: None,
            running_updates: Vec::new(),
            accepted_updates: HashMap::new(),
            returned: None,
            pending: VecDeque::new(),
            next_event_id: 1,
            new_events: Vec::new(),
            activity_by_event: HashMap::new(),
            activity_event: HashMap::new(),
            external_by_event: HashMap::new(),
            child_by_event: HashMap::new(),
            child_event: HashMap::new(),
            parent: None,
            timer_by_event: HashMap::new(),
            timer_event: HashMap::new(),
            started_attempt: HashMap::new(),
            timeouts: RunTimeouts::default(),
            history_bytes: 0,
            wake: Arc::new(WakeFlag(AtomicBool::new(false))),
        }
    }

    /// The largest payload the workflow may make.
    pub(crate) fn payload_limit(&self) -> usize {
        self.state.lock().payload_limit
    }

    /// The id the next event will get.
    pub(crate) fn next_event_id(&self) -> u64 {
        self.next_event_id
    }

    /// The registered workflow type this machine runs.
    pub(crate) fn workflow_type(&self) -> String {
        self.state.lock().info.workflow_type.clone()
    }

    /// Whether the timer that event `started_event_id` started still waits
    /// (it has neither fired nor been cancelled, nor dropped by the code).
    pub(crate) fn timer_pending(&self, started_event_id: u64) -> bool {
        let Some(seq) = self.timer_by_event.get(&started_event_id) else { return false };
        self.state.lock().timers.get(seq).is_some_and(|slot| slot.result.is_none())
    }

    /// The workflow id of the run.
    pub(crate) fn workflow_id(&self) -> String {
        self.state.lock().info.workflow_id.clone()
    }

    /// The payload bytes of the run's history so far (its events' inputs and results).
    pub(crate) fn history_bytes(&self) -> u64 {
        self.history_bytes
    }

    /// The run's parent, if it is a child workflow.
    pub(crate) fn parent(&self) -> Option<&crate::history::ParentExecution> {
        self.parent.as_ref()
    }

    /// Whether the run started a child workflow.
    pub(crate) fn started_children(&self) -> bool {
        self.state.lock().started_children
    }

    /// The run's timeouts.
    pub(crate) fn timeouts(&self) -> RunTimeouts {
        self.timeouts
    }

    /// The run's task queue.
    pub(crate) fn task_queue(&self) -> String {
        self.state.lock().info.task_queue.clone()
    }

    /// Replays recorded events. After the last one, every command the code
    /// issued must have been matched: a command left over is one the
    /// original run did not issue.
    ///
    /// The code runs as replaying meanwhile: each of its steps committed
    /// with its commands, so all it issues here is in `events`, and
    /// `ctx.patched(..)` answers from the patch markers found there.
    pub(crate) fn replay(&mut self, events: &[HistoryEvent]) -> Result<(), MachineError> {
        {
            let mut s = self.state.lock();
            s.replaying = true;
            s.recorded_patches = events
                .iter()
                .filter_map(|e| match &e.attributes {
                    EventAttributes::MarkerRecorded { marker: Marker::Patch { patch_id, .. } } => {
                        Some(patch_id.clone())
                    }
                    _ => None,
                })
                .collect();
        }
        let replayed = self.replay_events(events);
        let mut s = self.state.lock();
        s.replaying = false;
        s.recorded_patches.clear();
        replayed
    }

    fn replay_events(&mut self, events: &[HistoryEvent]) -> Result<(), MachineError> {
        for event in events {
            if event.event_id != self.next_event_id {
                return Err(MachineError::Corrupt(format!(
                    "event id {} where {} was expected",
                    event.event_id, self.next_event_id
                )));
            }
            self.next_event_id += 1;
            self.apply(event)?;
        }
        if let Some(extra) = self.pending.front() {
            return Err(MachineError::NonDeterminism {
                event_id: self.next_event_id,
                expected: "the end of the history".to_owned(),
                found: extra.describe(),
            });
        }
        Ok(())
    }

    /// Appends a new event (live execution) and applies it.
    pub(crate) fn record(&mut self, timestamp: SystemTime, attributes: EventAttributes) -> Result<u64, MachineError> {
        let event = HistoryEvent::new(self.next_event_id, timestamp, attributes);
        self.next_event_id += 1;
        self.apply(&event)?;
        let id = event.event_id;
        self.new_events.push(event);
        Ok(id)
    }

    /// Turns every queued command into its event (live execution).
    pub(crate) fn flush(&mut self, timestamp: SystemTime) -> Result<(), MachineError> {
        while let Some(command) = self.pending.front() {
            let attributes = match command.clone() {
                Command::ScheduleActivity { seq, activity_id, activity_type, input, options } => {
                    EventAttributes::ActivityTaskScheduled { seq, activity_id, activity_type, input, options }
                }
                Command::RequestCancelActivity { seq } => {
                    EventAttributes::ActivityTaskCancelRequested { scheduled_event_id: self.activity_event[&seq] }
                }
                Command::StartTimer { seq, duration } => EventAttributes::TimerStarted { seq, duration },
                Command::CancelTimer { seq } => {
                    EventAttributes::TimerCanceled { started_event_id: self.timer_event[&seq] }
                }
                Command::StartChild {
                    seq,
                    workflow_id,
                    workflow_type,
                    input,
                    task_queue,
                    parent_close_policy,
                    id_reuse_policy,
                    run_timeout,
                    execution_timeout,
                } => EventAttributes::StartChildWorkflowExecutionInitiated {
                    seq,
                    workflow_id,
                    workflow_type,
                    input,
                    task_queue,
                    parent_close_policy,
                    id_reuse_policy,
                    run_timeout,
                    execution_timeout,
                },
                Command::CancelChild { seq } => EventAttributes::ChildWorkflowExecutionCancelRequested {
                    initiated_event_id: self.child_event[&seq],
                },
                Command::SignalExternal { seq, workflow_id, signal_name, input } => {
                    EventAttributes::SignalExternalWorkflowExecutionInitiated { seq, workflow_id, signal_name, input }
                }
                Command::CompleteUpdate { update_id, outcome } => {
                    let accepted_event_id = self.accepted_updates.get(&update_id).copied().unwrap_or_default();
                    EventAttributes::WorkflowExecutionUpdateCompleted { update_id, accepted_event_id, outcome }
                }
                Command::RecordPatch { patch_id, deprecated } => {
                    EventAttributes::MarkerRecorded { marker: Marker::Patch { patch_id, deprecated } }
                }
                Command::CompleteWorkflow { result } => EventAttributes::WorkflowExecutionCompleted { result },
                Command::FailWorkflow { failure } => EventAttributes::WorkflowExecutionFailed { failure },
                Command::CancelWorkflow => EventAttributes::WorkflowExecutionCanceled {},
                Command::ContinueAsNew { workflow_type, input } => EventAttributes::WorkflowExecutionContinuedAsNew {
                    // Live only (replay matches the recorded one): time-ordered, as every run id.
                    new_run_id: uuid::Uuid::now_v7().to_string(),
                    workflow_type,
                    input,
                },
            };
            self.record(timestamp, attributes)?;
        }
        Ok(())
    }

    /// The events appended since the last call.
    pub(crate) fn take_new_events(&mut self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.new_events)
    }

    fn apply(&mut self, event: &HistoryEvent) -> Result<(), MachineError> {
        self.state.lock().now = event.timestamp;
        self.history_bytes += event.attributes.payload_bytes();
        use EventAttributes as E;
        match &event.attributes {
            E::WorkflowExecutionStarted {
                input, run_timeout, execution_timeout, execution_expires_at, parent, ..
            } => {
                if self.future.is_some() || event.event_id != 1 {
                    return Err(MachineError::Corrupt("`WorkflowExecutionStarted` is not the first event".into()));
                }
                self.parent = parent.clone();
                self.timeouts = RunTimeouts {
                    run_timeout: *run_timeout,
                    execution_timeout: *execution_timeout,
                    execution_expires_at: *execution_expires_at,
                };
                let made = std::panic::catch_unwind(AssertUnwindSafe(|| (self.factory)(self.state.clone(), input)));
                match made {
                    Ok(Ok(instance)) => {
                        self.future = Some(instance.future);
                        self.messages = Some(instance.messages);
                    }
                    Ok(Err(e)) => {
                        // The input does not decode: the workflow fails at once, deterministically.
                        let failure =
                            Failure::new("PayloadError", format!("workflow input rejected: {e}")).non_retryable();
                        self.pending.push_back(Command::FailWorkflow { failure });
                        return Ok(());
                    }
                    Err(panic) => return Err(MachineError::Panic(panic_message(&*panic))),
                }
                self.activate()
            }
            E::ActivityTaskScheduled { seq, .. } => {
                self.match_command(event, |c| matches!(c, Command::ScheduleActivity { seq: s, activity_type, .. }
                    if s == seq && matches!(&event.attributes, E::ActivityTaskScheduled { activity_type: t, .. } if t == activity_type)))?;
                self.activity_by_event.insert(event.event_id, *seq);
                self.activity_event.insert(*seq, event.event_id);
                Ok(())
            }
            E::ActivityTaskCancelRequested { scheduled_event_id } => {
                let seq = self.activity_seq(*scheduled_event_id)?;
                self.match_command(event, |c| matches!(c, Command::RequestCancelActivity { seq: s } if *s == seq))
            }
            // Matched against no command (none issues it). `started_time` is
            // not read: the code never sees it, so histories with and without it replay alike.
            E::ActivityTaskStarted { scheduled_event_id, attempt, .. } => {
                self.activity_seq(*scheduled_event_id)?;
                self.started_attempt.insert(event.event_id, *attempt);
                Ok(())
            }
            E::ActivityTaskCompleted { scheduled_event_id, result, .. } => {
                self.resolve_activity(*scheduled_event_id, ActivityResolution::Completed(result.clone()))
            }
            E::ActivityTaskFailed { scheduled_event_id, started_event_id, failure } => {
                let attempt = self.started_attempt.remove(started_event_id).unwrap_or(1);
                self.resolve_activity(
                    *scheduled_event_id,
                    ActivityResolution::Failed {
                        scheduled_event_id: *scheduled_event_id,
                        attempt,
                        failure: failure.clone(),
                    },
                )
            }
            E::ActivityTaskTimedOut { scheduled_event_id, timeout_type, last_failure } => self.resolve_activity(
                *scheduled_event_id,
                ActivityResolution::TimedOut {
                    scheduled_event_id: *scheduled_event_id,
                    timeout_type: *timeout_type,
                    last_failure: last_failure.clone(),
                },
            ),
            E::ActivityTaskCanceled { scheduled_event_id } => {
                let resolution = ActivityResolution::Canceled { scheduled_event_id: Some(*scheduled_event_id) };
                self.resolve_activity(*scheduled_event_id, resolution)
            }
            E::TimerStarted { seq, .. } => {
                self.match_command(event, |c| matches!(c, Command::StartTimer { seq: s, .. } if s == seq))?;
                self.timer_by_event.insert(event.event_id, *seq);
                self.timer_event.insert(*seq, event.event_id);
                Ok(())
            }
            E::TimerFired { started_event_id } => {
                let seq = self.timer_seq(*started_event_id)?;
                if let Some(slot) = self.state.lock().timers.get_mut(&seq)
                    && slot.result.is_none()
                {
                    slot.resolve(true);
                }
                self.activate()
            }
            E::TimerCanceled { started_event_id } => {
                let seq = self.timer_seq(*started_event_id)?;
                self.match_command(event, |c| matches!(c, Command::CancelTimer { seq: s } if *s == seq))
            }
            E::WorkflowExecutionCancelRequested { .. } => {
                self.state.lock().cancel_workflow();
                self.activate()
            }
            E::WorkflowExecutionSignaled { signal_name, input } => {
                self.signal(signal_name, input)?;
                self.activate()
            }
            E::WorkflowExecutionUpdateAccepted { update_id, update_name, input } => {
                if self.accepted_updates.insert(update_id.clone(), event.event_id).is_some() {
                    return Err(MachineError::Corrupt(format!("update `{update_id}` accepted twice")));
                }
                self.start_update(update_id, update_name, input)?;
                self.activate()
            }
            E::SignalExternalWorkflowExecutionInitiated { seq, .. } => {
                self.match_command(event, |c| matches!(c, Command::SignalExternal { seq: s, .. } if s == seq))?;
                self.external_by_event.insert(event.event_id, *seq);
                Ok(())
            }
            E::ExternalWorkflowExecutionSignaled { initiated_event_id, .. } => {
                self.resolve_external(*initiated_event_id, Ok(()))
            }
            E::SignalExternalWorkflowExecutionFailed { initiated_event_id, reason } => {
                self.resolve_external(*initiated_event_id, Err(reason.clone()))
            }
            E::StartChildWorkflowExecutionInitiated { seq, .. } => {
                self.match_command(event, |c| matches!(c, Command::StartChild { seq: s, .. } if s == seq))?;
                self.child_by_event.insert(event.event_id, *seq);
                self.child_event.insert(*seq, event.event_id);
                Ok(())
            }
            E::ChildWorkflowExecutionCancelRequested { initiated_event_id } => {
                let seq = self.child_seq(*initiated_event_id)?;
                self.match_command(event, |c| matches!(c, Command::CancelChild { seq: s } if *s == seq))
            }
            E::ChildWorkflowExecutionStarted { initiated_event_id, run_id } => {
                self.resolve_child_start(*initiated_event_id, Ok(run_id.clone()))
            }
            E::StartChildWorkflowExecutionFailed { initiated_event_id, existing_run_id, reason } => {
                self.resolve_child_start(*initiated_event_id, Err((existing_run_id.clone(), reason.clone())))
            }
            E::ChildWorkflowExecutionCompleted { initiated_event_id, result } => {
                self.resolve_child(*initiated_event_id, ChildResolution::Completed(result.clone()))
            }
            E::ChildWorkflowExecutionFailed { initiated_event_id, failure } => {
                self.resolve_child(*initiated_event_id, ChildResolution::Failed(failure.clone()))
            }
            E::ChildWorkflowExecutionCanceled { initiated_event_id } => {
                self.resolve_child(*initiated_event_id, ChildResolution::Canceled)
            }
            E::ChildWorkflowExecutionTimedOut { initiated_event_id, timeout } => {
                self.resolve_child(*initiated_event_id, ChildResolution::TimedOut(*timeout))
            }
            E::ChildWorkflowExecutionTerminated { initiated_event_id, reason } => {
                self.resolve_child(*initiated_event_id, ChildResolution::Terminated(reason.clone()))
            }
            E::MarkerRecorded { marker } => self.apply_marker(event, marker),
            E::WorkflowExecutionUpdateCompleted { update_id, .. } => self
                .match_command(event, |c| matches!(c, Command::CompleteUpdate { update_id: u, .. } if u == update_id)),
            E::WorkflowExecutionCompleted { .. } => {
                self.match_command(event, |c| matches!(c, Command::CompleteWorkflow { .. }))?;
                self.teardown();
                Ok(())
            }
            E::WorkflowExecutionFailed { .. } => {
                self.match_command(event, |c| matches!(c, Command::FailWorkflow { .. }))?;
                self.teardown();
                Ok(())
            }
            E::WorkflowExecutionCanceled {} => {
                self.match_command(event, |c| matches!(c, Command::CancelWorkflow))?;
                self.teardown();
                Ok(())
            }
            E::WorkflowExecutionContinuedAsNew { .. } => {
                self.match_command(event, |c| matches!(c, Command::ContinueAsNew { .. }))?;
                self.teardown();
                Ok(())
            }
            E::WorkflowExecutionTerminated { .. } | E::WorkflowExecutionTimedOut { .. } => {
                self.teardown();
                Ok(())
            }
        }
    }

    fn match_command(
        &mut self,
        event: &HistoryEvent,
        is_match: impl FnOnce(&Command) -> bool,
    ) -> Result<(), MachineError> {
        let Some(command) = self.pending.front() else {
            return Err(MachineError::NonDeterminism {
                event_id: event.event_id,
                expected: describe_event(&event.attributes),
                found: "no command".to_owned(),
            });
        };
        if !is_match(command) {
            return Err(MachineError::NonDeterminism {
                event_id: event.event_id,
                expected: describe_event(&event.attributes),
                found: command.describe(),
            });
        }
        self.pending.pop_front();
        Ok(())
    }

    /// Applies a `MarkerRecorded` event.
    fn apply_marker(&mut self, event: &HistoryEvent, marker: &Marker) -> Result<(), MachineError> {
        match marker {
            Marker::LocalActivity { seq, activity_type, attempt, outcome, .. } => {
                self.resolve_local_activity(event, *seq, activity_type, *attempt, outcome)
            }
            Marker::Patch { patch_id, deprecated } => {
                let is_match = |c: &Command| matches!(c, Command::RecordPatch { patch_id: p, .. } if p == patch_id);
                // What deprecation is for: code that no longer makes the call replays.
                if *deprecated && !self.pending.front().is_some_and(is_match) {
                    return Ok(());
                }
                self.match_command(event, is_match)
            }
        }
    }

    /// A local activity's marker resolves the request of its seq, which the
    /// code must have made (with the same type) and not cancelled: the engine
    /// records no marker for a request it dropped.
    fn resolve_local_activity(
        &mut self,
        event: &HistoryEvent,
        seq: u32,
        activity_type: &str,
        attempt: u32,
        outcome: &LocalActivityOutcome,
    ) -> Result<(), MachineError> {
        // Live, a step records the commands the code issued before it runs
        // local activities: none is left unmatched when a marker applies.
        if let Some(command) = self.pending.front() {
            return Err(MachineError::NonDeterminism {
                event_id: event.event_id,
                expected: describe_event(&event.attributes),
                found: command.describe(),
            });
        }
        {
            let mut s = self.state.lock();
            let found = match s.local_activities.get(&seq) {
                None => Some("no local activity of that seq".to_owned()),
                Some(request) if request.activity_type != activity_type => {
                    Some(format!("ExecuteLocalActivity(seq {seq}, type `{}`)", request.activity_type))
                }
                Some(_) if s.activities.get(&seq).is_none_or(|slot| slot.result.is_some()) => {
                    Some(format!("a cancelled local activity (seq {seq})"))
                }
                Some(_) => None,
            };
            if let Some(found) = found {
                return Err(MachineError::NonDeterminism {
                    event_id: event.event_id,
                    expected: describe_event(&event.attributes),
                    found,
                });
            }
            s.local_activities.remove(&seq);
            let resolution = match outcome {
                LocalActivityOutcome::Completed { result } => ActivityResolution::Completed(result.clone()),
                LocalActivityOutcome::Failed { failure } => {
                    ActivityResolution::Failed { scheduled_event_id: event.event_id, attempt, failure: failure.clone() }
                }
                LocalActivityOutcome::TimedOut { timeout_type, last_failure } => ActivityResolution::TimedOut {
                    scheduled_event_id: event.event_id,
                    timeout_type: *timeout_type,
                    last_failure: last_failure.clone(),
                },
                LocalActivityOutcome::Canceled {} => {
                    ActivityResolution::Canceled { scheduled_event_id: Some(event.event_id) }
                }
            };
            if let Some(slot) = s.activities.get_mut(&seq) {
                slot.resolve(resolution);
            }
        }
        self.activate()
    }

    /// The local activities the engine is to run (or go on running) in this
    /// step, in seq order, each with whether its cancellation was requested:
    /// those asked for whose handle is not resolved. None once the workflow
    /// has closed.
    pub(crate) fn local_activities(&self) -> Vec<(LocalActivityRequest, bool)> {
        let s = self.state.lock();
        if s.closing {
            return Vec::new();
        }
        s.local_activities
            .values()
            .filter_map(|request| {
                let slot = s.activities.get(&request.seq)?;
                slot.result.is_none().then(|| (request.clone(), slot.cancel_requested))
            })
            .collect()
    }

    /// The command seq of the activity scheduled by event `scheduled_event_id`.
    pub(crate) fn activity_seq_of(&self, scheduled_event_id: u64) -> Option<u32> {
        self.activity_by_event.get(&scheduled_event_id).copied()
    }

    fn activity_seq(&self, scheduled_event_id: u64) -> Result<u32, MachineError> {
        seq_of(&self.activity_by_event, scheduled_event_id, "ActivityTaskScheduled")
    }

    fn timer_seq(&self, started_event_id: u64) -> Result<u32, MachineError> {
        seq_of(&self.timer_by_event, started_event_id, "TimerStarted")
    }

    fn resolve_activity(
        &mut self,
        scheduled_event_id: u64,
        resolution: ActivityResolution,
    ) -> Result<(), MachineError> {
        let seq = self.activity_seq(scheduled_event_id)?;
        if let Some(slot) = self.state.lock().activities.get_mut(&seq) {
            // A handle resolved early (TryCancel, Abandon) keeps its first resolution.
            if slot.result.is_none() {
                slot.resolve(resolution);
            }
        }
        self.activate()
    }

    fn child_seq(&self, initiated_event_id: u64) -> Result<u32, MachineError> {
        seq_of(&self.child_by_event, initiated_event_id, "StartChildWorkflowExecutionInitiated")
    }

    fn resolve_child_start(
        &mut self,
        initiated_event_id: u64,
        started: Result<String, (String, String)>,
    ) -> Result<(), MachineError> {
        let seq = self.child_seq(initiated_event_id)?;
        if let Some(slots) = self.state.lock().children.get_mut(&seq) {
            slots.started.resolve(started);
        }
        self.activate()
    }

    fn resolve_child(&mut self, initiated_event_id: u64, closed: ChildResolution) -> Result<(), MachineError> {
        let seq = self.child_seq(initiated_event_id)?;
        if let Some(slots) = self.state.lock().children.get_mut(&seq) {
            slots.closed.resolve(closed);
        }
        self.activate()
    }

    fn resolve_external(&mut self, initiated_event_id: u64, result: Result<(), String>) -> Result<(), MachineError> {
        let seq = seq_of(&self.external_by_event, initiated_event_id, "SignalExternalWorkflowExecutionInitiated")?;
        if let Some(slot) = self.state.lock().external_signals.get_mut(&seq) {
            slot.resolve(result);
        }
        self.activate()
    }

    /// Hands a signal to its handler, or keeps it for a signal channel.
    fn signal(&mut self, name: &str, input: &Payload) -> Result<(), MachineError> {
        let handled = self.messages.as_ref().and_then(|m| m.signal(name, input));
        match handled {
            Some(Ok(())) => {}
            Some(Err(SignalError::Panic(message))) => return Err(MachineError::Panic(message)),
            Some(Err(SignalError::Payload(error))) => {
                let s = self.state.lock();
                tracing::warn!(workflow_id = %s.info.workflow_id, run_id = %s.info.run_id, signal = name, %error,
                    "signal input does not decode to the handler's type; skipped");
            }
            None => {
                let mut s = self.state.lock();
                s.signals.entry(name.to_owned()).or_default().push_back(input.clone());
                s.progress += 1;
            }
        }
        Ok(())
    }

    /// Starts an accepted update's handler (live, or on replay).
    fn start_update(&mut self, update_id: &str, name: &str, input: &Payload) -> Result<(), MachineError> {
        let limit = self.state.lock().payload_limit;
        let started = self.messages.as_ref().and_then(|m| m.update(name, input, limit));
        let future: UpdateFuture = match started {
            Some(Ok(future)) => future,
            Some(Err(SignalError::Panic(message))) => return Err(MachineError::Panic(message)),
            Some(Err(SignalError::Payload(e))) => {
                Box::pin(std::future::ready(UpdateOutcome::Failed { failure: input_rejected(e) }))
            }
            // Only on replay: live, the validation refused it first.
            None => {
                let failure = Rejection::Unknown.into_failure(name);
                Box::pin(std::future::ready(UpdateOutcome::Failed { failure }))
            }
        };
        self.running_updates.push((update_id.to_owned(), future));
        Ok(())
    }

    /// An update request, live: `Ok(None)` if it was accepted (recorded, its
    /// handler started) or was accepted before (an update id is accepted
    /// once); `Ok(Some(..))` if it was rejected, which records nothing.
    pub(crate) fn admit_update(
        &mut self,
        timestamp: SystemTime,
        update_id: String,
        update_name: String,
        input: Payload,
    ) -> Result<Option<Failure>, MachineError> {
        if self.accepted_updates.contains_key(&update_id) {
            return Ok(None);
        }
        if self.future.is_none() || self.returned.is_some() {
            let failure = Failure::new("WorkflowClosing", "the workflow has returned; it takes no new updates");
            return Ok(Some(failure.non_retryable()));
        }
        let verdict = match &self.messages {
            Some(messages) => messages.validate(&update_name, &input),
            None => Err(Rejection::Unknown),
        };
        if let Err(rejection) = verdict {
            return Ok(Some(rejection.into_failure(&update_name)));
        }
        self.record(timestamp, EventAttributes::WorkflowExecutionUpdateAccepted { update_id, update_name, input })?;
        Ok(None)
    }

    /// Answers a query from the run's state as of its last event.
    pub(crate) fn query(&self, name: &str, input: &Payload, limit: usize) -> Result<Payload, QueryError> {
        match &self.messages {
            Some(messages) => messages.query(name, input, limit),
            None => Err(QueryError::Unknown),
        }
    }

    /// Polls the body and the running update handlers until they are idle,
    /// then queues the commands they issued.
    fn activate(&mut self) -> Result<(), MachineError> {
        if self.future.is_none() && self.running_updates.is_empty() {
            return Ok(());
        }
        let waker = futures::task::waker(self.wake.clone());
        let mut cx = Context::from_waker(&waker);
        self.wake.0.store(true, Ordering::Release);
        self.state.lock().progress += 1;
        let mut polls = 0;
        let mut looked_at = None;
        loop {
            while self.wake.0.swap(false, Ordering::AcqRel) {
                polls += 1;
                if polls > MAX_POLLS_PER_ACTIVATION {
                    return Err(MachineError::Panic(format!(
                        "the workflow woke itself {MAX_POLLS_PER_ACTIVATION} times without waiting on the engine (a busy loop?)"
                    )));
                }
                self.poll_once(&mut cx)?;
            }
            // Conditions and signal channels look again while anything moves.
            let mut s = self.state.lock();
            if s.message_wakers.is_empty() || looked_at == Some(s.progress) {
                break;
            }
            looked_at = Some(s.progress);
            let wakers = std::mem::take(&mut s.message_wakers);
            drop(s);
            wakers.into_iter().for_each(std::task::Waker::wake);
        }
        let stalled = {
            let mut state = self.state.lock();
            self.pending.extend(state.commands.drain(..));
            self.future.is_some() && self.returned.is_none() && !state.awaits_weft()
        };
        if stalled {
            return Err(MachineError::Stalled);
        }
        let allow_unfinished = self.state.lock().allow_unfinished_handlers;
        if self.returned.is_some() && (self.running_updates.is_empty() || allow_unfinished) {
            let result = self.returned.take().expect("checked above");
            self.teardown();
            let (cancelled, continued) = {
                let mut s = self.state.lock();
                (s.cancel_requested, s.continue_as_new.take())
            };
            self.pending.push_back(match result {
                Ok(result) => Command::CompleteWorkflow { result },
                // The error `continue_as_new` returned, passed up by the body.
                Err(failure) if failure.error_type() == CONTINUE_AS_NEW => match continued {
                    Some((workflow_type, input)) => Command::ContinueAsNew { workflow_type, input },
                    None => Command::FailWorkflow { failure },
                },
                Err(_) if cancelled => Command::CancelWorkflow,
                Err(failure) => Command::FailWorkflow { failure },
            });
        }
        Ok(())
    }

    /// Polls the body (until it returns) and each running update handler, in order.
    fn poll_once(&mut self, cx: &mut Context<'_>) -> Result<(), MachineError> {
        // Unconstrained: tokio's cooperative budget must not make a ready
        // tokio future return `Pending` (with a deferred wake) in a workflow.
        fn poll<F: Future + Unpin + ?Sized>(
            future: &mut F,
            cx: &mut Context<'_>,
        ) -> Result<Poll<F::Output>, MachineError> {
            let poll = || std::pin::pin!(tokio::task::coop::unconstrained(&mut *future)).poll(cx);
            std::panic::catch_unwind(AssertUnwindSafe(poll))
                .map_err(|panic| MachineError::Panic(panic_message(&*panic)))
        }
        if self.returned.is_none()
            && let Some(future) = self.future.as_mut()
            && let Poll::Ready(result) = poll(future, cx)?
        {
            self.returned = Some(result);
            self.state.lock().progress += 1;
        }
        let mut i = 0;
        while i < self.running_updates.len() {
            if let Poll::Ready(outcome) = poll(&mut self.running_updates[i].1, cx)? {
                let (update_id, _) = self.running_updates.remove(i);
                let mut s = self.state.lock();
                s.commands.push(Command::CompleteUpdate { update_id, outcome });
                s.progress += 1;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Drops the workflow's futures (its state stays, for queries); their
    /// timers issue no commands while dropped.
    fn teardown(&mut self) {
        self.state.lock().closing = true;
        self.future = None;
        self.running_updates.clear();
        self.state.lock().commands.clear();
    }
}

impl Drop for WorkflowMachine {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// The command seq of the event `event_id` refers to, which must be a `kind` event of the run.
fn seq_of(by_event: &HashMap<u64, u32>, event_id: u64, kind: &str) -> Result<u32, MachineError> {
    by_event
        .get(&event_id)
        .copied()
        .ok_or_else(|| MachineError::Corrupt(format!("event refers to event {event_id}, which is not `{kind}`")))
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}
