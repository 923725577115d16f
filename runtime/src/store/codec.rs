//! How every store encodes values in its rows: times as microseconds since
//! the epoch, JSON text, and the CRC-32 of an event's JSON that history reads check.

use std::time::{Duration, SystemTime};

use crate::history::HistoryEvent;
use crate::{Error, Result};

/// `t` as microseconds since the Unix epoch (negative before it), saturating.
pub(crate) fn micros(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_micros().min(i64::MAX as u128) as i64,
        Err(e) => -(e.duration().as_micros().min(i64::MAX as u128) as i64),
    }
}

/// The time `m` microseconds after the Unix epoch (before it if negative).
pub(crate) fn from_micros(m: i64) -> SystemTime {
    if m >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_micros(m as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_micros(m.unsigned_abs())
    }
}

/// `d` in microseconds, at most 2^62 so that a time plus a duration cannot
/// overflow a 64-bit column in SQL arithmetic.
pub(crate) fn duration_micros(d: Duration) -> i64 {
    d.as_micros().min(1 << 62) as i64
}

/// The checksum stored beside an event's JSON.
pub(crate) fn checksum(data: &str) -> i64 {
    crc32fast::hash(data.as_bytes()) as i64
}

/// A value as the JSON text a row keeps.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::store)
}

/// A value from a row's JSON text.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(Error::store)
}

/// An event as a store row keeps it.
#[derive(Debug)]
pub(crate) struct StoredEvent<'a> {
    pub(crate) event_id: i64,
    pub(crate) data: &'a str,
    pub(crate) checksum: i64,
}

/// Checks and parses the stored event that should be event `expected` of a
/// run's history: its id, checksum and parsed id; `CorruptHistory` otherwise.
pub(crate) fn check_event(
    run_id: &str,
    workflow_id: &str,
    expected: u64,
    row: StoredEvent<'_>,
) -> Result<HistoryEvent> {
    let corrupt = |reason: String| Error::CorruptHistory {
        workflow_id: workflow_id.to_owned(),
        run_id: run_id.to_owned(),
        reason,
    };
    let StoredEvent { event_id, data, checksum: sum } = row;
    if event_id < 0 || event_id as u64 != expected {
        return Err(corrupt(format!("event {expected} is missing (found {event_id})")));
    }
    if checksum(data) != sum {
        return Err(corrupt(format!("event {event_id} fails its checksum")));
    }
    let event: HistoryEvent =
        serde_json::from_str(data).map_err(|e| corrupt(format!("event {event_id} does not parse: {e}")))?;
    if event.event_id != expected {
        return Err(corrupt(format!("event {event_id} says it is event {}", event.event_id)));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the `postgres` feature the PostgreSQL store and its tests are
    /// not built; a plain `cargo test --workspace` says so once.
    #[cfg(not(feature = "postgres"))]
    #[test]
    fn the_postgres_store_s_tests_need_the_feature() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the PostgreSQL store's tests (build with `--features weft/postgres`, set WEFT_TEST_POSTGRES; see README)"
        );
    }

    #[test]
    fn times_round_trip_through_micros_on_both_sides_of_the_epoch() {
        for t in [SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456)] {
            assert_eq!(from_micros(micros(t)), t);
        }
        let before = SystemTime::UNIX_EPOCH - Duration::from_micros(5);
        assert_eq!(micros(before), -5);
        assert_eq!(from_micros(-5), before);
        assert_eq!(duration_micros(Duration::MAX), 1 << 62);
    }
}
