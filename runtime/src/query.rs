//! Queries on runs and their histories, shared by the [`Client`](crate::Client)
//! (inside an engine) and the [`Inspector`](crate::inspect::Inspector) (a store
//! opened from outside, by the `weft` command).

use crate::client::ListFilter;
use crate::description::{WorkerDescription, WorkflowDescription};
use crate::history::HistoryEvent;
use crate::store::{InboxItem, RunFilter, RunRecord, RunStatus, Store};
use crate::{Error, Result};

pub(crate) async fn latest_run(store: &dyn Store, workflow_id: &str) -> Result<RunRecord> {
    store
        .latest_run(workflow_id.to_owned())
        .await?
        .ok_or_else(|| Error::WorkflowNotFound { workflow_id: workflow_id.to_owned() })
}

pub(crate) async fn history(store: &dyn Store, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
    let run = latest_run(store, workflow_id).await?;
    store.history(run.run_id, run.workflow_id, 0).await
}

pub(crate) async fn list(store: &dyn Store, filter: ListFilter) -> Result<Vec<WorkflowDescription>> {
    let filter = RunFilter { status: filter.status, workflow_type: filter.workflow_type, limit: filter.limit };
    let runs = store.list_runs(filter).await?;
    Ok(runs.into_iter().map(|run| WorkflowDescription::new(run, Vec::new(), Vec::new())).collect())
}

pub(crate) async fn describe(store: &dyn Store, workflow_id: &str) -> Result<WorkflowDescription> {
    let run = latest_run(store, workflow_id).await?;
    let (activities, timers) = store.pending(run.run_id.clone()).await?;
    Ok(WorkflowDescription::new(run, activities, timers))
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
