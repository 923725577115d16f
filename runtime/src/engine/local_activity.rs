//! Local activities: run by the workflow step that asked for them, in this
//! process, before the step commits; each end is recorded once, as a
//! `MarkerRecorded` event, in the step's events.
//!
//! An attempt is supervised as a normal activity's is (the same
//! [`supervise`](Inner::supervise), [`AttemptEnd::verdict`] and
//! [`after_failure`]), on a row that exists only here: nothing is written to
//! the store until the step commits. A crash meanwhile commits nothing; the
//! step's inbox items stay, and the step that takes them runs the activity
//! again. While the step runs, the engine's renewal loop keeps its workflow
//! task's lease; a step whose lease was lost anyway cannot commit (the
//! commit is fenced on the lease's token).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::Inner;
use super::activity_task::{AfterFailure, AttemptEnd, Verdict, after_failure};
use crate::activity::AttemptShared;
use crate::history::{EventAttributes, LocalActivityOutcome, Marker};
use crate::store::{ActivityKey, ActivityOutcome, ActivityTask, AttemptLimits, RunRecord};
use crate::workflow::context::LocalActivityRequest;
use crate::workflow::machine::{MachineError, WorkflowMachine};

/// A local activity running in this step.
struct Running {
    /// Drops it (its handle was resolved without it: cancelled, or the workflow closed).
    drop: CancellationToken,
    /// Tells its attempts that its cancellation was requested.
    cancel: watch::Sender<bool>,
}

/// How one local activity ended: its last attempt and its outcome; `None` if it was dropped.
type End = (u32, Option<(u32, ActivityOutcome)>);

impl Inner {
    /// Runs the local activities `machine` asks for (several at once), and
    /// records each one's end as a marker as it comes, then the commands the
    /// workflow issued after it; until none is left to run.
    pub(super) async fn run_local_activities(
        self: &Arc<Self>,
        run: &RunRecord,
        machine: &mut WorkflowMachine,
    ) -> Result<(), MachineError> {
        let mut running: HashMap<u32, Running> = HashMap::new();
        let mut ends: FuturesUnordered<BoxFuture<'static, End>> = FuturesUnordered::new();
        let mut requests: HashMap<u32, LocalActivityRequest> = HashMap::new();
        loop {
            let wanted = machine.local_activities();
            // A handle resolved without its activity (TryCancel, Abandon, or
            // the workflow closed): the attempt is dropped and records nothing.
            running.retain(|seq, r| {
                let keep = wanted.iter().any(|(request, _)| request.seq == *seq);
                if !keep {
                    r.drop.cancel();
                }
                keep
            });
            for (request, cancel_requested) in wanted {
                let seq = request.seq;
                let entry = running.entry(seq).or_insert_with(|| {
                    let drop = CancellationToken::new();
                    let (cancel, rx) = watch::channel(false);
                    let inner = self.clone();
                    let (token, run) = (drop.clone(), run.clone());
                    let request = request.clone();
                    ends.push(Box::pin(async move {
                        tokio::select! {
                            biased;
                            () = token.cancelled() => (seq, None),
                            end = inner.local_activity(&run, request, rx) => (seq, Some(end)),
                        }
                    }));
                    Running { drop, cancel }
                });
                if cancel_requested {
                    entry.cancel.send_replace(true);
                }
                requests.insert(seq, request);
            }
            let Some((seq, end)) = ends.next().await else { return Ok(()) };
            let (Some((attempt, outcome)), Some(_)) = (end, running.remove(&seq)) else { continue };
            let Some(request) = requests.remove(&seq) else { continue };
            let marker = Marker::LocalActivity {
                seq,
                activity_id: request.activity_id,
                activity_type: request.activity_type,
                attempt,
                outcome: marker_outcome(outcome),
            };
            let now = self.clock.now();
            machine.record(now, EventAttributes::MarkerRecorded { marker })?;
            machine.flush(now)?;
        }
    }

    /// Runs one local activity to its end: attempts under its timeouts,
    /// retried under its policy with backoff on the engine's clock.
    async fn local_activity(
        self: &Arc<Self>,
        run: &RunRecord,
        request: LocalActivityRequest,
        mut cancel: watch::Receiver<bool>,
    ) -> (u32, ActivityOutcome) {
        let scheduled_at = self.clock.now();
        let LocalActivityRequest { seq, activity_id, activity_type, input, options } = request;
        let limits = AttemptLimits::of(&options, scheduled_at);
        let mut task = ActivityTask {
            key: ActivityKey { run_id: run.run_id.clone(), seq },
            workflow_id: run.workflow_id.clone(),
            task_queue: run.task_queue.clone(),
            scheduled_event_id: 0,
            activity_id,
            activity_type,
            input,
            options,
            limits,
            scheduled_at,
            attempt: 0,
            running: false,
            ready_at: scheduled_at,
            started_at: None,
            attempt_deadline: None,
            heartbeat_deadline: None,
            expires_at: None,
            lease: None,
            last_failure: None,
            heartbeat_details: None,
            cancel_requested: false,
        };
        let worker_id = self.worker.as_ref().map_or_else(String::new, |w| w.worker_id.clone());
        loop {
            let started = self.clock.now();
            task.start_attempt(&worker_id, 0, started);
            // No row in the store: no lease to fence heartbeat writes on (heartbeats stay here).
            task.lease = None;
            let span = tracing::info_span!(
                "local_activity",
                workflow_id = %task.workflow_id,
                run_id = %task.key.run_id,
                activity_id = %task.activity_id,
                activity_type = %task.activity_type,
                attempt = task.attempt,
            );
            let shared = AttemptShared::new();
            let forward = async {
                cancelled(&mut cancel).await;
                shared.cancel.send_replace(true);
                std::future::pending::<()>().await;
            };
            let (end, details) = tokio::select! {
                ended = self.supervise(&task, started, &shared).instrument(span.clone()) => ended,
                () = forward => unreachable!("`forward` never completes"),
            };
            task.heartbeat_details = details;
            if matches!(end, AttemptEnd::TimedOut(_)) {
                shared.stale.store(true, Ordering::Release);
            }
            let cancel_requested = *shared.cancel.borrow() || *cancel.borrow();
            let (failure, timeout) =
                match span.in_scope(|| end.verdict(task.attempt, cancel_requested, &task.last_failure)) {
                    Verdict::Close(outcome) => return (task.attempt, outcome),
                    Verdict::Failed { failure, timeout } => (failure, timeout),
                };
            match after_failure(&task, failure, timeout, cancel_requested, self.clock.now(), false) {
                AfterFailure::Close(outcome) => return (task.attempt, outcome),
                AfterFailure::Retry { at, failure } => {
                    task.last_failure = Some(failure);
                    tokio::select! {
                        () = tokio::time::sleep_until(self.clock.instant_at(at)) => {}
                        // Cancelled in its backoff: it ends cancelled, as a queued activity does.
                        () = cancelled(&mut cancel) => return (task.attempt, ActivityOutcome::Canceled),
                    }
                }
            }
        }
    }
}

/// Completes when cancellation is requested; never if the sender is gone
/// (the activity is being dropped).
async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The marker's form of a local activity's outcome.
fn marker_outcome(outcome: ActivityOutcome) -> LocalActivityOutcome {
    match outcome {
        ActivityOutcome::Completed { result } => LocalActivityOutcome::Completed { result },
        ActivityOutcome::Failed { failure } => LocalActivityOutcome::Failed { failure },
        ActivityOutcome::TimedOut { timeout_type, last_failure } => {
            LocalActivityOutcome::TimedOut { timeout_type, last_failure }
        }
        ActivityOutcome::Canceled => LocalActivityOutcome::Canceled {},
    }
}
