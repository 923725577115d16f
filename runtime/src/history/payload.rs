//! Payloads: the serialized inputs and results recorded in history.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::PayloadError;

/// The default limit on one payload's size: 2 MiB, as in Temporal.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 2 * 1024 * 1024;

/// A history longer than this many events logs a warning (Temporal warns at 10k too).
pub const HISTORY_WARN_EVENTS: u64 = 10_000;

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
    /// Serializes `value` as JSON, refusing results over `limit` bytes.
    pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, limit: usize) -> Result<Self, PayloadError> {
        let json = serde_json::to_string(value).map_err(|e| PayloadError::Encode(e.to_string()))?;
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
}
