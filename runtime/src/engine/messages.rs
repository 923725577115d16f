//! Messages into runs, on the engine's side: queries answered from the
//! cache or by replay, update callers waiting for their outcome.
//!
//! Signals and update requests travel through the run's inbox like any
//! other fact (the next step records them); nothing here writes history.

use std::sync::Arc;

use tokio::sync::watch;

use super::Inner;
use super::workflow_task::info_of;
use crate::history::Payload;
use crate::query::{self, UpdateRequest};
use crate::store::{ReplyBody, RunRecord};
use crate::workflow::machine::{MachineError, WorkflowMachine};
use crate::workflow::messages::QueryError;
use crate::{Error, Result};

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
            None => self.replayed(run, name).await?.query(name, input, limit),
        };
        query::answered(run, name, reply_to_query(answer))
    }

    /// A machine rebuilt from `run`'s whole history, for query `name`.
    async fn replayed(&self, run: &RunRecord, name: &str) -> Result<WorkflowMachine> {
        let factory = self
            .registry
            .workflows
            .get(run.workflow_type.as_str())
            .ok_or_else(|| Error::UnknownWorkflowType { workflow_type: run.workflow_type.clone() })?;
        let history = self.store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await?;
        if history.is_empty() {
            return Err(query::query_failed(
                run,
                name,
                "the run has not started yet: its first workflow task has not run".into(),
            ));
        }
        let mut machine = WorkflowMachine::new(factory.clone(), info_of(run), self.config.payload_limit);
        match machine.replay(&history) {
            Ok(()) => Ok(machine),
            Err(MachineError::Stalled) => Ok(machine),
            Err(error) => Err(query::query_failed(run, name, format!("the run's history does not replay: {error}"))),
        }
    }

    /// Sends an update to `run` and waits for its outcome (see [`query::update`]).
    pub(crate) async fn update(self: &Arc<Self>, run: &RunRecord, request: UpdateRequest) -> Result<Payload> {
        // On an exclusive store every step of the run is this process's: it
        // says when one commits, and nothing is polled.
        let steps = self.store.exclusive().then(|| self.watch_steps(&run.run_id));
        query::update(&*self.store, run, request, steps, || self.wake_run(&run.run_id)).await
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

/// A query's outcome as a reply: what a step writes for a caller in another
/// process, and what [`query::answered`] turns into the caller's result.
pub(crate) fn reply_to_query(answer: Result<Payload, QueryError>) -> ReplyBody {
    let reason = match answer {
        Ok(answer) => return ReplyBody::QueryAnswered { answer },
        Err(QueryError::Unknown) => return ReplyBody::QueryFailed { unknown: true, reason: String::new() },
        Err(QueryError::Payload(e)) => format!("payload rejected: {e}"),
        Err(QueryError::Panic(message)) => format!("the handler panicked: {message}"),
    };
    ReplyBody::QueryFailed { unknown: false, reason }
}
