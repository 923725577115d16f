//! The worker: claims work from the store and keeps its leases.
//!
//! One claim loop per engine. Each round it claims workflow tasks (the store
//! fires due timers first), activity attempts (as many as there are free
//! slots) and expired attempts (to time them out), and hands each to its
//! runner. When a round finds nothing, the loop sleeps until the earliest
//! moment work comes due ([`Store::next_due`](crate::store::Store::next_due)),
//! until something wakes it (work this process produced, or a store
//! notification of work produced elsewhere), or, as a fallback only, for
//! the poll interval. A second loop renews the worker's registration and
//! its workflow-task leases every third of the lease.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use futures::FutureExt;
use parking_lot::Mutex;
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::Inner;
use crate::Result;
use crate::store::StoreListener;

/// The most rows one claim of workflow tasks or activity attempts takes.
const CLAIM_BATCH: usize = 64;

/// The most expired attempts one claim takes. Timing one out is a store
/// write and no slot, so a round takes more of them than of work to run.
const EXPIRED_BATCH: usize = 256;

/// How often, at most, a round woken by new work (not by a due time) also
/// looks for expired attempts: expiries come due by time, and a round woken
/// by time always looks.
const EXPIRED_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// What this process's worker has claimed from the store since it started
/// ([`Engine::worker_stats`](crate::Engine::worker_stats)). Work a worker
/// produces and runs itself is not claimed: a run's first step committed
/// with its start, an activity's first attempt started by the step that
/// schedules it, a retry due at once that starts its attempt in its own
/// write (as after a crash), a timer fired for a cached workflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Workflow tasks (a run's next step) claimed.
    pub workflow_tasks_claimed: u64,
    /// Activity attempts claimed to run (retries that waited in the store,
    /// attempts queued for other workers).
    pub activity_attempts_claimed: u64,
    /// Expired activity attempts claimed to time out.
    pub expired_attempts_claimed: u64,
}

/// The counters behind [`WorkerStats`].
#[derive(Debug, Default)]
pub(crate) struct ClaimCounters {
    workflow_tasks: AtomicU64,
    activity_attempts: AtomicU64,
    expired_attempts: AtomicU64,
}

impl ClaimCounters {
    pub(crate) fn stats(&self) -> WorkerStats {
        WorkerStats {
            workflow_tasks_claimed: self.workflow_tasks.load(Ordering::Relaxed),
            activity_attempts_claimed: self.activity_attempts.load(Ordering::Relaxed),
            expired_attempts_claimed: self.expired_attempts.load(Ordering::Relaxed),
        }
    }
}

/// Wakes the claim loop: now, or at a time, or when a slot frees up.
#[derive(Debug, Default)]
pub(crate) struct Poller {
    notify: Notify,
    /// The earliest time someone asked the loop to wake at.
    wake_at: Mutex<Option<SystemTime>>,
    /// Activity work was left in the store for want of a free slot.
    starved: AtomicBool,
}

impl Poller {
    /// Activity work this worker could run was left queued: every slot was taken.
    pub(crate) fn starve(&self) {
        self.starved.store(true, Ordering::Release);
    }

    /// An activity slot was freed: if work was left for want of one, claim it.
    pub(crate) fn slot_freed(&self) {
        if self.starved.swap(false, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Work is waiting: the loop runs a round now.
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }

    /// Work comes due at `at` (a timer, a retry's backoff end).
    pub(crate) fn wake_at(&self, at: SystemTime) {
        let mut wake_at = self.wake_at.lock();
        if wake_at.is_none_or(|w| at < w) {
            *wake_at = Some(at);
            drop(wake_at);
            self.notify.notify_one();
        }
    }
}

/// Tells the engine about changes made by other processes.
struct Listener(Weak<Inner>);

impl StoreListener for Listener {
    fn work_available(&self, task_queue: Option<&str>) {
        if let Some(inner) = self.0.upgrade() {
            inner.poller.wake();
            if task_queue.is_none() {
                // Anything may have changed (the store reconnected and may have
                // missed notifications): callers waiting for a close look again.
                inner.recheck_waiters();
            }
        }
    }

    fn run_closed(&self, run_id: &str) {
        if let Some(inner) = self.0.upgrade() {
            inner.notify_closed(run_id, None);
        }
    }
}

impl Inner {
    /// Subscribes to the store and, unless this is a client only, registers
    /// the worker and starts its claim and renewal loops.
    pub(crate) async fn start_worker(self: &Arc<Self>) -> Result<()> {
        self.store.subscribe(Arc::new(Listener(Arc::downgrade(self))));
        let Some(worker) = self.worker.clone() else { return Ok(()) };
        let now = self.clock.now();
        self.store.register_worker(worker, now + self.config.lease).await?;
        let inner = self.clone();
        self.spawn(async move { inner.claim_loop().await });
        let inner = self.clone();
        self.spawn(async move { inner.renew_loop().await });
        if let Some(period) = self.config.retention {
            let inner = self.clone();
            self.spawn(async move { inner.retention_loop(period).await });
        }
        let inner = self.clone();
        self.spawn(async move {
            loop {
                let timer = inner.timers.next().await;
                let fire = inner.clone();
                inner.spawn(async move { fire.fire_timer(timer).await });
            }
        });
        Ok(())
    }

    /// Whether this process's worker polls `task_queue`.
    pub(crate) fn polls(&self, task_queue: &str) -> bool {
        self.worker.as_ref().is_some_and(|w| w.task_queues.iter().any(|q| q == task_queue))
    }

    /// Whether this process's worker runs workflow tasks of `workflow_type` on `task_queue`.
    pub(crate) fn runs_workflow(&self, task_queue: &str, workflow_type: &str) -> bool {
        self.polls(task_queue) && self.registry.workflows.contains_key(workflow_type)
    }

    /// Whether this process's worker runs attempts of `activity_type` on `task_queue`.
    pub(crate) fn runs_activity(&self, task_queue: &str, activity_type: &str) -> bool {
        self.polls(task_queue) && self.registry.activities.contains_key(activity_type)
    }

    async fn claim_loop(self: &Arc<Self>) {
        let Some(worker) = self.worker.clone() else { return };
        let mut failures = 0u32;
        // Whether this round was woken by a due time (or is the first).
        let mut timed = true;
        let mut expired_checked: Option<tokio::time::Instant> = None;
        loop {
            let check_expired = timed || expired_checked.is_none_or(|at| at.elapsed() >= EXPIRED_EVERY);
            if check_expired {
                expired_checked = Some(tokio::time::Instant::now());
            }
            match self.claim_round(check_expired).await {
                Ok(true) => {
                    failures = 0;
                    continue;
                }
                Ok(false) => failures = 0,
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %crate::ErrorChain(&error), failures, "could not claim work; retrying");
                    }
                }
            }
            let now = self.clock.now();
            let mut until = now + self.config.poll_interval;
            if failures > 0 {
                // Backoff while the store fails: 10 ms doubling, at most the poll interval.
                let backoff = std::time::Duration::from_millis(10) * 2u32.saturating_pow(failures.min(16));
                until = until.min(now + backoff);
            } else if let Ok(Some(due)) = self.store.next_due(worker.clone(), now).await {
                until = until.min(due);
            }
            {
                let mut wake_at = self.poller.wake_at.lock();
                if let Some(at) = wake_at.take() {
                    until = until.min(at);
                }
            }
            let mut deadline = self.clock.instant_at(until);
            if !check_expired && let Some(at) = expired_checked {
                // The expired attempts this round skipped are looked for soon.
                deadline = deadline.min(at + EXPIRED_EVERY);
            }
            timed = true;
            if deadline > tokio::time::Instant::now() {
                tokio::select! {
                    () = self.poller.notify.notified() => timed = false,
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
        }
    }

    /// One round of claims (of expired attempts too, if `check_expired`);
    /// true if a claim came back full (more may be waiting). The claims go
    /// to the store together, so that an embedded store commits them in one
    /// transaction (one fsync a round, not one a claim); what one claim took
    /// is run even if another failed.
    async fn claim_round(self: &Arc<Self>, check_expired: bool) -> Result<bool> {
        let Some(worker) = self.worker.clone() else { return Ok(false) };
        let now = self.clock.now();
        let workflow_permits = match worker.workflow_types.is_empty() {
            true => Vec::new(),
            false => take_permits(&self.workflow_slots, CLAIM_BATCH),
        };
        let activity_permits = match worker.activity_types.is_empty() {
            true => Vec::new(),
            false => {
                let permits = take_permits(&self.activity_slots, CLAIM_BATCH);
                if permits.is_empty() {
                    self.poller.starve();
                }
                permits
            }
        };
        let (workflow_asked, activity_asked) = (workflow_permits.len(), activity_permits.len());
        let (workflow_tasks, activity_tasks, expired) = futures::join!(
            match workflow_asked {
                0 => nothing(),
                asked => self.store.claim_workflow_tasks(worker.clone(), now, self.config.lease, asked),
            },
            match activity_asked {
                0 => nothing(),
                asked => self.store.claim_activity_tasks(worker.clone(), now, asked),
            },
            match check_expired {
                false => nothing(),
                true =>
                    self.store.claim_expired_activities(worker.worker_id.clone(), now, self.config.lease, EXPIRED_BATCH),
            },
        );
        let mut full = false;
        let mut error = None;
        match workflow_tasks {
            Ok(tasks) => {
                self.claimed.workflow_tasks.fetch_add(tasks.len() as u64, Ordering::Relaxed);
                full |= workflow_asked > 0 && tasks.len() == workflow_asked;
                for (task, permit) in tasks.into_iter().zip(workflow_permits) {
                    self.run_claimed_workflow_task(task, permit);
                }
            }
            Err(e) => error = error.or(Some(e)),
        }
        match activity_tasks {
            Ok(tasks) => {
                self.claimed.activity_attempts.fetch_add(tasks.len() as u64, Ordering::Relaxed);
                full |= activity_asked > 0 && tasks.len() == activity_asked;
                for (task, permit) in tasks.into_iter().zip(activity_permits) {
                    self.run_claimed_activity(task, permit);
                }
            }
            Err(e) => error = error.or(Some(e)),
        }
        match expired {
            Ok(expired) => {
                self.claimed.expired_attempts.fetch_add(expired.len() as u64, Ordering::Relaxed);
                full |= expired.len() == EXPIRED_BATCH;
                for task in expired {
                    self.time_out_expired(task);
                }
            }
            Err(e) => error = error.or(Some(e)),
        }
        match error {
            Some(error) => Err(error),
            None => Ok(full),
        }
    }

    async fn renew_loop(self: &Arc<Self>) {
        let Some(worker) = self.worker.clone() else { return };
        let every = self.config.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let now = self.clock.now();
            let lease_end = now + self.config.lease;
            match self.store.heartbeat_worker(worker.worker_id.clone(), lease_end, lease_end).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(error = %crate::ErrorChain(&error), "could not renew the worker's leases")
                }
            }
        }
    }
}

/// A claim not made: nothing claimed.
fn nothing<'a, T: Send + 'a>() -> futures::future::BoxFuture<'a, Result<Vec<T>>> {
    futures::future::ready(Ok(Vec::new())).boxed()
}

/// Up to `n` permits of `slots`, without waiting.
fn take_permits(slots: &Arc<tokio::sync::Semaphore>, n: usize) -> Vec<OwnedSemaphorePermit> {
    std::iter::from_fn(|| slots.clone().try_acquire_owned().ok()).take(n).collect()
}
