//! Markers: facts a workflow step records about itself (`MarkerRecorded`),
//! which replay reads back instead of doing the work again: a local
//! activity's end, the branch a code change took.

use serde::{Deserialize, Serialize};

use super::{Failure, Payload};
use crate::activity::TimeoutType;

/// What a `MarkerRecorded` event records, by `marker_name`.
///
/// The JSON form is `{"marker_name": "...", "details": {...}}` (see
/// `docs/history-format.md`).
///
/// ```
/// use weft::history::{LocalActivityOutcome, Marker};
///
/// let json = r#"{"marker_name": "local_activity", "details": {"seq": 1, "activity_id": "1",
///     "activity_type": "lookup", "attempt": 1, "outcome": {"completed": {"result": 42}}}}"#;
/// let marker: Marker = serde_json::from_str(json)?;
/// let Marker::LocalActivity { activity_type, outcome, .. } = &marker else { unreachable!() };
/// assert_eq!(activity_type, "lookup");
/// assert!(matches!(outcome, LocalActivityOutcome::Completed { result } if result.as_json() == "42"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// ```
/// # use weft::history::Marker;
/// let marker = Marker::Patch { patch_id: "eco-label".to_owned(), deprecated: false };
/// let json = serde_json::to_string(&marker).unwrap();
/// assert_eq!(json, r#"{"marker_name":"patch","details":{"patch_id":"eco-label","deprecated":false}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "marker_name", content = "details")]
#[non_exhaustive]
pub enum Marker {
    /// A local activity ended (the workflow called
    /// [`execute_local_activity`](crate::WorkflowContext::execute_local_activity)):
    /// its outcome, recorded once, by the worker that ran it in the workflow's step.
    #[serde(rename = "local_activity")]
    LocalActivity {
        /// The call's sequence number in the run, matched on replay.
        seq: u32,
        /// The activity id (the sequence number unless set in the options).
        activity_id: String,
        /// The registered activity type, matched on replay.
        activity_type: String,
        /// The attempt that ended the activity, from 1 (0: it never started).
        attempt: u32,
        /// How it ended.
        outcome: LocalActivityOutcome,
    },
    /// The workflow took the new branch of a code change: it called
    /// [`WorkflowContext::patched`](crate::WorkflowContext::patched) (or
    /// [`deprecate_patch`](crate::WorkflowContext::deprecate_patch)) live.
    /// See `docs/versioning.md`.
    #[serde(rename = "patch")]
    Patch {
        /// The id the code gave the change.
        patch_id: String,
        /// Recorded by `deprecate_patch`: code without the call may replay
        /// this history (the marker is skipped then).
        deprecated: bool,
    },
}

/// How a local activity ended, as its [`Marker::LocalActivity`] records it.
///
/// ```
/// use weft::history::{EventAttributes, HistoryEvent, LocalActivityOutcome, Marker};
///
/// /// The local activities of a history that failed, by activity id.
/// fn failed_local_activities(history: &[HistoryEvent]) -> Vec<String> {
///     history
///         .iter()
///         .filter_map(|e| match e.attributes() {
///             EventAttributes::MarkerRecorded {
///                 marker: Marker::LocalActivity { activity_id, outcome: LocalActivityOutcome::Failed { .. }, .. },
///             } => Some(activity_id.clone()),
///             _ => None,
///         })
///         .collect()
/// }
/// # assert!(failed_local_activities(&[]).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LocalActivityOutcome {
    /// The activity returned a result.
    Completed {
        /// The activity's result.
        result: Payload,
    },
    /// The last attempt failed and no retry is left.
    Failed {
        /// The last attempt's error.
        failure: Failure,
    },
    /// A timeout ended the activity.
    TimedOut {
        /// Which timeout fired.
        timeout_type: TimeoutType,
        /// The last attempt's failure, if an attempt failed before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_failure: Option<Failure>,
    },
    /// The activity ended cancelled (a call with
    /// [`CancellationType::WaitCancellationCompleted`](crate::CancellationType::WaitCancellationCompleted)).
    Canceled {},
}

impl Marker {
    /// The marker's name (its `marker_name` in JSON), e.g. `"local_activity"`.
    ///
    /// ```
    /// # use weft::history::Marker;
    /// let marker: Marker = serde_json::from_str(
    ///     r#"{"marker_name": "local_activity", "details": {"seq": 1, "activity_id": "1",
    ///         "activity_type": "t", "attempt": 1, "outcome": {"canceled": {}}}}"#,
    /// )?;
    /// assert_eq!(marker.name(), "local_activity");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Marker::LocalActivity { .. } => "local_activity",
            Marker::Patch { .. } => "patch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventAttributes, HistoryEvent};

    fn round_trip(marker: Marker) -> serde_json::Value {
        let event = HistoryEvent::new(3, std::time::SystemTime::UNIX_EPOCH, EventAttributes::MarkerRecorded { marker });
        let json = serde_json::to_string(&event).unwrap();
        let back: HistoryEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event, "{json}");
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn local_activity_markers_round_trip() {
        let completed = Marker::LocalActivity {
            seq: 2,
            activity_id: "2".into(),
            activity_type: "lookup".into(),
            attempt: 3,
            outcome: LocalActivityOutcome::Completed { result: Payload::encode(&("a", 1), usize::MAX).unwrap() },
        };
        let json = round_trip(completed);
        assert_eq!(json["event_type"], "MarkerRecorded");
        let marker = &json["attributes"]["marker"];
        assert_eq!(marker["marker_name"], "local_activity");
        assert_eq!(marker["details"]["seq"], 2);
        assert_eq!(marker["details"]["attempt"], 3);
        assert_eq!(marker["details"]["outcome"]["completed"]["result"], serde_json::json!(["a", 1]));

        let failure = Failure::new("Boom", "it broke").non_retryable();
        for outcome in [
            LocalActivityOutcome::Failed { failure: failure.clone() },
            LocalActivityOutcome::TimedOut { timeout_type: TimeoutType::StartToClose, last_failure: Some(failure) },
            LocalActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToClose, last_failure: None },
            LocalActivityOutcome::Canceled {},
        ] {
            let marker = Marker::LocalActivity {
                seq: 1,
                activity_id: "mine".into(),
                activity_type: "lookup".into(),
                attempt: 1,
                outcome,
            };
            assert_eq!(marker.name(), "local_activity");
            round_trip(marker);
        }
        let json = round_trip(Marker::LocalActivity {
            seq: 1,
            activity_id: "1".into(),
            activity_type: "t".into(),
            attempt: 2,
            outcome: LocalActivityOutcome::TimedOut { timeout_type: TimeoutType::StartToClose, last_failure: None },
        });
        assert_eq!(
            json["attributes"]["marker"]["details"]["outcome"],
            serde_json::json!({"timed_out": {"timeout_type": "StartToClose"}})
        );
    }

    #[test]
    fn a_patch_marker_has_its_json_shape_and_round_trips() {
        let marker = Marker::Patch { patch_id: "eco-label".to_owned(), deprecated: true };
        let json = serde_json::to_value(&marker).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"marker_name": "patch", "details": {"patch_id": "eco-label", "deprecated": true}})
        );
        assert_eq!(serde_json::from_value::<Marker>(json).unwrap(), marker);

        let event = HistoryEvent::new(
            3,
            std::time::SystemTime::UNIX_EPOCH,
            EventAttributes::MarkerRecorded { marker: marker.clone() },
        );
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"event_id":3,"timestamp":"1970-01-01T00:00:00.000000Z","event_type":"MarkerRecorded","attributes":{"marker":{"marker_name":"patch","details":{"patch_id":"eco-label","deprecated":true}}}}"#
        );
        assert_eq!(serde_json::from_str::<HistoryEvent>(&text).unwrap(), event);
        assert_eq!(event.event_type(), "MarkerRecorded");
    }

    #[test]
    fn an_unknown_marker_name_is_refused() {
        let json = r#"{"marker_name": "no_such_marker", "details": {}}"#;
        assert!(serde_json::from_str::<Marker>(json).is_err());
    }
}
