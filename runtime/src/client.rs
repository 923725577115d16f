//! The client: start workflows, wait for results, read histories.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::description::{WorkerDescription, WorkflowDescription};
use crate::engine::Inner;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::query;
pub use crate::store::WorkflowIdReusePolicy;
use crate::store::{InboxItem, RunRecord, RunStatus};
use crate::workflow::Workflow;
use crate::{Error, Result};

/// The longest workflow id, in bytes.
pub const MAX_WORKFLOW_ID_LEN: usize = 1000;

/// Starts workflows and reads their state. Cheap to clone; get one from
/// [`Engine::client`](crate::Engine::client).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Client { inner }
    }

    /// Starts a run of `workflow` under `workflow_id` with `input`.
    ///
    /// Fails with [`Error::AlreadyStarted`] if a run of that id is open,
    /// [`Error::UnknownWorkflowType`] if the engine does not know the
    /// workflow, [`Error::InvalidWorkflowId`] for an empty or over-long id,
    /// and [`Error::Payload`] for an input over the payload limit.
    pub async fn start_workflow<W: Workflow>(
        &self,
        workflow: W,
        workflow_id: impl Into<String>,
        input: W::Input,
    ) -> Result<WorkflowHandle<W::Output>> {
        self.start_workflow_with(workflow, WorkflowOptions::new(workflow_id), input).await
    }

    /// Starts a run with options: the workflow id and its reuse policy.
    ///
    /// ```no_run
    /// # use weft::{workflow, WorkflowContext, WorkflowResult, WorkflowOptions, WorkflowIdReusePolicy};
    /// # #[workflow] async fn nightly(_ctx: WorkflowContext) -> WorkflowResult<()> { Ok(()) }
    /// # #[allow(dead_code)]
    /// # async fn f(client: weft::Client) -> weft::Result<()> {
    /// // Run the nightly job once per date, even if this code runs twice.
    /// let options = WorkflowOptions::new("nightly-2026-11-22").id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate);
    /// client.start_workflow_with(nightly, options, ()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start_workflow_with<W: Workflow>(
        &self,
        workflow: W,
        options: WorkflowOptions,
        input: W::Input,
    ) -> Result<WorkflowHandle<W::Output>> {
        let _ = workflow;
        let WorkflowOptions { workflow_id, id_reuse_policy, task_queue } = options;
        if workflow_id.is_empty() {
            return Err(Error::InvalidWorkflowId { workflow_id, reason: "it is empty" });
        }
        if workflow_id.len() > MAX_WORKFLOW_ID_LEN {
            return Err(Error::InvalidWorkflowId { workflow_id, reason: "it is over 1000 bytes" });
        }
        // On an embedded store no other process can ever run it; elsewhere a
        // worker of another process may have it registered.
        if self.inner.store.exclusive() && !self.inner.registry.workflows.contains_key(W::NAME) {
            return Err(Error::UnknownWorkflowType { workflow_type: W::NAME.to_owned() });
        }
        let input = Payload::encode(&input, self.inner.config.payload_limit)
            .map_err(|source| Error::Payload { workflow_id: workflow_id.clone(), source })?;
        // Version 7: time-ordered, so a new run's rows (history, tasks) go at
        // the end of their B-trees instead of onto a random page each.
        let run_id = uuid::Uuid::now_v7().to_string();
        let run = RunRecord {
            run_id: run_id.clone(),
            workflow_id: workflow_id.clone(),
            workflow_type: W::NAME.to_owned(),
            task_queue: task_queue.unwrap_or_else(|| crate::engine::DEFAULT_TASK_QUEUE.to_owned()),
            status: RunStatus::Running,
            created_at: self.inner.clock.now(),
            closed_at: None,
            next_event_id: 1,
            held: None,
            held_at: None,
            lease: None,
            sticky: None,
        };
        self.inner.start_run(run, input, id_reuse_policy).await?;
        tracing::debug!(%workflow_id, %run_id, workflow_type = W::NAME, "workflow started");
        Ok(WorkflowHandle { client: self.clone(), workflow_id, run_id, _output: PhantomData })
    }

    /// A handle on the newest run of `workflow_id`, typed by its workflow.
    pub async fn workflow_handle<W: Workflow>(
        &self,
        workflow: W,
        workflow_id: &str,
    ) -> Result<WorkflowHandle<W::Output>> {
        let _ = workflow;
        let run = query::latest_run(&*self.inner.store, workflow_id).await?;
        Ok(WorkflowHandle {
            client: self.clone(),
            workflow_id: run.workflow_id,
            run_id: run.run_id,
            _output: PhantomData,
        })
    }

    /// The history of the newest run of `workflow_id`.
    pub async fn history(&self, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
        query::history(&*self.inner.store, workflow_id).await
    }

    /// Runs, newest first, optionally only those of one status or type.
    pub async fn list_workflows(&self, filter: ListFilter) -> Result<Vec<WorkflowDescription>> {
        query::list(&*self.inner.store, filter).await
    }

    /// The status of the newest run of `workflow_id`, and what it waits on.
    pub async fn describe(&self, workflow_id: &str) -> Result<WorkflowDescription> {
        query::describe(&*self.inner.store, workflow_id).await
    }

    /// The workers registered with the store: this process's and, on a
    /// shared store, every other's (live ones, and gone ones until they are
    /// cleaned up).
    pub async fn list_workers(&self) -> Result<Vec<WorkerDescription>> {
        query::workers(&*self.inner.store).await
    }

    /// Requests cancellation of the open run of `workflow_id`: the workflow's
    /// activities and timers are cancelled, and a workflow that then returns
    /// an error is recorded as `WorkflowExecutionCanceled`.
    pub async fn cancel_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        let run_id =
            query::deliver(&*self.inner.store, workflow_id, InboxItem::CancelRequested { reason: reason.into() })
                .await?;
        self.inner.wake_run(&run_id);
        Ok(())
    }

    /// Ends the open run of `workflow_id` at once, without running its code
    /// (`WorkflowExecutionTerminated`); its activities are abandoned.
    pub async fn terminate_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        let run_id =
            query::deliver(&*self.inner.store, workflow_id, InboxItem::Terminate { reason: reason.into() }).await?;
        self.inner.wake_run(&run_id);
        Ok(())
    }
}

/// How a workflow is started: its id and what to do if the id was used before.
#[derive(Debug, Clone)]
#[must_use]
pub struct WorkflowOptions {
    workflow_id: String,
    id_reuse_policy: WorkflowIdReusePolicy,
    task_queue: Option<String>,
}

impl WorkflowOptions {
    /// Options with this workflow id and the default reuse policy.
    pub fn new(workflow_id: impl Into<String>) -> Self {
        WorkflowOptions {
            workflow_id: workflow_id.into(),
            id_reuse_policy: WorkflowIdReusePolicy::default(),
            task_queue: None,
        }
    }

    /// What to do when a closed run already used the id (an open one always refuses).
    pub fn id_reuse_policy(mut self, policy: WorkflowIdReusePolicy) -> Self {
        self.id_reuse_policy = policy;
        self
    }

    /// The task queue whose workers run the workflow (default
    /// [`DEFAULT_TASK_QUEUE`](crate::DEFAULT_TASK_QUEUE)); its activities
    /// go to the same queue unless their options name another.
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queue = Some(queue.into());
        self
    }
}

/// Which runs [`Client::list_workflows`] returns.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs of this workflow type.
    pub workflow_type: Option<String>,
    /// At most this many runs.
    pub limit: Option<usize>,
}

impl ListFilter {
    /// Every run.
    pub fn all() -> Self {
        ListFilter::default()
    }

    /// Only runs with this status.
    #[must_use]
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs of this workflow type.
    #[must_use]
    pub fn workflow_type(mut self, workflow_type: impl Into<String>) -> Self {
        self.workflow_type = Some(workflow_type.into());
        self
    }

    /// At most this many runs.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// A handle on one workflow run: wait for its result, read its history.
pub struct WorkflowHandle<O> {
    client: Client,
    workflow_id: String,
    run_id: String,
    _output: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for WorkflowHandle<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowHandle").field("workflow_id", &self.workflow_id).field("run_id", &self.run_id).finish()
    }
}

impl<O> Clone for WorkflowHandle<O> {
    fn clone(&self) -> Self {
        WorkflowHandle {
            client: self.client.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id.clone(),
            _output: PhantomData,
        }
    }
}

impl<O: DeserializeOwned> WorkflowHandle<O> {
    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Waits for the run to close and returns its result.
    ///
    /// A workflow that returned an error gives [`Error::WorkflowFailed`].
    /// While the store refuses the run's writes (a full disk) for longer than
    /// [`EngineBuilder::store_unavailable_after`](crate::EngineBuilder::store_unavailable_after),
    /// it fails with [`Error::StoreUnavailable`]; the run goes on once the
    /// store takes its writes again, and a later call returns its result.
    pub async fn result(&self) -> Result<O> {
        let inner = &self.client.inner;
        loop {
            let closed = inner.watch_close(&self.run_id);
            let run = inner
                .store
                .run(self.run_id.clone())
                .await?
                .ok_or_else(|| Error::WorkflowNotFound { workflow_id: self.workflow_id.clone() })?;
            if run.status != RunStatus::Running {
                return self.close_result(run).await;
            }
            let outage = inner.outages.lasting(&self.run_id, inner.config.store_unavailable_after);
            tokio::select! {
                biased;
                closed = closed => match closed {
                    // The engine hands over the close event: no store read needed.
                    Ok(close) => return self.outcome(&run.workflow_id, &run.run_id, &close),
                    Err(_) if inner.is_stopped() => return Err(Error::Shutdown),
                    Err(_) => {}
                },
                (since, source) = outage => {
                    return Err(Error::StoreUnavailable {
                        workflow_id: run.workflow_id,
                        run_id: run.run_id,
                        since,
                        source: Box::new(source),
                    });
                }
            }
        }
    }

    async fn close_result(&self, run: RunRecord) -> Result<O> {
        let store = &self.client.inner.store;
        let after = run.next_event_id.saturating_sub(2);
        let history = store.history(run.run_id.clone(), run.workflow_id.clone(), after).await?;
        let corrupt = |reason: &str| Error::CorruptHistory {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            reason: reason.to_owned(),
        };
        let last = history.last().ok_or_else(|| corrupt("a closed run has no close event"))?;
        self.outcome(&run.workflow_id, &run.run_id, last)
    }

    /// The result a close event stands for.
    fn outcome(&self, workflow_id: &str, run_id: &str, close: &HistoryEvent) -> Result<O> {
        match &close.attributes {
            EventAttributes::WorkflowExecutionCompleted { result } => {
                result.decode().map_err(|source| Error::Payload { workflow_id: workflow_id.to_owned(), source })
            }
            EventAttributes::WorkflowExecutionFailed { failure } => Err(Error::WorkflowFailed {
                workflow_id: workflow_id.to_owned(),
                run_id: run_id.to_owned(),
                failure: failure.clone(),
            }),
            EventAttributes::WorkflowExecutionCanceled {} => {
                Err(Error::WorkflowCanceled { workflow_id: workflow_id.to_owned(), run_id: run_id.to_owned() })
            }
            EventAttributes::WorkflowExecutionTerminated { reason } => Err(Error::WorkflowTerminated {
                workflow_id: workflow_id.to_owned(),
                run_id: run_id.to_owned(),
                reason: reason.clone(),
            }),
            _ => Err(Error::CorruptHistory {
                workflow_id: workflow_id.to_owned(),
                run_id: run_id.to_owned(),
                reason: "the last event of a closed run is not a close event".to_owned(),
            }),
        }
    }

    /// The run's history so far.
    pub async fn history(&self) -> Result<Vec<HistoryEvent>> {
        self.client.inner.store.history(self.run_id.clone(), self.workflow_id.clone(), 0).await
    }
}
