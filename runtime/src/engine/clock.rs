//! Engine time: wall-clock timestamps that follow tokio's clock.
//!
//! Every deadline in the engine is a tokio `sleep_until`, and every timestamp
//! is `base + elapsed` on tokio's clock. Under `tokio::time::pause` (see
//! `weft::testing`) both are virtual, so a ten-minute timeout takes no time.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base_system: SystemTime,
    base_instant: Instant,
}

impl Clock {
    /// A clock reading wall time now, to the microsecond: the stores keep
    /// times in microseconds, so a time read back from one (a retry's
    /// backoff end, a lease deadline) is the time the engine wrote.
    pub(crate) fn new() -> Self {
        let now = SystemTime::now();
        let since_epoch = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let base_system = now - Duration::from_nanos(u64::from(since_epoch.subsec_nanos() % 1000));
        Clock { base_system, base_instant: Instant::now() }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.base_system + self.base_instant.elapsed()
    }

    /// The tokio instant at which the clock reads `at` (now, if `at` is past).
    pub(crate) fn instant_at(&self, at: SystemTime) -> Instant {
        let now = Instant::now();
        match at.duration_since(self.now()) {
            Ok(ahead) => now.checked_add(ahead).unwrap_or(now + Duration::from_secs(10 * 365 * 24 * 3600)),
            Err(_) => now,
        }
    }
}
