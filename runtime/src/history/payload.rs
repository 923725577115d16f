//! Payloads: the serialized inputs and results recorded in history.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::finite::{Finite, Found};
use crate::error::PayloadError;

/// The default limit on one payload's size: 2 MiB, as in Temporal.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 2 * 1024 * 1024;

/// A history longer than this many events logs a warning (Temporal warns at
/// 10k too): replay slows down as it grows; continue-as-new starts a fresh one.
pub const HISTORY_WARN_EVENTS: u64 = 10_000;

/// The most events one run's history may hold (Temporal's limit too). A step
/// that would go past it terminates the run instead, with a reason that
/// names the limit; a workflow that runs long continues as new well before.
pub const MAX_HISTORY_EVENTS: u64 = 51_200;

/// The most payload bytes (inputs, results, failures' details) one run's
/// history may hold: 50 MiB, as Temporal's history size limit. Past it, as
/// past [`MAX_HISTORY_EVENTS`], the run is terminated.
pub const MAX_HISTORY_BYTES: u64 = 50 * 1024 * 1024;

/// A serialized value (JSON), as recorded in history.
///
/// Payloads are kept encoded: replay hands them back to the workflow without
/// re-encoding, and the history's JSON export embeds them verbatim.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Payload {}

impl Payload {
    /// Serializes `value` as JSON, refusing results over `limit` bytes and
    /// non-finite floats (which serde_json would write as `null`).
    pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, limit: usize) -> Result<Self, PayloadError> {
        let found = Found::default();
        let json = serde_json::to_string(&Finite(value, &found)).map_err(|e| match found.take() {
            Some((value, path)) => PayloadError::NonFinite { value: value.to_owned(), path },
            None => PayloadError::Encode(e.to_string()),
        })?;
        if json.len() > limit {
            return Err(PayloadError::TooLarge { size: json.len(), limit });
        }
        let raw = RawValue::from_string(json).map_err(|e| PayloadError::Encode(e.to_string()))?;
        Ok(Payload(raw))
    }

    /// Parses a JSON text into a payload (used by the store and the history importer).
    pub(crate) fn from_json(json: String) -> Result<Self, PayloadError> {
        RawValue::from_string(json).map(Payload).map_err(|e| PayloadError::Decode(e.to_string()))
    }

    /// Deserializes the payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_str(self.0.get()).map_err(|e| PayloadError::Decode(e.to_string()))
    }

    /// The payload's JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// The payload's size in bytes.
    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    /// Whether the payload is empty (it never is: `null` has four bytes).
    pub fn is_empty(&self) -> bool {
        self.0.get().is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREVIEW: usize = 120;
        let s = self.0.get();
        if s.len() <= PREVIEW {
            f.write_str(s)
        } else {
            let mut end = PREVIEW;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            write!(f, "{}… ({} bytes)", &s[..end], s.len())
        }
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limit() {
        let p = Payload::encode(&("a", 1), 100).unwrap();
        assert_eq!(p.as_json(), r#"["a",1]"#);
        let back: (String, u32) = p.decode().unwrap();
        assert_eq!(back, ("a".to_owned(), 1));
        let err = Payload::encode(&"x".repeat(10), 5).unwrap_err();
        assert!(matches!(err, PayloadError::TooLarge { size: 12, limit: 5 }));
        assert!(p.decode::<u32>().is_err());
    }

    fn non_finite<T: Serialize + ?Sized>(value: &T) -> (String, String) {
        match Payload::encode(value, DEFAULT_PAYLOAD_LIMIT) {
            Err(PayloadError::NonFinite { value, path }) => (value, path),
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }

    #[test]
    fn non_finite_floats_are_refused_with_their_path() {
        use std::collections::BTreeMap;

        #[derive(Serialize)]
        struct Point {
            x: f32,
            y: f64,
        }
        #[derive(Serialize)]
        enum Shape {
            Line(Point, Point),
            Circle { center: Point, radius: f64 },
            Scale(f64),
        }
        let ok = Point { x: 1.5, y: -2.0 };
        assert_eq!(Payload::encode(&ok, 100).unwrap().as_json(), r#"{"x":1.5,"y":-2.0}"#);
        assert_eq!(non_finite(&f64::NAN), ("NaN".to_owned(), "$".to_owned()));
        assert_eq!(non_finite(&Some(f32::INFINITY)), ("inf".to_owned(), "$".to_owned()));
        assert_eq!(non_finite(&vec![1.0, 2.0, f64::NEG_INFINITY]), ("-inf".to_owned(), "$[2]".to_owned()));
        assert_eq!(non_finite(&(1, "a", Point { x: 0.0, y: f64::NAN })).1, "$[2].y");
        let line = Shape::Line(Point { x: 0.0, y: 0.0 }, Point { x: f32::NAN, y: 0.0 });
        assert_eq!(non_finite(&line).1, "$.Line[1].x");
        let circle = Shape::Circle { center: Point { x: 0.0, y: 0.0 }, radius: f64::INFINITY };
        assert_eq!(non_finite(&circle).1, "$.Circle.radius");
        assert_eq!(non_finite(&[Shape::Scale(1.0), Shape::Scale(f64::NAN)]).1, "$[1].Scale");
        let map: BTreeMap<&str, Vec<f64>> = [("ok", vec![1.0]), ("bad", vec![0.0, f64::NAN])].into();
        assert_eq!(non_finite(&map).1, r#"$["bad"][1]"#);
        let keys: BTreeMap<u8, f64> = [(7, f64::NAN)].into();
        assert_eq!(non_finite(&keys).1, r#"$["7"]"#);
        // serde_json's own errors are still `Encode`.
        let bad_key: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(matches!(Payload::encode(&bad_key, 100), Err(PayloadError::Encode(_))));
    }
}
