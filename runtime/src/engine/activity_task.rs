//! Activity attempts: start, supervise (timeouts, heartbeats, cancellation),
//! then close or retry — each step a fenced store update.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

use super::Inner;
use super::timers::TimerAction;
use crate::activity::{ActivityContext, ActivityError, ActivityInfo, AttemptShared, TimeoutType};
use crate::history::{Failure, Payload};
use crate::store::{ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate};
use crate::workflow::machine::panic_message;

/// How one attempt ended.
enum AttemptEnd {
    Returned(Result<Payload, ActivityError>),
    Panicked(String),
    TimedOut(TimeoutType),
}

impl Inner {
    /// Starts the task's next attempt now, or when its backoff ends.
    pub(crate) fn start_activity(self: &Arc<Self>, task: ActivityTask) {
        if let Some(at) = task.retry_at
            && at > self.clock.now()
        {
            self.timers.push(self.clock.instant_at(at), TimerAction::Retry(Box::new(task)));
            return;
        }
        let inner = self.clone();
        self.spawn(async move {
            let key = task.key.clone();
            if let Err(error) = inner.run_activity(task).await {
                tracing::error!(run_id = %key.run_id, seq = key.seq, error = %crate::ErrorChain(&error), "activity task failed in the store; it is retried at restart");
            }
        });
    }

    /// An activity found in the store at start. An attempt marked running
    /// died with the previous process: it counts as a failed attempt and is
    /// retried at once (not after its start-to-close timeout).
    pub(crate) fn recover_activity(self: &Arc<Self>, mut task: ActivityTask) {
        if task.cancel_requested {
            self.cancelled.lock().insert(task.key.clone());
        }
        if !task.running {
            return self.start_activity(task);
        }
        let inner = self.clone();
        self.spawn(async move {
            let failure = Failure::new("WorkerCrashed", "the process running this attempt exited before it finished");
            task.retry_at = None;
            if let Err(error) = inner.retry_or_close(task, failure, Some(TimeoutType::StartToClose), None, true).await {
                tracing::error!(error = %crate::ErrorChain(&error), "could not recover an activity attempt");
            }
        });
    }

    /// Delivers a cancellation request to the activity (or closes it if no attempt runs).
    pub(crate) fn cancel_activity(self: &Arc<Self>, key: ActivityKey) {
        self.cancelled.lock().insert(key.clone());
        if let Some(shared) = self.attempts.lock().get(&key) {
            shared.cancel.send_replace(true);
            return;
        }
        let inner = self.clone();
        self.spawn(async move {
            match inner
                .persist(&key.run_id, || inner.store.update_activity(key.clone(), ActivityUpdate::CancelIdle))
                .await
            {
                Ok(true) => {
                    inner.cancelled.lock().remove(&key);
                    inner.schedule_workflow_task(key.run_id);
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

    async fn run_activity(self: &Arc<Self>, mut task: ActivityTask) -> crate::Result<()> {
        let timeouts = task.options.timeouts();
        let now = self.clock.now();
        if let Some(deadline) = schedule_to_close_deadline(&task)
            && now >= deadline
        {
            let last_failure = task.last_failure.clone();
            return self
                .close(&task, ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToClose, last_failure })
                .await;
        }
        // Wait for a free slot; the schedule-to-start timeout bounds the wait.
        let slots = self.activity_slots.clone();
        let permit = match timeouts.schedule_to_start {
            Some(limit) => {
                let queued_at = task.retry_at.unwrap_or(task.scheduled_at);
                let deadline = self.clock.instant_at(queued_at + limit);
                match tokio::time::timeout_at(deadline, slots.acquire_owned()).await {
                    Ok(permit) => permit,
                    Err(_) => {
                        let last_failure = task.last_failure.clone();
                        let outcome =
                            ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToStart, last_failure };
                        return self.close(&task, outcome).await;
                    }
                }
            }
            None => slots.acquire_owned().await,
        };
        let Ok(permit) = permit else { return Ok(()) };
        let attempt = task.attempt + 1;
        let started = self.clock.now();
        let start = || self.store.update_activity(task.key.clone(), ActivityUpdate::Start { attempt, at: started });
        if !self.persist(&task.key.run_id, start).await? {
            return Ok(()); // Closed meanwhile (cancelled, or the run ended).
        }
        task.attempt = attempt;
        task.running = true;
        task.retry_at = None;
        self.run_attempt(task, started, permit).await
    }

    /// Runs a first attempt that the step scheduling it already recorded as
    /// started (see `WorkflowTaskCommit::eager_starts`), holding its slot.
    pub(crate) fn start_eager(self: &Arc<Self>, mut task: ActivityTask, permit: OwnedSemaphorePermit) {
        task.attempt = 1;
        task.running = true;
        let started = task.scheduled_at;
        let inner = self.clone();
        self.spawn(async move {
            let key = task.key.clone();
            if let Err(error) = inner.run_attempt(task, started, permit).await {
                tracing::error!(run_id = %key.run_id, seq = key.seq, error = %crate::ErrorChain(&error), "activity task failed in the store; it is retried at restart");
            }
        });
    }

    /// Runs one started attempt to its end, then closes or retries the task.
    async fn run_attempt(
        self: &Arc<Self>,
        task: ActivityTask,
        started: SystemTime,
        _permit: OwnedSemaphorePermit,
    ) -> crate::Result<()> {
        let attempt = task.attempt;
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
        async {
            match end {
                AttemptEnd::Returned(Ok(result)) => {
                    tracing::debug!("attempt completed");
                    self.close(&task, ActivityOutcome::Completed { result }).await
                }
                AttemptEnd::Returned(Err(_)) if cancel_requested => self.close(&task, ActivityOutcome::Canceled).await,
                AttemptEnd::Returned(Err(error)) => {
                    tracing::debug!(%error, "attempt failed");
                    self.retry_or_close(task, error.into_failure(), None, details, false).await
                }
                AttemptEnd::Panicked(message) => {
                    tracing::warn!(%message, "activity panicked");
                    self.retry_or_close(task, Failure::new("Panic", message), None, details, false).await
                }
                AttemptEnd::TimedOut(TimeoutType::ScheduleToClose) => {
                    shared.stale.store(true, Ordering::Release);
                    let last_failure = task.last_failure.clone();
                    self.close(
                        &task,
                        ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToClose, last_failure },
                    )
                    .await
                }
                AttemptEnd::TimedOut(timeout_type) => {
                    shared.stale.store(true, Ordering::Release);
                    tracing::debug!(%timeout_type, "attempt timed out");
                    let failure = Failure::new(
                        "TimeoutError",
                        format!("activity attempt {attempt} exceeded its {timeout_type} timeout"),
                    );
                    self.retry_or_close(task, failure, Some(timeout_type), details, false).await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Runs the attempt under its deadlines, watching heartbeats. Returns how
    /// it ended and the last heartbeat details it gave.
    async fn supervise(
        &self,
        task: &ActivityTask,
        started: SystemTime,
        shared: &Arc<AttemptShared>,
    ) -> (AttemptEnd, Option<Payload>) {
        let timeouts = task.options.timeouts();
        let attempt_deadline = started + task.options.attempt_timeout();
        let (deadline, deadline_type) = match schedule_to_close_deadline(task) {
            Some(s2c) if s2c <= attempt_deadline => (s2c, TimeoutType::ScheduleToClose),
            _ => (attempt_deadline, TimeoutType::StartToClose),
        };
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
        let end = loop {
            tokio::select! {
                biased;
                result = &mut future => break match result {
                    Ok(result) => AttemptEnd::Returned(result),
                    Err(panic) => AttemptEnd::Panicked(panic_message(&*panic)),
                },
                () = sleep_until(deadline) => break AttemptEnd::TimedOut(deadline_type),
                () = sleep_until(heartbeat_deadline.unwrap_or(deadline)), if heartbeat_deadline.is_some() => {
                    break AttemptEnd::TimedOut(TimeoutType::Heartbeat)
                }
                () = shared.heartbeat_notify.notified() => {
                    if let Some(timeout) = timeouts.heartbeat {
                        heartbeat_deadline = Some(Instant::now() + timeout);
                    }
                    if let Some(latest) = shared.heartbeat.lock().take() {
                        details = latest;
                        unwritten = true;
                    }
                    if unwritten && last_written.is_none_or(|at| at.elapsed() >= throttle) {
                        let update = ActivityUpdate::Heartbeat { attempt: task.attempt, details: details.clone() };
                        let result = self.store.update_activity(task.key.clone(), update).await;
                        let written = result.is_ok();
                        match result {
                            Ok(true) => {}
                            Ok(false) => shared.stale.store(true, Ordering::Release),
                            Err(error) => tracing::warn!(error = %crate::ErrorChain(&error), "could not record a heartbeat"),
                        }
                        last_written = Some(Instant::now());
                        // Not written: the next heartbeat (or the attempt's end) writes it.
                        unwritten = !written;
                    }
                }
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
        mut task: ActivityTask,
        failure: Failure,
        timeout: Option<TimeoutType>,
        details: Option<Payload>,
        at_once: bool,
    ) -> crate::Result<()> {
        let policy = task.options.retry();
        let attempt = task.attempt;
        let retryable = !failure.is_non_retryable()
            && policy.is_retryable(failure.error_type())
            && (policy.attempts() == 0 || attempt < policy.attempts())
            && !self.cancelled.lock().contains(&task.key);
        if !retryable {
            let outcome = match timeout {
                // The timeout type says what ended the attempt; `last_failure` is the attempt before's error.
                Some(timeout_type) => {
                    ActivityOutcome::TimedOut { timeout_type, last_failure: task.last_failure.clone() }
                }
                None => ActivityOutcome::Failed { failure },
            };
            return self.close(&task, outcome).await;
        }
        let now = self.clock.now();
        let retry_at = if at_once { now } else { now + policy.delay_after(attempt) };
        if let Some(deadline) = schedule_to_close_deadline(&task)
            && retry_at >= deadline
        {
            let outcome =
                ActivityOutcome::TimedOut { timeout_type: TimeoutType::ScheduleToClose, last_failure: Some(failure) };
            return self.close(&task, outcome).await;
        }
        let update = || ActivityUpdate::Retry {
            attempt,
            retry_at,
            failure: failure.clone(),
            heartbeat_details: details.clone(),
        };
        if !self.persist(&task.key.run_id, || self.store.update_activity(task.key.clone(), update())).await? {
            return Ok(());
        }
        task.running = false;
        task.retry_at = Some(retry_at);
        task.last_failure = Some(failure);
        if details.is_some() {
            task.heartbeat_details = details;
        }
        self.start_activity(task);
        Ok(())
    }

    /// Closes the activity (fenced on its attempt) and wakes the workflow;
    /// a close the store refuses for a transient reason is tried again.
    async fn close(self: &Arc<Self>, task: &ActivityTask, outcome: ActivityOutcome) -> crate::Result<()> {
        self.persist(&task.key.run_id, || self.close_once(task, &outcome)).await
    }

    /// One try of [`close`](Self::close). The outcome is borrowed: the
    /// common path (the close committed with its step) copies no payload;
    /// only the inbox path, which the store keeps, takes a copy.
    async fn close_once(self: &Arc<Self>, task: &ActivityTask, outcome: &ActivityOutcome) -> crate::Result<()> {
        if self.close_with_step(task, outcome).await? {
            self.cancelled.lock().remove(&task.key);
            return Ok(());
        }
        let update = ActivityUpdate::Close {
            attempt: task.attempt,
            last_failure: task.last_failure.clone(),
            outcome: outcome.clone(),
        };
        if self.store.update_activity(task.key.clone(), update).await? {
            self.cancelled.lock().remove(&task.key);
            self.schedule_workflow_task(task.key.run_id.clone());
        } else {
            tracing::debug!(run_id = %task.key.run_id, seq = task.key.seq, attempt = task.attempt, "stale activity result discarded");
        }
        Ok(())
    }
}

fn schedule_to_close_deadline(task: &ActivityTask) -> Option<SystemTime> {
    task.options.timeouts().schedule_to_close.map(|d| task.scheduled_at + d)
}
