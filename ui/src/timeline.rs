//! A run's timeline: one lane per activity, timer and child workflow, from
//! its history (and, for open activities, what `describe` says of them).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use weft::history::{EventAttributes as E, HistoryEvent};
use weft::{PendingActivityState, WorkflowDescription};

/// The lanes of a run, times in milliseconds since the epoch.
#[derive(Debug, Serialize)]
pub(crate) struct Timeline {
    /// The run's first event.
    pub(crate) start: f64,
    /// Its close event, if it closed.
    pub(crate) end: Option<f64>,
    pub(crate) lanes: Vec<Lane>,
}

/// One activity, timer or child workflow: a bar from its first event to its last.
#[derive(Debug, Serialize)]
pub(crate) struct Lane {
    /// `activity`, `timer` or `child`.
    pub(crate) kind: &'static str,
    /// The event that opened it (scheduled, started, initiated).
    pub(crate) event_id: u64,
    /// What it is: the activity type and id, the timer's duration, the child's type and id.
    pub(crate) label: String,
    pub(crate) opened: f64,
    /// When the attempt that closed it began (activities), or the child's run started.
    pub(crate) started: Option<f64>,
    pub(crate) closed: Option<f64>,
    /// `running`, `retrying`, `completed`, `failed`, `timed_out`, `canceled`;
    /// `waiting` and `fired` for timers; a child's state.
    pub(crate) outcome: &'static str,
    /// Attempts so far (activities).
    pub(crate) attempts: u32,
    /// The failure, timeout or reason that ended it, or the last attempt's failure.
    pub(crate) detail: Option<String>,
}

fn ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Timeline {
    pub(crate) fn of(history: &[HistoryEvent], run: Option<&WorkflowDescription>) -> Timeline {
        let mut lanes: Vec<Lane> = Vec::new();
        // The lane of each opening event id.
        let mut by_event: HashMap<u64, usize> = HashMap::new();
        let mut end = None;
        for event in history {
            let at = ms(event.timestamp());
            let mut open = |kind, label: String| {
                by_event.insert(event.event_id(), lanes.len());
                lanes.push(Lane {
                    kind,
                    event_id: event.event_id(),
                    label,
                    opened: at,
                    started: None,
                    closed: None,
                    outcome: if kind == "timer" { "waiting" } else { "running" },
                    attempts: 0,
                    detail: None,
                });
            };
            let (opening, outcome, detail) = match event.attributes() {
                E::ActivityTaskScheduled { activity_id, activity_type, .. } => {
                    open("activity", format!("{activity_type} ({activity_id})"));
                    continue;
                }
                E::TimerStarted { duration, .. } => {
                    open("timer", format!("timer {}", humantime::format_duration(*duration)));
                    continue;
                }
                E::StartChildWorkflowExecutionInitiated { workflow_id, workflow_type, .. } => {
                    open("child", format!("{workflow_type} ({workflow_id})"));
                    continue;
                }
                E::ActivityTaskStarted { scheduled_event_id, attempt, last_failure, started_time } => {
                    if let Some(lane) = by_event.get(scheduled_event_id).map(|&i| &mut lanes[i]) {
                        // The event is written at the close; histories from
                        // before `started_time` was recorded draw the start there.
                        lane.started = Some(started_time.map_or(at, ms));
                        lane.attempts = *attempt;
                        lane.detail = last_failure.as_ref().map(|f| f.message().to_owned());
                    }
                    continue;
                }
                E::ChildWorkflowExecutionStarted { initiated_event_id, .. } => {
                    if let Some(lane) = by_event.get(initiated_event_id).map(|&i| &mut lanes[i]) {
                        lane.started = Some(at);
                    }
                    continue;
                }
                E::ActivityTaskCompleted { scheduled_event_id, .. } => (*scheduled_event_id, "completed", None),
                E::ActivityTaskFailed { scheduled_event_id, failure, .. } => {
                    (*scheduled_event_id, "failed", Some(failure.message().to_owned()))
                }
                E::ActivityTaskTimedOut { scheduled_event_id, timeout_type, last_failure } => {
                    let detail = match last_failure {
                        Some(f) => format!("{timeout_type:?} timeout; last failure: {}", f.message()),
                        None => format!("{timeout_type:?} timeout"),
                    };
                    (*scheduled_event_id, "timed_out", Some(detail))
                }
                E::ActivityTaskCanceled { scheduled_event_id } => (*scheduled_event_id, "canceled", None),
                E::TimerFired { started_event_id } => (*started_event_id, "fired", None),
                E::TimerCanceled { started_event_id } => (*started_event_id, "canceled", None),
                E::StartChildWorkflowExecutionFailed { initiated_event_id, reason, .. } => {
                    (*initiated_event_id, "start_failed", Some(reason.clone()))
                }
                E::ChildWorkflowExecutionCompleted { initiated_event_id, .. } => {
                    (*initiated_event_id, "completed", None)
                }
                E::ChildWorkflowExecutionFailed { initiated_event_id, failure } => {
                    (*initiated_event_id, "failed", Some(failure.message().to_owned()))
                }
                E::ChildWorkflowExecutionCanceled { initiated_event_id } => (*initiated_event_id, "canceled", None),
                E::ChildWorkflowExecutionTimedOut { initiated_event_id, timeout } => {
                    (*initiated_event_id, "timed_out", Some(format!("{timeout:?} timeout")))
                }
                E::ChildWorkflowExecutionTerminated { initiated_event_id, reason } => {
                    (*initiated_event_id, "terminated", Some(reason.clone()))
                }
                attributes => {
                    if attributes.is_close() {
                        end = Some(at);
                    }
                    continue;
                }
            };
            if let Some(lane) = by_event.get(&opening).map(|&i| &mut lanes[i]) {
                lane.closed = Some(at);
                lane.outcome = outcome;
                if detail.is_some() {
                    lane.detail = detail;
                }
            }
        }
        // Open activities: attempts and backoff from the run's activity rows.
        for pending in run.map_or(&[][..], |r| &r.pending_activities[..]) {
            if let Some(lane) = by_event.get(&pending.scheduled_event_id).map(|&i| &mut lanes[i]) {
                lane.attempts = pending.attempt;
                if pending.state == PendingActivityState::Backoff {
                    lane.outcome = "retrying";
                }
                if let Some(failure) = &pending.last_failure {
                    lane.detail = Some(failure.message().to_owned());
                }
            }
        }
        let start = history.first().map_or(0.0, |e| ms(e.timestamp()));
        Timeline { start, end, lanes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two activities closed at 10 s: one whose started event records its
    /// attempt's start (4 s), one from a history written before weft
    /// recorded it, drawn as starting at its started event (the close).
    #[test]
    fn an_activity_s_lane_starts_when_its_closing_attempt_started() {
        let event = |id: u64, at: &str, event_type: &str, attributes: &str| {
            format!(
                r#"{{"event_id":{id},"timestamp":"2026-01-01T00:00:{at}Z","event_type":"{event_type}","attributes":{attributes}}}"#
            )
        };
        let scheduled =
            r#"{"seq":1,"activity_id":"1","activity_type":"a","input":null,"options":{"start_to_close_timeout":"1m"}}"#;
        let json = [
            event(
                1,
                "00",
                "WorkflowExecutionStarted",
                r#"{"workflow_type":"w","workflow_id":"w","run_id":"r","input":null}"#,
            ),
            event(2, "00", "ActivityTaskScheduled", scheduled),
            event(3, "00", "ActivityTaskScheduled", &scheduled.replace(r#""seq":1"#, r#""seq":2"#)),
            event(
                4,
                "10",
                "ActivityTaskStarted",
                r#"{"scheduled_event_id":2,"attempt":2,"started_time":"2026-01-01T00:00:04Z"}"#,
            ),
            event(5, "10", "ActivityTaskCompleted", r#"{"scheduled_event_id":2,"started_event_id":4,"result":1}"#),
            event(6, "10", "ActivityTaskStarted", r#"{"scheduled_event_id":3,"attempt":1}"#),
            event(7, "10", "ActivityTaskCompleted", r#"{"scheduled_event_id":3,"started_event_id":6,"result":2}"#),
        ]
        .join(",");
        let history: Vec<HistoryEvent> = serde_json::from_str(&format!("[{json}]")).expect("a history");
        let timeline = Timeline::of(&history, None);
        let at = |s: u64| timeline.start + 1000.0 * s as f64;
        let lanes: Vec<_> = timeline.lanes.iter().map(|l| (l.opened, l.started, l.closed, l.attempts)).collect();
        assert_eq!(lanes, [(at(0), Some(at(4)), Some(at(10)), 2), (at(0), Some(at(10)), Some(at(10)), 1)]);
    }
}
