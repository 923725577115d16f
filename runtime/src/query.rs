//! Queries on runs and their histories, shared by the [`Client`](crate::Client)
//! (inside an engine) and the [`Inspector`](crate::inspect::Inspector) (a store
//! opened from outside, by the `weft` command).

use std::time::Duration;

use tokio::sync::watch;

use crate::description::{Lineage, WorkerDescription, WorkflowDescription};
use crate::history::{EventAttributes, Failure, HistoryEvent, Payload, UpdateOutcome};
use crate::list::{ListFilter, PageToken, WorkflowCounts, WorkflowPage};
use crate::store::{InboxItem, ReplyBody, RunFilter, RunRecord, RunStatus, Store};
use crate::workflow::messages::UNKNOWN_UPDATE;
use crate::{Error, Result};

/// How often a caller waiting on a run that another process steps reads
/// the store again, at first and at most.
const POLL_MIN: Duration = Duration::from_millis(2);
const POLL_MAX: Duration = Duration::from_millis(200);

/// A workflow id that cannot name a run, refused before the store is asked.
fn check_id(workflow_id: &str) -> Result<()> {
    match crate::workflow::workflow_id_problem(workflow_id) {
        Some(reason) => Err(Error::InvalidWorkflowId { workflow_id: workflow_id.to_owned(), reason }),
        None => Ok(()),
    }
}

pub(crate) async fn latest_run(store: &dyn Store, workflow_id: &str) -> Result<RunRecord> {
    check_id(workflow_id)?;
    store
        .latest_run(workflow_id.to_owned())
        .await?
        .ok_or_else(|| Error::WorkflowNotFound { workflow_id: workflow_id.to_owned() })
}

/// Run `run_id` of `workflow_id`; [`Error::RunNotFound`] if the store has no such run.
pub(crate) async fn run_of(store: &dyn Store, workflow_id: &str, run_id: &str) -> Result<RunRecord> {
    check_id(workflow_id)?;
    match store.run(run_id.to_owned()).await? {
        Some(run) if run.workflow_id == workflow_id => Ok(run),
        _ => Err(Error::RunNotFound { workflow_id: workflow_id.to_owned(), run_id: run_id.to_owned() }),
    }
}

pub(crate) async fn history(store: &dyn Store, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
    let run = latest_run(store, workflow_id).await?;
    store.history(run.run_id, run.workflow_id, 0).await
}

pub(crate) async fn list(store: &dyn Store, filter: ListFilter) -> Result<Vec<WorkflowDescription>> {
    Ok(list_page(store, filter).await?.workflows)
}

/// A page of runs: one more than asked for is read, to know whether another page follows.
pub(crate) async fn list_page(store: &dyn Store, filter: ListFilter) -> Result<WorkflowPage> {
    let limit = filter.limit;
    let mut filter = run_filter(filter);
    filter.limit = limit.map(|l| l.saturating_add(1));
    let mut runs = store.list_runs(filter).await?;
    let next_page_token = match limit {
        Some(limit) if runs.len() > limit => {
            runs.truncate(limit);
            runs.last().map(|r| PageToken(r.position))
        }
        _ => None,
    };
    let workflows =
        runs.into_iter().map(|r| WorkflowDescription::new(r.run, Vec::new(), Vec::new(), Lineage::default())).collect();
    Ok(WorkflowPage { workflows, next_page_token })
}

/// Runs by status, of `filter`'s type and id prefix.
pub(crate) async fn count(store: &dyn Store, filter: ListFilter) -> Result<WorkflowCounts> {
    let counts = store.count_runs(run_filter(filter)).await?;
    let mut by_status = counts.by_status;
    by_status.sort_by_key(|(status, _)| RunStatus::ALL.iter().position(|s| s == status));
    Ok(WorkflowCounts { by_status, held: counts.held })
}

fn run_filter(filter: ListFilter) -> RunFilter {
    RunFilter {
        status: filter.status,
        workflow_type: filter.workflow_type,
        workflow_id_prefix: filter.workflow_id_prefix,
        after: filter.page_token.map(|t| t.0),
        limit: filter.limit,
    }
}

pub(crate) async fn describe(store: &dyn Store, workflow_id: &str) -> Result<WorkflowDescription> {
    describe_run(store, latest_run(store, workflow_id).await?).await
}

pub(crate) async fn describe_run(store: &dyn Store, run: RunRecord) -> Result<WorkflowDescription> {
    let (activities, timers) = store.pending(run.run_id.clone()).await?;
    // A damaged history hides the run's family, not its status (which says why it is held).
    let lineage = match store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await {
        Ok(history) => Lineage::of(&history),
        Err(Error::CorruptHistory { .. }) => Lineage::default(),
        Err(e) => return Err(e),
    };
    Ok(WorkflowDescription::new(run, activities, timers, lineage))
}

/// The workers registered with the store, live and gone.
pub(crate) async fn workers(store: &dyn Store) -> Result<Vec<WorkerDescription>> {
    Ok(store.list_workers().await?.into_iter().map(WorkerDescription::new).collect())
}

/// Puts `item` in the inbox of the open run of `workflow_id`; returns that run's id.
pub(crate) async fn deliver(store: &dyn Store, workflow_id: &str, item: InboxItem) -> Result<String> {
    let run = latest_run(store, workflow_id).await?;
    if run.status != RunStatus::Running || !store.add_to_inbox(run.run_id.clone(), item).await? {
        return Err(Error::NotRunning { workflow_id: run.workflow_id, run_id: run.run_id, status: run.status });
    }
    Ok(run.run_id)
}

/// Puts a signal in the open run `run`'s inbox; [`Error::NotRunning`] if it closed.
pub(crate) async fn signal(store: &dyn Store, run: &RunRecord, signal_name: &str, input: Payload) -> Result<()> {
    let item = InboxItem::Signal { signal_name: signal_name.to_owned(), input };
    if !store.add_to_inbox(run.run_id.clone(), item).await? {
        return Err(not_running(store, run).await);
    }
    Ok(())
}

async fn not_running(store: &dyn Store, run: &RunRecord) -> Error {
    match store.run(run.run_id.clone()).await {
        Ok(now) => Error::NotRunning {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            status: now.map_or(RunStatus::Terminated, |r| r.status),
        },
        Err(error) => error,
    }
}

/// An update request, as a caller sends it.
pub(crate) struct UpdateRequest {
    /// The caller's id, or a fresh one (`None`): only a caller's id can
    /// have been accepted before, so only it is looked for in the history.
    pub(crate) update_id: Option<String>,
    pub(crate) update_name: String,
    pub(crate) input: Payload,
}

/// Waits for a run's next step: on `steps` (this process steps the run and
/// says when), else by reading the store again, less often as time goes on.
struct StepWait {
    steps: Option<watch::Receiver<()>>,
    poll: Duration,
}

impl StepWait {
    async fn next(&mut self) -> Result<()> {
        match &mut self.steps {
            Some(steps) => steps.changed().await.map_err(|_| Error::Shutdown),
            None => {
                tokio::time::sleep(self.poll).await;
                self.poll = (self.poll * 2).min(POLL_MAX);
                Ok(())
            }
        }
    }
}

/// Sends an update to `run` and waits for its outcome: the handler's
/// result, its error, or the rejection. An update id the run accepted
/// before is not sent again: its first outcome is returned, closed run or
/// not. `wake` tells the run's worker, if this process has it, of the request.
pub(crate) async fn update(
    store: &dyn Store,
    run: &RunRecord,
    request: UpdateRequest,
    steps: Option<watch::Receiver<()>>,
    wake: impl FnOnce(),
) -> Result<Payload> {
    let UpdateRequest { update_id, update_name, input } = request;
    let mut wait = StepWait { steps, poll: POLL_MIN };
    let mut seen = run.next_event_id.saturating_sub(1);
    let update_id = match update_id {
        Some(update_id) => {
            let history = store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await?;
            seen = history.len() as u64;
            if let Some(outcome) = completed(&history, &update_id) {
                return update_outcome(run, &update_id, outcome);
            }
            update_id
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    if run.status != RunStatus::Running {
        return Err(not_running(store, run).await);
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let item = InboxItem::Update {
        update_id: update_id.clone(),
        update_name: update_name.clone(),
        input,
        request_id: request_id.clone(),
    };
    if !store.add_to_inbox(run.run_id.clone(), item).await? {
        return Err(not_running(store, run).await);
    }
    wake();
    loop {
        wait.next().await?;
        let history = store.history(run.run_id.clone(), run.workflow_id.clone(), seen).await?;
        seen += history.len() as u64;
        if let Some(outcome) = completed(&history, &update_id) {
            return update_outcome(run, &update_id, outcome);
        }
        if let Some(ReplyBody::UpdateRejected { failure }) = store.reply(run.run_id.clone(), request_id.clone()).await?
        {
            return Err(rejected(run, &update_id, &update_name, failure));
        }
        if let Some(status) = closed(&history) {
            return Err(Error::NotRunning { workflow_id: run.workflow_id.clone(), run_id: run.run_id.clone(), status });
        }
    }
}

/// Asks the open run `run` a query through its inbox, for a process without
/// the workflow's code (the `weft` command): the run's worker answers with
/// its next step, which records nothing.
pub(crate) async fn ask(store: &dyn Store, run: &RunRecord, query_name: &str, input: Payload) -> Result<Payload> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let item = InboxItem::Query { query_name: query_name.to_owned(), input, request_id: request_id.clone() };
    if !store.add_to_inbox(run.run_id.clone(), item).await? {
        return Err(not_running(store, run).await);
    }
    let mut wait = StepWait { steps: None, poll: POLL_MIN };
    loop {
        wait.next().await?;
        if let Some(reply) = store.reply(run.run_id.clone(), request_id.clone()).await? {
            return answered(run, query_name, reply);
        }
        if let Some(now) = store.run(run.run_id.clone()).await?
            && now.status != RunStatus::Running
        {
            return Err(Error::NotRunning {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
                status: now.status,
            });
        }
    }
}

/// What a query's reply (a step's, or one made in this process) gives its caller.
pub(crate) fn answered(run: &RunRecord, query_name: &str, reply: ReplyBody) -> Result<Payload> {
    match reply {
        ReplyBody::QueryAnswered { answer } => Ok(answer),
        ReplyBody::QueryFailed { unknown: true, .. } => Err(Error::UnknownQuery {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            query_name: query_name.to_owned(),
        }),
        ReplyBody::QueryFailed { reason, .. } => Err(query_failed(run, query_name, reason)),
        ReplyBody::UpdateRejected { .. } => Err(query_failed(run, query_name, "the reply is not a query's".into())),
    }
}

pub(crate) fn query_failed(run: &RunRecord, query_name: &str, reason: String) -> Error {
    Error::QueryFailed {
        workflow_id: run.workflow_id.clone(),
        run_id: run.run_id.clone(),
        query_name: query_name.to_owned(),
        reason,
    }
}

fn update_outcome(run: &RunRecord, update_id: &str, outcome: UpdateOutcome) -> Result<Payload> {
    match outcome {
        UpdateOutcome::Completed { result } => Ok(result),
        UpdateOutcome::Failed { failure } => Err(Error::UpdateFailed {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            update_id: update_id.to_owned(),
            failure: Box::new(failure),
        }),
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
        failure: Box::new(failure),
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
