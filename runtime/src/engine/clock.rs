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
    pub(crate) fn new() -> Self {
        Clock { base_system: SystemTime::now(), base_instant: Instant::now() }
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
