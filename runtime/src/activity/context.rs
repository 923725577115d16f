//! The activity context: who is running, which attempt, heartbeats and cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

use crate::PayloadError;
use crate::history::Payload;

/// What an activity attempt knows about itself, and its line back to the engine.
///
/// Passed as the first argument of every `#[activity]` function. Cloning is
/// cheap; all clones talk to the same attempt.
#[derive(Clone)]
pub struct ActivityContext {
    pub(crate) info: Arc<ActivityInfo>,
    pub(crate) shared: Arc<AttemptShared>,
}

/// Facts about one activity attempt.
#[derive(Debug, Clone)]
pub(crate) struct ActivityInfo {
    pub(crate) workflow_id: String,
    pub(crate) run_id: String,
    pub(crate) activity_id: String,
    pub(crate) activity_type: String,
    pub(crate) attempt: u32,
    pub(crate) scheduled_time: SystemTime,
    pub(crate) started_time: SystemTime,
    pub(crate) deadline: SystemTime,
    pub(crate) last_heartbeat_details: Option<Payload>,
    pub(crate) payload_limit: usize,
}

/// State shared between a running attempt and the engine.
#[derive(Debug)]
pub(crate) struct AttemptShared {
    /// The latest heartbeat details not yet seen by the engine.
    pub(crate) heartbeat: Mutex<Option<Option<Payload>>>,
    /// Wakes the engine's attempt supervisor on each heartbeat.
    pub(crate) heartbeat_notify: Notify,
    /// Set when the activity is cancelled.
    pub(crate) cancel: watch::Sender<bool>,
    /// Set when this attempt has timed out or been superseded.
    pub(crate) stale: AtomicBool,
}

impl AttemptShared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(AttemptShared {
            heartbeat: Mutex::new(None),
            heartbeat_notify: Notify::new(),
            cancel: watch::Sender::new(false),
            stale: AtomicBool::new(false),
        })
    }
}

/// Why a heartbeat was not accepted: the attempt should stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeartbeatError {
    /// The activity was cancelled; finish up and return.
    #[error("the activity was cancelled")]
    Canceled,
    /// This attempt timed out or was superseded; its result will be discarded.
    #[error("this activity attempt is stale (timed out or superseded)")]
    StaleTask,
    /// The details could not be encoded.
    #[error("heartbeat details rejected")]
    Payload(#[source] PayloadError),
}

impl ActivityContext {
    /// The id of the workflow that scheduled the activity.
    pub fn workflow_id(&self) -> &str {
        &self.info.workflow_id
    }

    /// The run id of that workflow.
    pub fn run_id(&self) -> &str {
        &self.info.run_id
    }

    /// The activity's id (its sequence number in the run, unless set in the options).
    pub fn activity_id(&self) -> &str {
        &self.info.activity_id
    }

    /// The activity's registered type name.
    pub fn activity_type(&self) -> &str {
        &self.info.activity_type
    }

    /// This attempt's number, from 1.
    pub fn attempt(&self) -> u32 {
        self.info.attempt
    }

    /// When the activity was scheduled.
    pub fn scheduled_time(&self) -> SystemTime {
        self.info.scheduled_time
    }

    /// When this attempt started.
    pub fn started_time(&self) -> SystemTime {
        self.info.started_time
    }

    /// When this attempt will be timed out, whichever timeout comes first.
    pub fn deadline(&self) -> SystemTime {
        self.info.deadline
    }

    /// A key that is the same for every attempt of this activity and unique
    /// across runs (`<run id>/<activity id>`): pass it to the services you
    /// call so a retried attempt does not repeat their side effects.
    pub fn idempotency_key(&self) -> String {
        format!("{}/{}", self.info.run_id, self.info.activity_id)
    }

    /// Records progress. The engine resets the heartbeat timeout, keeps the
    /// latest details for the next attempt, and writes them to the store at
    /// most once per throttle interval.
    ///
    /// Returns an error when the attempt should stop: the activity was
    /// cancelled, or this attempt is stale.
    pub fn heartbeat<T: Serialize + ?Sized>(&self, details: &T) -> Result<(), HeartbeatError> {
        let payload = Payload::encode(details, self.info.payload_limit).map_err(HeartbeatError::Payload)?;
        self.record_heartbeat(Some(payload))
    }

    fn record_heartbeat(&self, details: Option<Payload>) -> Result<(), HeartbeatError> {
        if self.shared.stale.load(Ordering::Acquire) {
            return Err(HeartbeatError::StaleTask);
        }
        *self.shared.heartbeat.lock() = Some(details);
        self.shared.heartbeat_notify.notify_one();
        if self.is_cancelled() { Err(HeartbeatError::Canceled) } else { Ok(()) }
    }

    /// The details of the last heartbeat of an earlier attempt, to resume from.
    pub fn last_heartbeat_details<T: DeserializeOwned>(&self) -> Option<Result<T, PayloadError>> {
        self.info.last_heartbeat_details.as_ref().map(Payload::decode)
    }

    /// Whether cancellation of the activity was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.shared.cancel.borrow()
    }

    /// Completes when cancellation of the activity is requested.
    pub async fn cancelled(&self) {
        let mut rx = self.shared.cancel.subscribe();
        // The sender lives in `self.shared`, so the channel cannot close first.
        let _ = rx.wait_for(|c| *c).await;
    }
}

impl std::fmt::Debug for ActivityContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityContext")
            .field("workflow_id", &self.info.workflow_id)
            .field("run_id", &self.info.run_id)
            .field("activity_id", &self.info.activity_id)
            .field("activity_type", &self.info.activity_type)
            .field("attempt", &self.info.attempt)
            .finish()
    }
}
