//! The client: start workflows, wait for results, read histories.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::description::{WorkerDescription, WorkflowDescription};
use crate::engine::Inner;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::list::{ListFilter, WorkflowCounts, WorkflowPage};
use crate::query::{self, UpdateRequest};
pub use crate::store::WorkflowIdReusePolicy;
use crate::store::{InboxItem, RunRecord, RunStatus, StartAttributes};
use crate::workflow::{Query, Signal, Update, Workflow};
use crate::{Error, Result};

pub use crate::workflow::MAX_WORKFLOW_ID_LEN;

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
    ) -> Result<WorkflowHandle<W::Definition>> {
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
    ) -> Result<WorkflowHandle<W::Definition>> {
        let _ = workflow;
        let input = self.encode(&options.workflow_id, &input)?;
        self.start::<W>(options, input, None).await
    }

    async fn start<W: Workflow>(
        &self,
        options: WorkflowOptions,
        input: Payload,
        signal: Option<(String, Payload)>,
    ) -> Result<WorkflowHandle<W::Definition>> {
        let WorkflowOptions { workflow_id, id_reuse_policy, task_queue, run_timeout, execution_timeout } = options;
        if let Some(reason) = crate::workflow::workflow_id_problem(&workflow_id) {
            return Err(Error::InvalidWorkflowId { workflow_id, reason });
        }
        // On an embedded store no other process can ever run it; elsewhere a
        // worker of another process may have it registered.
        if self.inner.store.exclusive() && !self.inner.registry.workflows.contains_key(W::NAME) {
            return Err(Error::UnknownWorkflowType { workflow_type: W::NAME.to_owned() });
        }
        // Version 7: time-ordered, so a new run's rows (history, tasks) go at
        // the end of their B-trees instead of onto a random page each.
        let run_id = uuid::Uuid::now_v7().to_string();
        let created_at = self.inner.clock.now();
        let attributes = StartAttributes {
            continued_from_run_id: None,
            parent: None,
            run_timeout,
            execution_timeout,
            execution_expires_at: execution_timeout
                .map(|t| created_at.checked_add(t).unwrap_or(created_at + crate::activity::MAX_DURATION)),
        };
        let task_queue = task_queue.unwrap_or_else(|| crate::engine::DEFAULT_TASK_QUEUE.to_owned());
        let run = RunRecord::new(run_id.clone(), workflow_id.clone(), W::NAME.to_owned(), task_queue, created_at);
        self.inner.start_run(run, input, signal, attributes, id_reuse_policy).await?;
        tracing::debug!(%workflow_id, %run_id, workflow_type = W::NAME, "workflow started");
        Ok(WorkflowHandle { client: self.clone(), workflow_id, run_id, _workflow: PhantomData })
    }

    /// Signals the open run of the options' workflow id, or starts one with
    /// `input` and the signal in its first step if no run is open: either
    /// way the signal reaches exactly one run. The reuse policy applies to the start.
    pub async fn signal_with_start<W: Workflow, I: Serialize>(
        &self,
        workflow: W,
        options: WorkflowOptions,
        input: W::Input,
        signal: Signal<W::Definition, I>,
        signal_input: I,
    ) -> Result<WorkflowHandle<W::Definition>> {
        let _ = workflow;
        let workflow_id = options.workflow_id.clone();
        let input = self.encode(&workflow_id, &input)?;
        let encoded = self.encode(&workflow_id, &signal_input)?;
        let item = || InboxItem::Signal { signal_name: signal.name().to_owned(), input: encoded.clone() };
        // A run that closes between the look and the signal, or one started
        // by someone else between the look and the start, sends us round again.
        for _ in 0..16 {
            if let Some(run) = self.inner.store.latest_run(workflow_id.clone()).await?
                && run.status == RunStatus::Running
                && self.inner.store.add_to_inbox(run.run_id.clone(), item()).await?
            {
                self.inner.wake_run(&run.run_id);
                return Ok(self.handle(run));
            }
            let signal = Some((signal.name().to_owned(), encoded.clone()));
            match self.start::<W>(options.clone(), input.clone(), signal).await {
                Err(Error::AlreadyStarted { .. }) => {}
                started => return started,
            }
        }
        Err(Error::AlreadyStarted { workflow_id, run_id: String::new() })
    }

    /// Sends `signal` with `input` to the handle's run: recorded as
    /// `WorkflowExecutionSignaled`, in order of arrival, then handed to the
    /// workflow's handler (or kept for a signal channel). Returns once it is
    /// stored; [`Error::NotRunning`] if the run has closed.
    ///
    /// Only compiles with a signal of the handle's workflow and its input type.
    pub async fn signal<W, I: Serialize>(
        &self,
        handle: &WorkflowHandle<W>,
        signal: Signal<W, I>,
        input: I,
    ) -> Result<()> {
        let input = self.encode(&handle.workflow_id, &input)?;
        let run = self.run_of(handle).await?;
        query::signal(&*self.inner.store, &run, signal.name(), input).await?;
        self.inner.wake_run(&handle.run_id);
        Ok(())
    }

    /// Asks the handle's run `query`, which takes no input; see [`query_with`](Self::query_with).
    pub async fn query<W, O: DeserializeOwned>(&self, handle: &WorkflowHandle<W>, query: Query<W, (), O>) -> Result<O> {
        self.query_with(handle, query, ()).await
    }

    /// Asks the handle's run `query` with `input`: answered from the
    /// workflow's state, cached in this process or rebuilt by replaying the
    /// run's history (closed runs answer too). Nothing is recorded.
    ///
    /// The engine must have the workflow registered. [`Error::UnknownQuery`]
    /// for a name the workflow does not handle, [`Error::QueryFailed`] for a
    /// handler that panicked, an answer over the payload limit, or a history
    /// that does not replay.
    pub async fn query_with<W, I: Serialize, O: DeserializeOwned>(
        &self,
        handle: &WorkflowHandle<W>,
        query: Query<W, I, O>,
        input: I,
    ) -> Result<O> {
        let input = self.encode(&handle.workflow_id, &input)?;
        let run = self.run_of(handle).await?;
        let answer = self.inner.query(&run, query.name(), &input).await?;
        decode(&handle.workflow_id, &answer)
    }

    /// Sends `update` with `input` to the handle's run and waits for the
    /// handler's result, under a fresh update id; see [`update_with`](Self::update_with).
    pub async fn update<W, I: Serialize, O: DeserializeOwned>(
        &self,
        handle: &WorkflowHandle<W>,
        update: Update<W, I, O>,
        input: I,
    ) -> Result<O> {
        self.update_with(handle, update, input, UpdateOptions::new()).await
    }

    /// Sends `update` with `input` and waits for its outcome. Its validator
    /// runs first: [`Error::UpdateRejected`] (and nothing recorded) if it
    /// refuses. Accepted, it is recorded as `WorkflowExecutionUpdateAccepted`;
    /// its handler's return as `WorkflowExecutionUpdateCompleted`, whose
    /// result this returns ([`Error::UpdateFailed`] for an error). A call
    /// with an update id the run accepted before returns that first outcome.
    ///
    /// [`Error::UnknownUpdate`] for a name the workflow does not handle,
    /// [`Error::NotRunning`] if the run closed before the update completed.
    pub async fn update_with<W, I: Serialize, O: DeserializeOwned>(
        &self,
        handle: &WorkflowHandle<W>,
        update: Update<W, I, O>,
        input: I,
        options: UpdateOptions,
    ) -> Result<O> {
        let input = self.encode(&handle.workflow_id, &input)?;
        let run = self.run_of(handle).await?;
        let request = UpdateRequest { update_id: options.update_id, update_name: update.name().to_owned(), input };
        let result = self.inner.update(&run, request).await?;
        decode(&handle.workflow_id, &result)
    }

    fn encode<T: Serialize>(&self, workflow_id: &str, value: &T) -> Result<Payload> {
        Payload::encode(value, self.inner.config.payload_limit)
            .map_err(|source| Error::Payload { workflow_id: workflow_id.to_owned(), source })
    }

    async fn run_of<W>(&self, handle: &WorkflowHandle<W>) -> Result<RunRecord> {
        self.inner
            .store
            .run(handle.run_id.clone())
            .await?
            .ok_or_else(|| Error::WorkflowNotFound { workflow_id: handle.workflow_id.clone() })
    }

    fn handle<W>(&self, run: RunRecord) -> WorkflowHandle<W> {
        WorkflowHandle {
            client: self.clone(),
            workflow_id: run.workflow_id,
            run_id: run.run_id,
            _workflow: PhantomData,
        }
    }

    /// A handle on the newest run of `workflow_id`, typed by its workflow.
    pub async fn workflow_handle<W: Workflow>(
        &self,
        workflow: W,
        workflow_id: &str,
    ) -> Result<WorkflowHandle<W::Definition>> {
        let _ = workflow;
        Ok(self.handle(query::latest_run(&*self.inner.store, workflow_id).await?))
    }

    /// A handle on run `run_id` of `workflow_id` (an earlier run of a
    /// continue-as-new chain, say); [`Error::WorkflowNotFound`] if the id has no such run.
    pub async fn workflow_handle_for_run<W: Workflow>(
        &self,
        workflow: W,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<WorkflowHandle<W::Definition>> {
        let _ = workflow;
        match self.inner.store.run(run_id.to_owned()).await? {
            Some(run) if run.workflow_id == workflow_id => Ok(self.handle(run)),
            _ => Err(Error::WorkflowNotFound { workflow_id: workflow_id.to_owned() }),
        }
    }

    /// The history of the newest run of `workflow_id`.
    pub async fn history(&self, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
        query::history(&*self.inner.store, workflow_id).await
    }

    /// Runs, newest first, optionally only those of one status, type or id prefix.
    pub async fn list_workflows(&self, filter: ListFilter) -> Result<Vec<WorkflowDescription>> {
        query::list(&*self.inner.store, filter).await
    }

    /// One page of runs, newest first, and the token of the next page
    /// (see [`ListFilter::page_token`]).
    pub async fn list_workflows_page(&self, filter: ListFilter) -> Result<WorkflowPage> {
        query::list_page(&*self.inner.store, filter).await
    }

    /// How many runs of `filter`'s type and id prefix have each status.
    pub async fn count_workflows(&self, filter: ListFilter) -> Result<WorkflowCounts> {
        query::count(&*self.inner.store, filter).await
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
    run_timeout: Option<std::time::Duration>,
    execution_timeout: Option<std::time::Duration>,
}

impl WorkflowOptions {
    /// Options with this workflow id and the default reuse policy.
    pub fn new(workflow_id: impl Into<String>) -> Self {
        WorkflowOptions {
            workflow_id: workflow_id.into(),
            id_reuse_policy: WorkflowIdReusePolicy::default(),
            task_queue: None,
            run_timeout: None,
            execution_timeout: None,
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

    /// How long one run may take: past it, the run closes as
    /// `WorkflowExecutionTimedOut` (its code stops, its pending activities
    /// and timers are cancelled) and its result is [`Error::WorkflowTimedOut`].
    /// Each run of a continue-as-new chain gets the whole timeout again.
    pub fn run_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.run_timeout = Some(timeout);
        self
    }

    /// How long the workflow may take across its whole continue-as-new
    /// chain, counted from this start; past it, the open run times out as
    /// with [`run_timeout`](Self::run_timeout).
    pub fn execution_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.execution_timeout = Some(timeout);
        self
    }
}

/// How a closed run ended, for [`WorkflowHandle::result`]: with the
/// workflow's result, or continued by another run.
enum Closed<T> {
    Result(Result<T>),
    ContinuedAs(String),
}

/// Decodes a payload of workflow `workflow_id` for its caller.
fn decode<T: DeserializeOwned>(workflow_id: &str, payload: &Payload) -> Result<T> {
    payload.decode().map_err(|source| Error::Payload { workflow_id: workflow_id.to_owned(), source })
}

/// Options of an update call.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct UpdateOptions {
    update_id: Option<String>,
}

impl UpdateOptions {
    /// A fresh update id per call.
    pub fn new() -> Self {
        UpdateOptions::default()
    }

    /// The update id: a run accepts an id once, so a call retried with the
    /// same id returns the first call's outcome instead of running again.
    pub fn update_id(mut self, id: impl Into<String>) -> Self {
        self.update_id = Some(id.into());
        self
    }
}

/// A handle on one workflow run, typed by its workflow `W` (the definition
/// type: the type named like a workflow function, or a `#[workflow]` impl
/// block's type): wait for its result, read its history, send it messages
/// through the [`Client`].
pub struct WorkflowHandle<W> {
    client: Client,
    workflow_id: String,
    run_id: String,
    _workflow: PhantomData<fn() -> W>,
}

impl<W> std::fmt::Debug for WorkflowHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowHandle").field("workflow_id", &self.workflow_id).field("run_id", &self.run_id).finish()
    }
}

impl<W> Clone for WorkflowHandle<W> {
    fn clone(&self) -> Self {
        WorkflowHandle {
            client: self.client.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<W: Workflow> WorkflowHandle<W> {
    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Waits for the run to close and returns its result. A run that
    /// continued as new is followed to the run that continues it, and so on
    /// to the end of the chain.
    ///
    /// A workflow that returned an error gives [`Error::WorkflowFailed`];
    /// one that timed out, [`Error::WorkflowTimedOut`].
    /// While the store refuses the run's writes (a full disk) for longer than
    /// [`EngineBuilder::store_unavailable_after`](crate::EngineBuilder::store_unavailable_after),
    /// it fails with [`Error::StoreUnavailable`]; the run goes on once the
    /// store takes its writes again, and a later call returns its result.
    pub async fn result(&self) -> Result<W::Output> {
        let inner = &self.client.inner;
        let mut run_id = self.run_id.clone();
        loop {
            let closed = inner.watch_close(&run_id);
            let run = inner
                .store
                .run(run_id.clone())
                .await?
                .ok_or_else(|| Error::WorkflowNotFound { workflow_id: self.workflow_id.clone() })?;
            if run.status != RunStatus::Running {
                match self.close_result(run).await? {
                    Closed::Result(result) => return result,
                    Closed::ContinuedAs(next) => {
                        run_id = next;
                        continue;
                    }
                }
            }
            let outage = inner.outages.lasting(&self.run_id, inner.config.store_unavailable_after);
            tokio::select! {
                biased;
                closed = closed => match closed {
                    // The engine hands over the close event: no store read needed.
                    Ok(close) => match self.outcome(&run.workflow_id, &run.run_id, &close) {
                        Closed::Result(result) => return result,
                        Closed::ContinuedAs(next) => run_id = next,
                    },
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

    async fn close_result(&self, run: RunRecord) -> Result<Closed<W::Output>> {
        let store = &self.client.inner.store;
        let after = run.next_event_id.saturating_sub(2);
        let history = store.history(run.run_id.clone(), run.workflow_id.clone(), after).await?;
        let corrupt = |reason: &str| Error::CorruptHistory {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            reason: reason.to_owned(),
        };
        let last = history.last().ok_or_else(|| corrupt("a closed run has no close event"))?;
        Ok(self.outcome(&run.workflow_id, &run.run_id, last))
    }

    /// The result a close event stands for, or the run that continues the chain.
    fn outcome(&self, workflow_id: &str, run_id: &str, close: &HistoryEvent) -> Closed<W::Output> {
        let result = match &close.attributes {
            EventAttributes::WorkflowExecutionContinuedAsNew { new_run_id, .. } => {
                return Closed::ContinuedAs(new_run_id.clone());
            }
            EventAttributes::WorkflowExecutionTimedOut { timeout } => Err(Error::WorkflowTimedOut {
                workflow_id: workflow_id.to_owned(),
                run_id: run_id.to_owned(),
                timeout: *timeout,
            }),
            EventAttributes::WorkflowExecutionCompleted { result } => decode(workflow_id, result),
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
        };
        Closed::Result(result)
    }

    /// The run's history so far.
    pub async fn history(&self) -> Result<Vec<HistoryEvent>> {
        self.client.inner.store.history(self.run_id.clone(), self.workflow_id.clone(), 0).await
    }
}
