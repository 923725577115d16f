//! Retention: each closed run is deleted a set time after it closed
//! ([`EngineBuilder::retention`](super::EngineBuilder::retention)).

use std::sync::Arc;
use std::time::Duration;

use super::Inner;

/// The most runs one delete takes, so that steps' commits go between the
/// deletes of a long sweep.
const BATCH: usize = 1_000;

/// How often the worker sweeps, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl Inner {
    /// Deletes the runs that closed more than `period` ago: at start, then
    /// every minute (or every `period`, if shorter).
    pub(crate) async fn retention_loop(self: &Arc<Self>, period: Duration) {
        loop {
            if let Some(before) = self.clock.now().checked_sub(period) {
                self.sweep(before).await;
            }
            tokio::time::sleep(period.min(SWEEP_EVERY)).await;
        }
    }

    /// Deletes closed runs that closed before `before`, a batch at a time;
    /// a failed delete is tried again at the next sweep.
    async fn sweep(&self, before: std::time::SystemTime) {
        loop {
            match self.store.delete_closed_runs(before, BATCH).await {
                Ok(deleted) if deleted == BATCH => tokio::task::yield_now().await,
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(error = %crate::ErrorChain(&error), "could not delete closed runs past their retention");
                    return;
                }
            }
        }
    }
}
