//! History events: the append-only record of one workflow run.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{Failure, Marker, Payload};
use crate::activity::{ActivityOptions, TimeoutType};

/// One event of a run's history.
///
/// Event ids start at 1 and are contiguous. The JSON form (see
/// `docs/history-format.md`) is `{"event_id", "timestamp", "event_type", "attributes"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    pub(crate) event_id: u64,
    #[serde(with = "crate::history::serde_time")]
    pub(crate) timestamp: SystemTime,
    #[serde(flatten)]
    pub(crate) attributes: EventAttributes,
}

impl HistoryEvent {
    pub(crate) fn new(event_id: u64, timestamp: SystemTime, attributes: EventAttributes) -> Self {
        HistoryEvent { event_id, timestamp, attributes }
    }

    /// The event's id: 1 for `WorkflowExecutionStarted`, then 2, 3, ...
    pub fn event_id(&self) -> u64 {
        self.event_id
    }

    /// When the event was recorded (engine time: virtual under `weft::testing`).
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The event's kind and data.
    pub fn attributes(&self) -> &EventAttributes {
        &self.attributes
    }

    /// The event's type name, e.g. `"ActivityTaskScheduled"`.
    pub fn event_type(&self) -> &'static str {
        self.attributes.event_type()
    }
}

/// Reads `event_id` and `timestamp`, then hands the rest of the map to the
/// tagged enum. (`#[serde(flatten)]` would buffer the map, which payloads
/// kept as raw JSON cannot survive.) Our writer always puts those two first.
impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = HistoryEvent;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a history event: {event_id, timestamp, event_type, attributes}")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HistoryEvent, A::Error> {
                #[derive(Deserialize)]
                struct Time(#[serde(with = "crate::history::serde_time")] SystemTime);
                let (mut event_id, mut timestamp) = (None, None);
                while event_id.is_none() || timestamp.is_none() {
                    let key: std::borrow::Cow<'de, str> =
                        map.next_key()?.ok_or_else(|| serde::de::Error::missing_field("event_id"))?;
                    match &*key {
                        "event_id" => event_id = Some(map.next_value()?),
                        "timestamp" => timestamp = Some(map.next_value::<Time>()?.0),
                        other => {
                            return Err(serde::de::Error::custom(format_args!(
                                "`{other}` before `event_id` and `timestamp`; they come first"
                            )));
                        }
                    }
                }
                let attributes = EventAttributes::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(HistoryEvent {
                    event_id: event_id.unwrap_or_default(),
                    timestamp: timestamp.unwrap_or(SystemTime::UNIX_EPOCH),
                    attributes,
                })
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// One line: id, time, type, attributes as JSON.
impl std::fmt::Display for HistoryEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let attributes = match serde_json::to_value(&self.attributes) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("attributes").map(|a| a.to_string()).unwrap_or_default()
            }
            _ => String::new(),
        };
        write!(
            f,
            "{:>4}  {}  {:<33} {}",
            self.event_id,
            humantime::format_rfc3339_millis(self.timestamp),
            self.event_type(),
            attributes
        )
    }
}

/// The kind of a [`HistoryEvent`] and its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "attributes")]
#[non_exhaustive]
pub enum EventAttributes {
    /// The run began.
    WorkflowExecutionStarted {
        /// The registered workflow type.
        workflow_type: String,
        /// The workflow id given at start.
        workflow_id: String,
        /// The run id the engine assigned.
        run_id: String,
        /// The workflow's input.
        input: Payload,
        /// The run this one continues (it closed with `WorkflowExecutionContinuedAsNew`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        continued_from_run_id: Option<String>,
        /// How long this run may take before it times out.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
        run_timeout: Option<Duration>,
        /// How long the workflow may take, across continue-as-new, before it times out.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
        execution_timeout: Option<Duration>,
        /// When the execution timeout ends: set by the first run, carried by the runs that continue it.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_time::option")]
        execution_expires_at: Option<SystemTime>,
        /// The workflow that started this one as its child.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentExecution>,
    },
    /// The workflow scheduled an activity (the ScheduleActivityTask command).
    ActivityTaskScheduled {
        /// The command's sequence number in the run, matched on replay.
        seq: u32,
        /// The activity id (the sequence number unless set in the options).
        activity_id: String,
        /// The registered activity type.
        activity_type: String,
        /// The activity's input.
        input: Payload,
        /// The options of the call.
        options: ActivityOptions,
    },
    /// The attempt that closed the activity started. Written with the closing
    /// event, so retries add no events and the event's time is the close's;
    /// `attempt` counts from 1, and `started_time` says when that attempt began.
    ActivityTaskStarted {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
        /// The attempt that closed the activity.
        attempt: u32,
        /// The last failure of an earlier attempt, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_failure: Option<Failure>,
        /// When the attempt that closed the activity started, as its worker
        /// claimed it (engine time, as the event's own). `None` in histories
        /// written before weft recorded it, and when no attempt was running
        /// at the close (the activity timed out or was cancelled while queued
        /// for a retry). Replay does not read it.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_time::option")]
        started_time: Option<SystemTime>,
    },
    /// The activity returned a result.
    ActivityTaskCompleted {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
        /// The `ActivityTaskStarted` event.
        started_event_id: u64,
        /// The activity's result.
        result: Payload,
    },
    /// The activity failed and will not be retried.
    ActivityTaskFailed {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
        /// The `ActivityTaskStarted` event.
        started_event_id: u64,
        /// The last attempt's error.
        failure: Failure,
    },
    /// A timeout ended the activity.
    ActivityTaskTimedOut {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
        /// Which timeout fired.
        timeout_type: TimeoutType,
        /// The last attempt's failure, if an attempt failed before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_failure: Option<Failure>,
    },
    /// The workflow asked to cancel the activity.
    ActivityTaskCancelRequested {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
    },
    /// The activity was cancelled.
    ActivityTaskCanceled {
        /// The `ActivityTaskScheduled` event.
        scheduled_event_id: u64,
    },
    /// The workflow started a durable timer.
    TimerStarted {
        /// The command's sequence number in the run.
        seq: u32,
        /// How long the timer runs.
        #[serde(with = "crate::history::serde_duration")]
        duration: Duration,
    },
    /// A timer fired.
    TimerFired {
        /// The `TimerStarted` event.
        started_event_id: u64,
    },
    /// The workflow cancelled a timer before it fired.
    TimerCanceled {
        /// The `TimerStarted` event.
        started_event_id: u64,
    },
    /// Cancellation of the workflow was requested.
    WorkflowExecutionCancelRequested {
        /// Why, as given by the requester.
        reason: String,
    },
    /// A signal reached the run (from a client, a `weft` command or another
    /// workflow), in order of arrival; its handler runs when the event applies.
    WorkflowExecutionSignaled {
        /// The signal's registered name.
        signal_name: String,
        /// The signal's input.
        input: Payload,
    },
    /// An update passed its validator and its handler started. A rejected
    /// update leaves no event.
    WorkflowExecutionUpdateAccepted {
        /// The update id the caller gave (or was given): one run accepts an id once.
        update_id: String,
        /// The update's registered name.
        update_name: String,
        /// The update's input.
        input: Payload,
    },
    /// An update's handler returned (the UpdateCompleted command).
    WorkflowExecutionUpdateCompleted {
        /// The update id.
        update_id: String,
        /// The `WorkflowExecutionUpdateAccepted` event.
        accepted_event_id: u64,
        /// What the handler returned.
        outcome: UpdateOutcome,
    },
    /// The workflow signalled another workflow (the SignalExternalWorkflowExecution command).
    SignalExternalWorkflowExecutionInitiated {
        /// The command's sequence number in the run.
        seq: u32,
        /// The workflow signalled: its open run gets the signal.
        workflow_id: String,
        /// The signal's registered name.
        signal_name: String,
        /// The signal's input.
        input: Payload,
    },
    /// The signal reached the other workflow's open run (recorded there as
    /// `WorkflowExecutionSignaled`, in the same transaction).
    ExternalWorkflowExecutionSignaled {
        /// The `SignalExternalWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// The run that got it.
        run_id: String,
    },
    /// The other workflow had no open run: nothing was delivered.
    SignalExternalWorkflowExecutionFailed {
        /// The `SignalExternalWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// Why.
        reason: String,
    },
    /// The workflow started a child workflow (the StartChildWorkflowExecution command).
    StartChildWorkflowExecutionInitiated {
        /// The command's sequence number in the run.
        seq: u32,
        /// The child's workflow id.
        workflow_id: String,
        /// The child's registered workflow type.
        workflow_type: String,
        /// The child's input.
        input: Payload,
        /// The child's task queue (the parent's unless set).
        task_queue: String,
        /// What happens to the child when the parent closes first.
        parent_close_policy: ParentClosePolicy,
        /// Whether the child may reuse the id of a closed run (an open run always refuses it).
        #[serde(default, skip_serializing_if = "WorkflowIdReusePolicy::is_default")]
        id_reuse_policy: WorkflowIdReusePolicy,
        /// The child's run timeout, if any.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
        run_timeout: Option<Duration>,
        /// The child's execution timeout, if any.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::history::serde_duration::option")]
        execution_timeout: Option<Duration>,
    },
    /// The child's run was created (in the same transaction as the initiating step).
    ChildWorkflowExecutionStarted {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// The child's run id.
        run_id: String,
    },
    /// The child could not start: its workflow id is in use (or its reuse policy refused it).
    StartChildWorkflowExecutionFailed {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// The run that holds the id.
        existing_run_id: String,
        /// Why.
        reason: String,
    },
    /// The parent asked its child to cancel (the child's run got `WorkflowExecutionCancelRequested`).
    ChildWorkflowExecutionCancelRequested {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
    },
    /// The child returned a result (the last run of its chain, if it continued as new).
    ChildWorkflowExecutionCompleted {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// The child's result.
        result: Payload,
    },
    /// The child returned an error.
    ChildWorkflowExecutionFailed {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// The child's error.
        failure: Failure,
    },
    /// The child accepted a cancellation.
    ChildWorkflowExecutionCanceled {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
    },
    /// A timeout of the child ended it.
    ChildWorkflowExecutionTimedOut {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// Which timeout.
        timeout: WorkflowTimeout,
    },
    /// The child was terminated.
    ChildWorkflowExecutionTerminated {
        /// The `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: u64,
        /// Why, as given to terminate.
        reason: String,
    },
    /// A workflow step recorded a fact about itself, which replay reads back
    /// (a local activity's outcome, the branch of a code change): see [`Marker`].
    MarkerRecorded {
        /// What was recorded.
        marker: Marker,
    },
    /// The workflow returned a result.
    WorkflowExecutionCompleted {
        /// The workflow's result.
        result: Payload,
    },
    /// The workflow returned an error.
    WorkflowExecutionFailed {
        /// The workflow's error.
        failure: Failure,
    },
    /// The workflow ended by accepting a cancellation.
    WorkflowExecutionCanceled {},
    /// The workflow was terminated from outside; its code did not run to an end.
    WorkflowExecutionTerminated {
        /// Why, as given by the requester.
        reason: String,
    },
    /// The run closed and a new run of the same workflow id starts with a
    /// fresh history (the ContinueAsNewWorkflowExecution command).
    WorkflowExecutionContinuedAsNew {
        /// The run that continues this one.
        new_run_id: String,
        /// The registered workflow type of the new run.
        workflow_type: String,
        /// The new run's input.
        input: Payload,
    },
    /// The run's timeout (or the workflow's execution timeout) ended it; its
    /// code did not run to an end, its pending activities and timers were cancelled.
    WorkflowExecutionTimedOut {
        /// Which timeout: `run` or `execution`.
        timeout: WorkflowTimeout,
    },
}

/// The parent of a child workflow's run, as its `WorkflowExecutionStarted` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentExecution {
    /// The parent's workflow id.
    pub workflow_id: String,
    /// The parent's run.
    pub run_id: String,
    /// The parent's `StartChildWorkflowExecutionInitiated` event.
    pub initiated_event_id: u64,
}

/// Whether a workflow id whose earlier run has closed may start again, as in
/// Temporal. An id with an open run is always refused with
/// [`Error::AlreadyStarted`](crate::Error::AlreadyStarted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorkflowIdReusePolicy {
    /// Start a new run whatever the last one did.
    #[default]
    AllowDuplicate,
    /// Start again only if the last run did not complete (failed, cancelled, terminated).
    AllowDuplicateFailedOnly,
    /// Never reuse the id: `AlreadyStarted` names the earlier run.
    RejectDuplicate,
}

impl WorkflowIdReusePolicy {
    fn is_default(&self) -> bool {
        *self == WorkflowIdReusePolicy::default()
    }

    /// The policy as a store's SQL compares it.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // Only PostgreSQL's SQL reads it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WorkflowIdReusePolicy::AllowDuplicate => "allow_duplicate",
            WorkflowIdReusePolicy::AllowDuplicateFailedOnly => "allow_duplicate_failed_only",
            WorkflowIdReusePolicy::RejectDuplicate => "reject_duplicate",
        }
    }
}

/// What happens to an open child workflow when its parent's run closes
/// (completes, fails, is cancelled, terminated, times out or continues as new).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParentClosePolicy {
    /// The child is terminated (the default, as in Temporal).
    #[default]
    Terminate,
    /// The child's cancellation is requested: it may clean up and end as it sees fit.
    RequestCancel,
    /// The child runs on, on its own.
    Abandon,
}

impl ParentClosePolicy {
    /// The policy as stored: `terminate`, `request_cancel`, `abandon`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ParentClosePolicy::Terminate => "terminate",
            ParentClosePolicy::RequestCancel => "request_cancel",
            ParentClosePolicy::Abandon => "abandon",
        }
    }
}

/// Which workflow timeout fired ([`EventAttributes::WorkflowExecutionTimedOut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorkflowTimeout {
    /// The run timeout: one run took too long.
    Run,
    /// The execution timeout: the workflow, across its continue-as-new runs, took too long.
    Execution,
}

impl std::fmt::Display for WorkflowTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkflowTimeout::Run => "run timeout",
            WorkflowTimeout::Execution => "execution timeout",
        })
    }
}

/// What an update's handler returned, as `WorkflowExecutionUpdateCompleted` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOutcome {
    /// The handler returned a result.
    Completed {
        /// The handler's result.
        result: Payload,
    },
    /// The handler returned an error.
    Failed {
        /// The handler's error.
        failure: Failure,
    },
}

impl EventAttributes {
    /// The event's type name, e.g. `"ActivityTaskScheduled"`.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventAttributes::WorkflowExecutionStarted { .. } => "WorkflowExecutionStarted",
            EventAttributes::ActivityTaskScheduled { .. } => "ActivityTaskScheduled",
            EventAttributes::ActivityTaskStarted { .. } => "ActivityTaskStarted",
            EventAttributes::ActivityTaskCompleted { .. } => "ActivityTaskCompleted",
            EventAttributes::ActivityTaskFailed { .. } => "ActivityTaskFailed",
            EventAttributes::ActivityTaskTimedOut { .. } => "ActivityTaskTimedOut",
            EventAttributes::ActivityTaskCancelRequested { .. } => "ActivityTaskCancelRequested",
            EventAttributes::ActivityTaskCanceled { .. } => "ActivityTaskCanceled",
            EventAttributes::TimerStarted { .. } => "TimerStarted",
            EventAttributes::TimerFired { .. } => "TimerFired",
            EventAttributes::TimerCanceled { .. } => "TimerCanceled",
            EventAttributes::WorkflowExecutionCancelRequested { .. } => "WorkflowExecutionCancelRequested",
            EventAttributes::WorkflowExecutionSignaled { .. } => "WorkflowExecutionSignaled",
            EventAttributes::WorkflowExecutionUpdateAccepted { .. } => "WorkflowExecutionUpdateAccepted",
            EventAttributes::WorkflowExecutionUpdateCompleted { .. } => "WorkflowExecutionUpdateCompleted",
            EventAttributes::SignalExternalWorkflowExecutionInitiated { .. } => {
                "SignalExternalWorkflowExecutionInitiated"
            }
            EventAttributes::ExternalWorkflowExecutionSignaled { .. } => "ExternalWorkflowExecutionSignaled",
            EventAttributes::SignalExternalWorkflowExecutionFailed { .. } => "SignalExternalWorkflowExecutionFailed",
            EventAttributes::StartChildWorkflowExecutionInitiated { .. } => "StartChildWorkflowExecutionInitiated",
            EventAttributes::ChildWorkflowExecutionStarted { .. } => "ChildWorkflowExecutionStarted",
            EventAttributes::StartChildWorkflowExecutionFailed { .. } => "StartChildWorkflowExecutionFailed",
            EventAttributes::ChildWorkflowExecutionCancelRequested { .. } => "ChildWorkflowExecutionCancelRequested",
            EventAttributes::ChildWorkflowExecutionCompleted { .. } => "ChildWorkflowExecutionCompleted",
            EventAttributes::ChildWorkflowExecutionFailed { .. } => "ChildWorkflowExecutionFailed",
            EventAttributes::ChildWorkflowExecutionCanceled { .. } => "ChildWorkflowExecutionCanceled",
            EventAttributes::ChildWorkflowExecutionTimedOut { .. } => "ChildWorkflowExecutionTimedOut",
            EventAttributes::ChildWorkflowExecutionTerminated { .. } => "ChildWorkflowExecutionTerminated",
            EventAttributes::MarkerRecorded { .. } => "MarkerRecorded",
            EventAttributes::WorkflowExecutionCompleted { .. } => "WorkflowExecutionCompleted",
            EventAttributes::WorkflowExecutionFailed { .. } => "WorkflowExecutionFailed",
            EventAttributes::WorkflowExecutionCanceled { .. } => "WorkflowExecutionCanceled",
            EventAttributes::WorkflowExecutionTerminated { .. } => "WorkflowExecutionTerminated",
            EventAttributes::WorkflowExecutionContinuedAsNew { .. } => "WorkflowExecutionContinuedAsNew",
            EventAttributes::WorkflowExecutionTimedOut { .. } => "WorkflowExecutionTimedOut",
        }
    }

    /// The bytes of the payloads the event holds (what the history's size limit counts).
    pub(crate) fn payload_bytes(&self) -> u64 {
        use EventAttributes as E;
        let len = match self {
            E::WorkflowExecutionStarted { input, .. }
            | E::ActivityTaskScheduled { input, .. }
            | E::WorkflowExecutionSignaled { input, .. }
            | E::WorkflowExecutionUpdateAccepted { input, .. }
            | E::SignalExternalWorkflowExecutionInitiated { input, .. }
            | E::StartChildWorkflowExecutionInitiated { input, .. }
            | E::WorkflowExecutionContinuedAsNew { input, .. } => input.len(),
            E::ActivityTaskCompleted { result, .. }
            | E::ChildWorkflowExecutionCompleted { result, .. }
            | E::WorkflowExecutionCompleted { result }
            | E::WorkflowExecutionUpdateCompleted { outcome: UpdateOutcome::Completed { result }, .. } => result.len(),
            _ => 0,
        };
        len as u64
    }

    /// Whether this event closes the run.
    pub fn is_close(&self) -> bool {
        matches!(
            self,
            EventAttributes::WorkflowExecutionCompleted { .. }
                | EventAttributes::WorkflowExecutionFailed { .. }
                | EventAttributes::WorkflowExecutionCanceled { .. }
                | EventAttributes::WorkflowExecutionTerminated { .. }
                | EventAttributes::WorkflowExecutionContinuedAsNew { .. }
                | EventAttributes::WorkflowExecutionTimedOut { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(started_time: Option<SystemTime>) -> HistoryEvent {
        let attributes = EventAttributes::ActivityTaskStarted {
            scheduled_event_id: 2,
            attempt: 3,
            last_failure: None,
            started_time,
        };
        HistoryEvent::new(4, SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000), attributes)
    }

    /// A history written before `started_time` decodes (no start), and an
    /// event without a start is written exactly as before.
    #[test]
    fn a_started_event_without_its_start_time_is_the_old_form() {
        let old = r#"{"event_id":4,"timestamp":"2027-01-15T08:00:00.000000Z","event_type":"ActivityTaskStarted","attributes":{"scheduled_event_id":2,"attempt":3}}"#;
        let event: HistoryEvent = serde_json::from_str(old).unwrap();
        assert_eq!(event, started(None));
        assert_eq!(serde_json::to_string(&event).unwrap(), old);
    }

    /// The start is an RFC 3339 time to the microsecond, as the event's own.
    #[test]
    fn a_started_event_s_start_time_round_trips() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_799_999_990_123_456);
        let event = started(Some(at));
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains(r#""started_time":"2027-01-15T07:59:50.123456Z""#), "{json}");
        assert_eq!(serde_json::from_str::<HistoryEvent>(&json).unwrap(), event);
    }
}
