//! Activity attempts: run a claimed attempt (supervising its timeouts,
//! heartbeats and cancellation), time out an expired one, then close or
//! retry the row — each a store update fenced on the attempt's lease.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

use super::Inner;
use crate::activity::{ActivityContext, ActivityError, ActivityInfo, AttemptShared, TimeoutType};
use crate::history::{Failure, Payload};
use crate::store::{ActivityFence, ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate};
use crate::workflow::machine::panic_message;
use crate::{Error, Result};

/// How one attempt ended.
pub(crate) enum AttemptEnd {
    Returned(Result<Payload, ActivityError>),
    Panicked(String),
    TimedOut(TimeoutType),
}

/// What an attempt's end means for its activity.
pub(crate) enum Verdict {
    /// The activity ends so.
    Close(ActivityOutcome),
    /// The attempt failed (timed out, if `timeout`): retried if the policy allows.
    Failed { failure: Failure, timeout: Option<TimeoutType> },
}

impl AttemptEnd {
    /// What attempt `attempt`'s end means, given whether the activity's
    /// cancellation was requested and the failure of the attempt before.
    pub(crate) fn verdict(self, attempt: u32, cancel_requested: bool, last_failure: &Option<Failure>) -> Verdict {
        match self {
            AttemptEnd::Returned(Ok(result)) => {
                tracing::debug!("attempt completed");
                Verdict::Close(ActivityOutcome::Completed { result })
            }
            AttemptEnd::Returned(Err(_)) if cancel_requested => Verdict::Close(ActivityOutcome::Canceled),
            AttemptEnd::Returned(Err(error)) => {
                tracing::debug!(%error, "attempt failed");
                Verdict::Failed { failure: error.into_failure(), timeout: None }
            }
            AttemptEnd::Panicked(message) => {
                tracing::warn!(%message, "activity panicked");
                Verdict::Failed { failure: Failure::new("Panic", message), timeout: None }
            }
            AttemptEnd::TimedOut(TimeoutType::ScheduleToClose) => Verdict::Close(ActivityOutcome::TimedOut {
                timeout_type: TimeoutType::ScheduleToClose,
                last_failure: last_failure.clone(),
            }),
            AttemptEnd::TimedOut(timeout_type) => {
                tracing::debug!(%timeout_type, "attempt timed out");
                let failure = Failure::new(
                    "TimeoutError",
                    format!("activity attempt {attempt} exceeded its {timeout_type} timeout"),
                );
                Verdict::Failed { failure, timeout: Some(timeout_type) }
            }
        }
    }
}

/// After a failed attempt: the activity closes, or is retried at a time.
pub(crate) enum AfterFailure {
    Close(ActivityOutcome),
    Retry { at: SystemTime, failure: Failure },
}

/// Whether `task`'s failed attempt is retried (and when) or closes the
/// activity: not if the failure is non-retryable (marked, or by the policy's
/// types), the attempts are used up or cancellation was requested; not if
/// the retry would start at or after the schedule-to-close deadline.
pub(crate) fn after_failure(
    task: &ActivityTask,
    failure: Failure,
    timeout: Option<TimeoutType>,
    cancel_requested: bool,
    now: SystemTime,
    at_once: bool,
) -> AfterFailure {
    let policy = task.options.retry();
    let attempt = task.attempt;
    let retryable = !failure.is_non_retryable()
        && policy.is_retryable(failure.error_type())
        && (policy.attempts() == 0 || attempt < policy.attempts())
        && !cancel_requested;
    if !retryable {
        return AfterFailure::Close(match timeout {
            // The timeout type says what ended the attempt; `last_failure` is the attempt before's error.
            Some(timeout_type) => ActivityOutcome::TimedOut { timeout_type, last_failure: task.last_failure.clone() },
            None => ActivityOutcome::Failed { failure },
        });
    }
    let retry_at = if at_once { now } else { now + policy.delay_after(attempt) };
    if let Some(deadline) = task.limits.close_deadline
        && retry_at >= deadline
    {
        return AfterFailure::Close(ActivityOutcome::TimedOut {
            timeout_type: TimeoutType::ScheduleToClose,
            last_failure: Some(failure),
        });
    }
    AfterFailure::Retry { at: retry_at, failure }
}

/// The fence of the lease a claimed row is held under.
fn fence_of(task: &ActivityTask) -> Option<ActivityFence> {
    let lease = task.lease.as_ref()?;
    Some(ActivityFence { key: task.key.clone(), attempt: task.attempt, token: lease.token })
}

impl Inner {
    /// Runs a claimed attempt (started under this worker's lease), holding one activity slot.
    pub(crate) fn run_claimed_activity(self: &Arc<Self>, task: ActivityTask, permit: OwnedSemaphorePermit) {
        if task.cancel_requested {
            self.cancelled.lock().insert(task.key.clone());
        }
        let inner = self.clone();
        self.spawn(async move {
            let key = task.key.clone();
            let result = inner.run_attempt(task).await;
            // The slot is free: work queued for want of one can be claimed now.
            drop(permit);
            inner.poller.slot_freed();
            match result {
                Ok(()) => {}
                Err(Error::StaleTask { .. }) => {
                    tracing::debug!(run_id = %key.run_id, seq = key.seq, "the attempt's lease was lost; its result is discarded");
                }
                Err(error) => {
                    tracing::error!(run_id = %key.run_id, seq = key.seq, error = %crate::ErrorChain(&error), "activity task failed in the store; it is retried when its lease ends")
                }
            }
        });
    }

    /// Times out a row the claim loop found expired: a running attempt past
    /// a deadline (or, on an exclusive store, left running by the previous
    /// process), or a queued row past its schedule-to-start or
    /// schedule-to-close deadline.
    pub(crate) fn time_out_expired(self: &Arc<Self>, task: ActivityTask) {
        if task.cancel_requested {
            self.cancelled.lock().insert(task.key.clone());
        }
        let inner = self.clone();
        self.spawn(async move {
            let now = inner.clock.now();
            let past = |deadline: Option<SystemTime>| deadline.is_some_and(|d| d <= now);
            let result = if past(task.limits.close_deadline) {
                let last_failure = task.last_failure.clone();
                let outcome = ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToClose, last_failure };
                inner.close(&task, outcome).await
            } else if !task.running {
                let last_failure = task.last_failure.clone();
                let outcome = ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToStart, last_failure };
                inner.close(&task, outcome).await
            } else if past(task.heartbeat_deadline) || past(task.attempt_deadline) {
                let timeout_type =
                    if past(task.heartbeat_deadline) { TimeoutType::Heartbeat } else { TimeoutType::StartToClose };
                let failure = Failure::new(
                    "TimeoutError",
                    format!("activity attempt {} exceeded its {timeout_type} timeout", task.attempt),
                );
                inner.retry_or_close(task, failure, Some(timeout_type), None, false).await
            } else {
                // Expired before its deadlines: the process running it is gone.
                let failure =
                    Failure::new("WorkerCrashed", "the process running this attempt exited before it finished");
                inner.retry_or_close(task, failure, Some(TimeoutType::StartToClose), None, true).await
            };
            match result {
                Ok(()) | Err(Error::StaleTask { .. }) => {}
                Err(error) => {
                    tracing::error!(error = %crate::ErrorChain(&error), "could not time out an activity attempt")
                }
            }
        });
    }

    /// Delivers a cancellation request to the activity: to its attempt if
    /// it runs here, by closing it if it is queued. An attempt running in
    /// another process learns of it from its next heartbeat.
    pub(crate) fn cancel_activity(self: &Arc<Self>, key: ActivityKey) {
        self.cancelled.lock().insert(key.clone());
        if let Some(shared) = self.attempts.lock().get(&key) {
            shared.cancel.send_replace(true);
            return;
        }
        let inner = self.clone();
        self.spawn(async move {
            match inner.persist(&key.run_id, || inner.store.cancel_queued_activity(key.clone())).await {
                Ok(true) => {
                    inner.cancelled.lock().remove(&key);
                    inner.wake_run(&key.run_id);
                }
                // An attempt started meanwhile: it saw the mark when it started.
                Ok(false) => {}
                Err(error) => tracing::error!(error = %crate::ErrorChain(&error), "could not cancel an activity"),
            }
        });
    }

    /// The run closed: its running attempts are stale; tell them to stop.
    pub(crate) fn abandon_attempts(&self, run_id: &str) {
        for (key, shared) in self.attempts.lock().iter() {
            if key.run_id == run_id {
                shared.stale.store(true, Ordering::Release);
                shared.cancel.send_replace(true);
            }
        }
        self.cancelled.lock().retain(|k| k.run_id != run_id);
    }

    /// Runs one started attempt to its end, then closes or retries the task.
    async fn run_attempt(self: &Arc<Self>, task: ActivityTask) -> Result<()> {
        let attempt = task.attempt;
        let started = task.started_at.unwrap_or(task.scheduled_at);
        let shared = AttemptShared::new();
        // Registered before the cancellation mark is read: `cancel_activity`
        // marks first and looks here second, so one of the two sees the other.
        self.attempts.lock().insert(task.key.clone(), shared.clone());
        if self.cancelled.lock().contains(&task.key) {
            shared.cancel.send_replace(true);
        }
        let span = tracing::info_span!(
            "activity",
            workflow_id = %task.workflow_id,
            run_id = %task.key.run_id,
            activity_id = %task.activity_id,
            activity_type = %task.activity_type,
            attempt,
        );
        let (end, details) = self.supervise(&task, started, &shared).instrument(span.clone()).await;
        {
            let mut attempts = self.attempts.lock();
            if attempts.get(&task.key).is_some_and(|s| Arc::ptr_eq(s, &shared)) {
                attempts.remove(&task.key);
            }
        }
        let cancel_requested = *shared.cancel.borrow();
        if matches!(end, AttemptEnd::TimedOut(_)) {
            shared.stale.store(true, Ordering::Release);
        }
        // Boxed: what follows an attempt is the larger future, and unboxed it
        // would size the task of every running attempt.
        Box::pin(async {
            match end.verdict(attempt, cancel_requested, &task.last_failure) {
                Verdict::Close(outcome) => self.close(&task, outcome).await,
                Verdict::Failed { failure, timeout } => {
                    self.retry_or_close(task, failure, timeout, details, false).await
                }
            }
        })
        .instrument(span)
        .await
    }

    /// Runs the attempt under its deadlines, watching heartbeats. Returns how
    /// it ended and the last heartbeat details it gave.
    pub(crate) async fn supervise(
        &self,
        task: &ActivityTask,
        started: SystemTime,
        shared: &Arc<AttemptShared>,
    ) -> (AttemptEnd, Option<Payload>) {
        let timeouts = task.options.timeouts();
        // The claim set it (`ActivityTask::start_attempt`, or the store's claim):
        // start-to-close from the start, bounded by schedule-to-close.
        let attempt_deadline = task.attempt_deadline.unwrap_or_else(|| {
            started.checked_add(task.options.attempt_timeout()).unwrap_or(started + crate::activity::MAX_DURATION)
        });
        let (deadline, deadline_type) = match task.limits.close_deadline {
            Some(s2c) if s2c <= attempt_deadline => (s2c, TimeoutType::ScheduleToClose),
            _ => (attempt_deadline, TimeoutType::StartToClose),
        };
        let fence = fence_of(task);
        let deadline = self.clock.instant_at(deadline);
        let mut heartbeat_deadline = timeouts.heartbeat.map(|d| Instant::now() + d);
        let throttle = timeouts
            .heartbeat
            .map_or(self.config.heartbeat_throttle, |d| (d * 4 / 5).min(self.config.heartbeat_throttle));
        let mut last_written: Option<Instant> = None;
        let mut unwritten = false;
        let mut details = task.heartbeat_details.clone();

        let Some(runner) = self.registry.activities.get(task.activity_type.as_str()).cloned() else {
            let error = ActivityError::new(format!(
                "activity type `{}` is not registered with this engine",
                task.activity_type
            ))
            .with_type("ActivityNotRegistered")
            .non_retryable();
            return (AttemptEnd::Returned(Err(error)), details);
        };
        let ctx = ActivityContext {
            info: Arc::new(ActivityInfo {
                workflow_id: task.workflow_id.clone(),
                run_id: task.key.run_id.clone(),
                activity_id: task.activity_id.clone(),
                activity_type: task.activity_type.clone(),
                attempt: task.attempt,
                scheduled_time: task.scheduled_at,
                started_time: started,
                deadline: self.clock.now() + deadline.saturating_duration_since(Instant::now()),
                last_heartbeat_details: task.heartbeat_details.clone(),
                payload_limit: self.config.payload_limit,
            }),
            shared: shared.clone(),
        };
        let mut future = AssertUnwindSafe(runner(ctx, task.input.clone())).catch_unwind();
        // The heartbeat being written, if one is: the write runs beside the
        // attempt, so a slow or unreachable store never stalls the attempt
        // (nor its deadlines).
        let mut writing: Option<futures::future::BoxFuture<'_, crate::Result<bool>>> = None;
        let end = loop {
            // A heartbeat held back by the throttle is written when the throttle
            // ends, beat or no beat: the store's heartbeat deadline (which other
            // workers go by) then never passes before this one's.
            let flush_at = last_written.filter(|_| unwritten && writing.is_none()).map(|at| at + throttle);
            let write_now = tokio::select! {
                biased;
                result = &mut future => break match result {
                    Ok(result) => AttemptEnd::Returned(result),
                    Err(panic) => AttemptEnd::Panicked(panic_message(&*panic)),
                },
                () = sleep_until(deadline) => break AttemptEnd::TimedOut(deadline_type),
                () = sleep_until(heartbeat_deadline.unwrap_or(deadline)), if heartbeat_deadline.is_some() => {
                    break AttemptEnd::TimedOut(TimeoutType::Heartbeat)
                }
                result = async { writing.as_mut().expect("guarded").await }, if writing.is_some() => {
                    writing = None;
                    match result {
                        Ok(cancel_requested) => {
                            if cancel_requested {
                                shared.cancel.send_replace(true);
                            }
                        }
                        Err(Error::StaleTask { .. }) => shared.stale.store(true, Ordering::Release),
                        Err(ref error) => tracing::warn!(error = %crate::ErrorChain(error), "could not record a heartbeat"),
                    }
                    // Not written: tried again when the throttle next ends (or at the attempt's end).
                    unwritten |= result.is_err();
                    false
                }
                () = shared.heartbeat_notify.notified() => {
                    if let Some(timeout) = timeouts.heartbeat {
                        heartbeat_deadline = Some(Instant::now() + timeout);
                    }
                    if let Some(latest) = shared.heartbeat.lock().take() {
                        details = latest;
                        unwritten = true;
                    }
                    unwritten && writing.is_none() && last_written.is_none_or(|at| at.elapsed() >= throttle)
                }
                () = sleep_until(flush_at.unwrap_or(deadline)), if flush_at.is_some() => true,
            };
            if write_now && let Some(fence) = &fence {
                let update = ActivityUpdate::Heartbeat { at: self.clock.now(), details: details.clone() };
                writing = Some(self.store.update_activity(fence.clone(), update));
                last_written = Some(Instant::now());
                unwritten = false;
            }
        };
        // A heartbeat given just before the attempt ended has not been seen yet.
        if let Some(latest) = shared.heartbeat.lock().take() {
            details = latest;
        }
        (end, details)
    }

    /// Retries the failed attempt if the policy and the schedule-to-close
    /// timeout allow, or closes the activity.
    pub(crate) async fn retry_or_close(
        self: &Arc<Self>,
        task: ActivityTask,
        failure: Failure,
        timeout: Option<TimeoutType>,
        details: Option<Payload>,
        at_once: bool,
    ) -> Result<()> {
        let cancel_requested = self.cancelled.lock().contains(&task.key);
        let now = self.clock.now();
        let (retry_at, failure) = match after_failure(&task, failure, timeout, cancel_requested, now, at_once) {
            AfterFailure::Close(outcome) => return self.close(&task, outcome).await,
            AfterFailure::Retry { at, failure } => (at, failure),
        };
        let Some(fence) = fence_of(&task) else { return Ok(()) };
        if retry_at <= now
            && self.runs_activity(&task.task_queue, &task.activity_type)
            && let Ok(permit) = self.activity_slots.clone().try_acquire_owned()
        {
            return self.restart(task, fence, failure, details, permit).await;
        }
        let update =
            || ActivityUpdate::Retry { retry_at, failure: failure.clone(), heartbeat_details: details.clone() };
        self.persist(&task.key.run_id, || self.store.update_activity(fence.clone(), update())).await?;
        // Queued again: claimable from `retry_at` on, here or by another worker.
        self.poller.wake_at(retry_at);
        Ok(())
    }

    /// Retries the failed attempt at once, here, in a free slot: the retry
    /// and the next attempt's start are one write, not a retry queued and a
    /// claim of it (after a crash, every attempt that was running comes
    /// this way).
    async fn restart(
        self: &Arc<Self>,
        mut task: ActivityTask,
        fence: ActivityFence,
        failure: Failure,
        details: Option<Payload>,
        permit: OwnedSemaphorePermit,
    ) -> Result<()> {
        let worker_id = self.worker.as_ref().map_or_else(String::new, |w| w.worker_id.clone());
        let next = task.start_attempt(&worker_id, crate::store::new_token(), self.clock.now());
        let update = || ActivityUpdate::Restart {
            failure: failure.clone(),
            heartbeat_details: details.clone(),
            next: next.clone(),
        };
        let written = self.persist(&task.key.run_id, || self.store.update_activity(fence.clone(), update())).await;
        let cancel_requested = match written {
            Ok(cancel_requested) => cancel_requested,
            Err(error) => {
                drop(permit);
                self.poller.slot_freed();
                return Err(error);
            }
        };
        task.cancel_requested |= cancel_requested;
        task.last_failure = Some(failure);
        if details.is_some() {
            task.heartbeat_details = details;
        }
        self.run_claimed_activity(task, permit);
        Ok(())
    }

    /// Closes the activity (fenced on its attempt) and wakes the workflow;
    /// a close the store refuses for a transient reason is tried again.
    async fn close(self: &Arc<Self>, task: &ActivityTask, outcome: ActivityOutcome) -> Result<()> {
        let Some(fence) = fence_of(task) else { return Ok(()) };
        self.persist(&task.key.run_id, || self.close_once(task, &fence, &outcome)).await
    }

    /// One try of [`close`](Self::close). The outcome is borrowed: the
    /// common path (the close committed with its step) copies no payload;
    /// only the inbox path, which the store keeps, takes a copy.
    async fn close_once(
        self: &Arc<Self>,
        task: &ActivityTask,
        fence: &ActivityFence,
        outcome: &ActivityOutcome,
    ) -> Result<()> {
        if self.close_with_step(task, fence, outcome).await? {
            self.cancelled.lock().remove(&task.key);
            return Ok(());
        }
        let update = ActivityUpdate::Close { last_failure: task.last_failure.clone(), outcome: outcome.clone() };
        match self.store.update_activity(fence.clone(), update).await {
            Ok(_) => {
                self.cancelled.lock().remove(&task.key);
                self.wake_run(&task.key.run_id);
                Ok(())
            }
            Err(Error::StaleTask { .. }) => {
                tracing::debug!(run_id = %task.key.run_id, seq = task.key.seq, attempt = task.attempt, "stale activity result discarded");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// A run got an inbox item from this process: step it here if this
    /// process is on it (it is cached here, or a step of it is under way),
    /// else let the claim loop (here, or in the process that runs it) find it.
    pub(crate) fn wake_run(self: &Arc<Self>, run_id: &str) {
        let here =
            self.busy.lock().contains_key(run_id) || self.cache.lock().as_ref().is_some_and(|c| c.contains(run_id));
        if here {
            self.schedule_workflow_task(run_id.to_owned());
        } else {
            self.poller.wake();
        }
    }
}
