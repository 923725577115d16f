//! Store outages: an engine write that fails for a transient reason (the
//! disk is full, the file is locked, an I/O error; see
//! [`Error::is_transient`]) is retried with backoff until the store takes it,
//! and callers waiting on the run learn of it once it lasts.
//!
//! The backoff sleeps on tokio's clock, so it runs on virtual time in tests.
//! Nothing is dropped while the store refuses writes: the write (an
//! activity's close, a timer's fire, a workflow step) stays in memory and is
//! tried again; what was committed before is untouched.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Inner;
use crate::{Error, Result};

/// The first wait before a failed write is tried again; it doubles up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(10);
/// The longest wait between two tries of a write.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// A run whose writes fail.
struct Outage {
    /// When its oldest failing write first failed (engine clock).
    since: SystemTime,
    began: Instant,
    /// How many of its writes are failing (retried) now.
    writes: usize,
    last: Arc<Error>,
    /// The number of the latest failure (see [`Outages::failures`]).
    last_failure: u64,
}

/// The runs whose writes are being retried.
#[derive(Default)]
pub(crate) struct Outages {
    runs: Mutex<(HashMap<String, Outage>, u64)>,
    changed: Notify,
}

impl std::fmt::Debug for Outages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outages").field("runs", &self.runs.lock().0.len()).finish()
    }
}

impl Outages {
    fn begin(&self, run_id: &str, since: SystemTime, error: Error) -> Failing<'_> {
        {
            let mut guard = self.runs.lock();
            let (runs, failures) = &mut *guard;
            *failures += 1;
            let (last, last_failure) = (Arc::new(error), *failures);
            runs.entry(run_id.to_owned())
                .and_modify(|o| {
                    o.writes += 1;
                    o.last = last.clone();
                    o.last_failure = last_failure;
                })
                .or_insert_with(|| Outage {
                    since,
                    began: Instant::now(),
                    writes: 1,
                    last: last.clone(),
                    last_failure,
                });
        }
        self.changed.notify_waiters();
        Failing { outages: self, run_id: run_id.to_owned() }
    }

    /// Another try of a failing write failed.
    fn update(&self, run_id: &str, error: Error) {
        {
            let mut guard = self.runs.lock();
            let (runs, failures) = &mut *guard;
            *failures += 1;
            if let Some(outage) = runs.get_mut(run_id) {
                outage.last = Arc::new(error);
                outage.last_failure = *failures;
            }
        }
        self.changed.notify_waiters();
    }

    fn end(&self, run_id: &str) {
        let mut guard = self.runs.lock();
        let runs = &mut guard.0;
        if let Some(outage) = runs.get_mut(run_id) {
            outage.writes -= 1;
            if outage.writes == 0 {
                runs.remove(run_id);
            }
        }
        drop(guard);
        self.changed.notify_waiters();
    }

    /// Waits until writes of `run_id` have failed for `after` without a
    /// break, and once more since this call began (a caller that comes just
    /// after the store recovered is not told of an outage that is over);
    /// returns since when, and the store's latest error.
    pub(crate) async fn lasting(&self, run_id: &str, after: Duration) -> (SystemTime, Arc<Error>) {
        let called = self.runs.lock().1;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let due = match self.runs.lock().0.get(run_id) {
                Some(o) => match o.began.checked_add(after) {
                    Some(at) if at <= Instant::now() && o.last_failure > called => return (o.since, o.last.clone()),
                    // Lasted long enough: the next failure tells (`changed`).
                    Some(at) if at <= Instant::now() => None,
                    at => at,
                },
                None => None,
            };
            match due {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// One failing write of a run: the outage ends for it when this drops
/// (the write went through, failed for good, or the engine stopped).
struct Failing<'a> {
    outages: &'a Outages,
    run_id: String,
}

impl Drop for Failing<'_> {
    fn drop(&mut self) {
        self.outages.end(&self.run_id);
    }
}

impl Inner {
    /// Runs `write` (a store write on behalf of `run_id`) until it succeeds or
    /// fails for a reason that is not transient; while it fails transiently,
    /// it is tried again after 10 ms, 20 ms, ... up to 5 s between tries, for
    /// as long as the engine runs.
    pub(crate) async fn persist<T, F, Fut>(&self, run_id: &str, mut write: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut failing: Option<Failing<'_>> = None;
        let mut delay = FIRST_DELAY;
        loop {
            match write().await {
                Err(error) if error.is_transient() && !self.is_stopped() => {
                    match &failing {
                        Some(_) => self.outages.update(run_id, error),
                        None => {
                            tracing::warn!(run_id, error = %crate::ErrorChain(&error), "the store refused a write; it is retried until it succeeds");
                            failing = Some(self.outages.begin(run_id, self.clock.now(), error));
                        }
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_DELAY);
                }
                result => {
                    if failing.is_some() && result.is_ok() {
                        tracing::info!(run_id, "the store took a write it had refused");
                    }
                    return result;
                }
            }
        }
    }
}
