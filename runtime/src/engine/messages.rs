//! Messages into runs, on the engine's side: queries answered from the
//! cache or by replay, update callers waiting for their outcome.
//!
//! Signals and update requests travel through the run's inbox like any
//! other fact (the next step records them); nothing here writes history.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Inner;
use super::workflow_task::info_of;
use crate::history::{EventAttributes, Failure, HistoryEvent, Payload, UpdateOutcome};
use crate::store::{InboxItem, RunRecord, RunStatus};
use crate::workflow::machine::{MachineError, WorkflowMachine};
use crate::workflow::messages::{QueryError, UNKNOWN_UPDATE};
use crate::{Error, Result};

/// How often a caller waiting on a run that another process may step reads
/// the store again, at first and at most.
const POLL_MIN: Duration = Duration::from_millis(2);
const POLL_MAX: Duration = Duration::from_millis(200);

/// An update request, as the client sends it.
pub(crate) struct UpdateRequest {
    pub(crate) update_id: String,
    pub(crate) update_name: String,
    pub(crate) input: Payload,
}

impl Inner {
    /// Answers query `name` of `run`: from its cached workflow when this
    /// process has it between steps, else by replaying its history (a
    /// closed run's too). Writes nothing.
    pub(crate) async fn query(&self, run: &RunRecord, name: &str, input: &Payload) -> Result<Payload> {
        let limit = self.config.payload_limit;
        let cached = self.cache.lock().as_mut().and_then(|c| {
            c.peek(&run.run_id).filter(|m| m.next_event_id() == run.next_event_id).map(|m| m.query(name, input, limit))
        });
        let answer = match cached {
            Some(answer) => answer,
            None => self.replayed(run).await?.query(name, input, limit),
        };
        answer.map_err(|error| match error {
            QueryError::Unknown => Error::UnknownQuery {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
                query_name: name.to_owned(),
            },
            QueryError::Payload(e) => query_failed(run, name, format!("payload rejected: {e}")),
            QueryError::Panic(message) => query_failed(run, name, format!("the handler panicked: {message}")),
        })
    }

    /// A machine rebuilt from `run`'s whole history, for a query.
    async fn replayed(&self, run: &RunRecord) -> Result<WorkflowMachine> {
        let factory = self
            .registry
            .workflows
            .get(run.workflow_type.as_str())
            .ok_or_else(|| Error::UnknownWorkflowType { workflow_type: run.workflow_type.clone() })?;
        let history = self.store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await?;
        let mut machine = WorkflowMachine::new(factory.clone(), info_of(run), self.config.payload_limit);
        match machine.replay(&history) {
            Ok(()) => Ok(machine),
            Err(MachineError::Stalled) => Ok(machine),
            Err(error) => Err(query_failed(run, "", format!("the run's history does not replay: {error}"))),
        }
    }

    /// Sends an update to `run` and waits for its outcome: the handler's
    /// result, its error, or the rejection. An update id the run accepted
    /// before is not sent again: its first outcome is returned.
    pub(crate) async fn update(self: &Arc<Self>, run: &RunRecord, request: UpdateRequest) -> Result<Payload> {
        let UpdateRequest { update_id, update_name, input } = request;
        let (workflow_id, run_id) = (run.workflow_id.clone(), run.run_id.clone());
        let mut steps = self.watch_steps(&run_id);
        let mut history = self.store.history(run_id.clone(), workflow_id.clone(), 0).await?;
        let mut seen = history.len() as u64;
        let not_running =
            |status| Error::NotRunning { workflow_id: workflow_id.clone(), run_id: run_id.clone(), status };
        if let Some(outcome) = completed(&history, &update_id) {
            return self.outcome(run, &update_id, outcome);
        }
        if let Some(status) = closed(&history) {
            return Err(not_running(status));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let item = InboxItem::Update {
            update_id: update_id.clone(),
            update_name: update_name.clone(),
            input,
            request_id: request_id.clone(),
        };
        if !self.store.add_to_inbox(run_id.clone(), item).await? {
            let status = self.store.run(run_id.clone()).await?.map_or(RunStatus::Terminated, |r| r.status);
            return Err(not_running(status));
        }
        self.wake_run(&run_id);
        let mut poll = POLL_MIN;
        loop {
            if self.store.exclusive() {
                // Every step of the run is this process's: it says when one commits.
                if steps.changed().await.is_err() {
                    return Err(Error::Shutdown);
                }
            } else {
                let _ = tokio::time::timeout(poll, steps.changed()).await;
                poll = (poll * 2).min(POLL_MAX);
            }
            if self.is_stopped() {
                return Err(Error::Shutdown);
            }
            history = self.store.history(run_id.clone(), workflow_id.clone(), seen).await?;
            seen += history.len() as u64;
            if let Some(outcome) = completed(&history, &update_id) {
                return self.outcome(run, &update_id, outcome);
            }
            if let Some(failure) = self.store.update_rejection(run_id.clone(), request_id.clone()).await? {
                return Err(rejected(run, &update_id, &update_name, failure));
            }
            if let Some(status) = closed(&history) {
                return Err(not_running(status));
            }
        }
    }

    fn outcome(&self, run: &RunRecord, update_id: &str, outcome: UpdateOutcome) -> Result<Payload> {
        match outcome {
            UpdateOutcome::Completed { result } => Ok(result),
            UpdateOutcome::Failed { failure } => Err(Error::UpdateFailed {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
                update_id: update_id.to_owned(),
                failure,
            }),
        }
    }

    /// Changes whenever a step of `run_id` commits in this process.
    pub(crate) fn watch_steps(&self, run_id: &str) -> watch::Receiver<()> {
        let mut watched = self.stepped.lock();
        watched.retain(|_, tx| tx.receiver_count() > 0);
        watched.entry(run_id.to_owned()).or_insert_with(|| watch::channel(()).0).subscribe()
    }

    /// A step of `run_id` committed (or the run closed).
    pub(crate) fn notify_stepped(&self, run_id: &str) {
        let watched = self.stepped.lock();
        if let Some(tx) = watched.get(run_id) {
            tx.send_replace(());
        }
    }
}

fn query_failed(run: &RunRecord, name: &str, reason: String) -> Error {
    Error::QueryFailed {
        workflow_id: run.workflow_id.clone(),
        run_id: run.run_id.clone(),
        query_name: name.to_owned(),
        reason,
    }
}

fn rejected(run: &RunRecord, update_id: &str, update_name: &str, failure: Failure) -> Error {
    if failure.error_type() == UNKNOWN_UPDATE {
        return Error::UnknownUpdate {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            update_name: update_name.to_owned(),
        };
    }
    Error::UpdateRejected {
        workflow_id: run.workflow_id.clone(),
        run_id: run.run_id.clone(),
        update_id: update_id.to_owned(),
        failure,
    }
}

/// The outcome `events` record for update `update_id`, if they do.
fn completed(events: &[HistoryEvent], update_id: &str) -> Option<UpdateOutcome> {
    events.iter().find_map(|e| match &e.attributes {
        EventAttributes::WorkflowExecutionUpdateCompleted { update_id: id, outcome, .. } if id == update_id => {
            Some(outcome.clone())
        }
        _ => None,
    })
}

/// How the run closed, if `events` hold its close.
fn closed(events: &[HistoryEvent]) -> Option<RunStatus> {
    events.last().and_then(|e| RunStatus::after(&e.attributes))
}
