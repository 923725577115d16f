//! Markers: facts the workflow code itself records in its history, so that
//! replay hands it back the same answer (`MarkerRecorded`).

use serde::{Deserialize, Serialize};

/// What a `MarkerRecorded` event records.
///
/// The JSON form is `{"marker_name": "...", "details": {...}}`: the name
/// says which kind of marker it is, `details` holds its fields.
///
/// ```
/// # use weft::history::Marker;
/// let marker = Marker::Patch { patch_id: "eco-label".to_owned(), deprecated: false };
/// let json = serde_json::to_string(&marker).unwrap();
/// assert_eq!(json, r#"{"marker_name":"patch","details":{"patch_id":"eco-label","deprecated":false}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "marker_name", content = "details")]
#[non_exhaustive]
pub enum Marker {
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

#[cfg(test)]
mod tests {
    use super::Marker;
    use crate::history::{EventAttributes, HistoryEvent};

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
    fn an_unknown_marker_name_does_not_decode() {
        let json = r#"{"marker_name":"nope","details":{}}"#;
        assert!(serde_json::from_str::<Marker>(json).is_err());
    }
}
