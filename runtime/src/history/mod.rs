//! Event history: what a run did, in order, and the payloads it recorded.
//!
//! A run's history is a list of [`HistoryEvent`]s with ids 1, 2, 3, ...; each
//! event's [`EventAttributes`] say what happened. Inputs and results are
//! [`Payload`]s (JSON), failures are [`Failure`]s. The engine rebuilds a
//! workflow that is not in memory by replaying its code against this list.
//!
//! # Examples
//!
//! ```
//! # use weft::history::{HistoryEvent, EventAttributes};
//! fn activity_results(history: &[HistoryEvent]) -> Vec<String> {
//!     history
//!         .iter()
//!         .filter_map(|e| match e.attributes() {
//!             EventAttributes::ActivityTaskCompleted { result, .. } => Some(result.as_json().to_owned()),
//!             _ => None,
//!         })
//!         .collect()
//! }
//! # assert!(activity_results(&[]).is_empty());
//! ```

mod event;
mod failure;
mod finite;
mod marker;
mod payload;

pub use event::{
    EventAttributes, HistoryEvent, ParentClosePolicy, ParentExecution, UpdateOutcome, WorkflowIdReusePolicy,
    WorkflowTimeout,
};
pub use failure::{ActivityFailureInfo, Failure, RetryState};
pub use marker::{LocalActivityOutcome, Marker};
pub use payload::{DEFAULT_PAYLOAD_LIMIT, HISTORY_WARN_EVENTS, MAX_HISTORY_BYTES, MAX_HISTORY_EVENTS, Payload};

/// `SystemTime` as an RFC 3339 string with microseconds.
pub(crate) mod serde_time {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_micros(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        humantime::parse_rfc3339_weak(&s).map_err(D::Error::custom)
    }

    /// The same for `Option<SystemTime>`.
    pub(crate) mod option {
        use std::time::SystemTime;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] SystemTime);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(t)| t))
        }
    }
}

/// `Duration` as a humantime string (`"10s"`, `"1m 30s"`).
pub(crate) mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        humantime::parse_duration(&s).map_err(D::Error::custom)
    }

    /// The same for `Option<Duration>`.
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Duration);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(d)| d))
        }
    }
}
