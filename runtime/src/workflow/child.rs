//! Child workflows: a workflow starts another, waits for it, signals and cancels it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;

use super::command::Command;
use super::context::{ExternalSignal, Slot, WorkflowState};
use super::{Signal, WorkflowContext, WorkflowDefinition};
use crate::Workflow;
use crate::history::{Failure, ParentClosePolicy, Payload, WorkflowIdReusePolicy, WorkflowTimeout};

/// How a child workflow is started: its workflow id, task queue, timeouts,
/// and what happens to it when the parent closes first.
///
/// ```
/// use std::time::Duration;
/// use weft::history::ParentClosePolicy;
/// use weft::workflow::ChildWorkflowOptions;
///
/// let options = ChildWorkflowOptions::new("invoice-42")
///     .task_queue("billing")
///     .parent_close_policy(ParentClosePolicy::Abandon)
///     .run_timeout(Duration::from_secs(3600));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ChildWorkflowOptions {
    pub(crate) workflow_id: String,
    pub(crate) task_queue: Option<String>,
    pub(crate) parent_close_policy: ParentClosePolicy,
    pub(crate) id_reuse_policy: WorkflowIdReusePolicy,
    pub(crate) run_timeout: Option<Duration>,
    pub(crate) execution_timeout: Option<Duration>,
}

impl ChildWorkflowOptions {
    /// A child with this workflow id, on the parent's task queue, terminated if the parent closes first.
    pub fn new(workflow_id: impl Into<String>) -> Self {
        ChildWorkflowOptions {
            workflow_id: workflow_id.into(),
            task_queue: None,
            parent_close_policy: ParentClosePolicy::default(),
            id_reuse_policy: WorkflowIdReusePolicy::default(),
            run_timeout: None,
            execution_timeout: None,
        }
    }

    /// The task queue whose workers run the child (the parent's by default).
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queue = Some(queue.into());
        self
    }

    /// What happens to the child if the parent's run closes while it is open.
    pub fn parent_close_policy(mut self, policy: ParentClosePolicy) -> Self {
        self.parent_close_policy = policy;
        self
    }

    /// Whether the child may take the id of a closed run, as
    /// [`WorkflowOptions::id_reuse_policy`](crate::WorkflowOptions::id_reuse_policy)
    /// says for a client's start (`AllowDuplicate` by default); a refused
    /// start is [`ChildWorkflowFailure::AlreadyStarted`].
    pub fn id_reuse_policy(mut self, policy: WorkflowIdReusePolicy) -> Self {
        self.id_reuse_policy = policy;
        self
    }

    /// The child's run timeout (see [`WorkflowOptions::run_timeout`](crate::WorkflowOptions::run_timeout)).
    pub fn run_timeout(mut self, timeout: Duration) -> Self {
        self.run_timeout = Some(timeout);
        self
    }

    /// The child's execution timeout (see [`WorkflowOptions::execution_timeout`](crate::WorkflowOptions::execution_timeout)).
    pub fn execution_timeout(mut self, timeout: Duration) -> Self {
        self.execution_timeout = Some(timeout);
        self
    }
}

/// Why a child workflow did not give its parent a result. `?` turns it into
/// a [`WorkflowError`](crate::WorkflowError) whose cause is the child's own failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChildWorkflowFailure {
    /// The child did not start: an open run holds its workflow id (or its id reuse policy refused it).
    #[error("child workflow `{workflow_id}` ({workflow_type}) did not start: {reason} (run {existing_run_id})")]
    AlreadyStarted {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// The run that holds the id.
        existing_run_id: String,
        /// Why.
        reason: String,
    },
    /// The child returned an error; it is the source (and the cause, once recorded).
    #[error("child workflow `{workflow_id}` ({workflow_type}, run {run_id}) failed")]
    Failed {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// The child's run (the first of its chain).
        run_id: String,
        /// The child's error.
        #[source]
        failure: Failure,
    },
    /// The child was cancelled.
    #[error("child workflow `{workflow_id}` ({workflow_type}, run {run_id}) was cancelled")]
    Canceled {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// The child's run.
        run_id: String,
    },
    /// A timeout of the child ended it.
    #[error("child workflow `{workflow_id}` ({workflow_type}, run {run_id}) timed out: its {timeout} ran out")]
    TimedOut {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// The child's run.
        run_id: String,
        /// Which timeout.
        timeout: WorkflowTimeout,
    },
    /// The child was terminated.
    #[error("child workflow `{workflow_id}` ({workflow_type}, run {run_id}) was terminated: {reason}")]
    Terminated {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// The child's run.
        run_id: String,
        /// Why, as given to terminate.
        reason: String,
    },
    /// The child's input or options were refused (nothing was started), or its result does not decode.
    #[error("child workflow `{workflow_id}` ({workflow_type}): {reason}")]
    Rejected {
        /// The child's workflow id.
        workflow_id: String,
        /// The child's workflow type.
        workflow_type: &'static str,
        /// Why.
        reason: String,
    },
}

/// How a child ended, as its parent's history records it.
#[derive(Debug, Clone)]
pub(crate) enum ChildResolution {
    Completed(Payload),
    Failed(Failure),
    Canceled,
    TimedOut(WorkflowTimeout),
    Terminated(String),
}

/// A child's start and its end, as the machine resolves them.
#[derive(Debug, Default)]
pub(crate) struct ChildSlots {
    /// `Ok(run id)`, or `Err((run that holds the id, why))`.
    pub(crate) started: Slot<Result<String, (String, String)>>,
    pub(crate) closed: Slot<ChildResolution>,
}

impl ChildSlots {
    /// Whether the parent still waits for something of this child.
    pub(crate) fn pending(&self) -> bool {
        self.started.result.is_none() || matches!(self.started.result, Some(Ok(_))) && self.closed.result.is_none()
    }
}

/// Starts a child (see [`WorkflowContext::start_child_workflow`]).
pub(crate) fn start<W: Workflow, S>(
    ctx: &WorkflowContext<S>,
    input: &W::Input,
    options: ChildWorkflowOptions,
) -> StartChildWorkflow<W::Definition> {
    let workflow_id = options.workflow_id.clone();
    let reject = |reason: String| StartChildWorkflow {
        state: ctx.state.clone(),
        seq: 0,
        workflow_id: workflow_id.clone(),
        early: Some(ChildWorkflowFailure::Rejected {
            workflow_id: workflow_id.clone(),
            workflow_type: W::NAME,
            reason,
        }),
        _workflow: PhantomData,
    };
    if let Some(problem) = super::workflow_id_problem(&workflow_id) {
        return reject(format!("invalid workflow id: {problem}"));
    }
    let mut s = ctx.state.lock();
    let input = match Payload::encode(input, s.payload_limit) {
        Ok(input) => input,
        Err(e) => {
            drop(s);
            return reject(format!("input rejected: {e}"));
        }
    };
    let seq = s.next_seq();
    s.children.insert(seq, ChildSlots::default());
    s.started_children = true;
    let task_queue = options.task_queue.unwrap_or_else(|| s.info.task_queue.clone());
    s.commands.push(Command::StartChild {
        seq,
        workflow_id: workflow_id.clone(),
        workflow_type: W::NAME.to_owned(),
        input,
        task_queue,
        parent_close_policy: options.parent_close_policy,
        id_reuse_policy: options.id_reuse_policy,
        run_timeout: options.run_timeout,
        execution_timeout: options.execution_timeout,
    });
    drop(s);
    StartChildWorkflow { state: ctx.state.clone(), seq, workflow_id, early: None, _workflow: PhantomData }
}

/// A child workflow being started: resolves to its [`ChildWorkflowHandle`]
/// once its run exists (`ChildWorkflowExecutionStarted`), or to
/// [`ChildWorkflowFailure::AlreadyStarted`].
#[must_use = "the child starts either way; await it for its handle"]
pub struct StartChildWorkflow<D> {
    state: Arc<Mutex<WorkflowState>>,
    seq: u32,
    workflow_id: String,
    early: Option<ChildWorkflowFailure>,
    _workflow: PhantomData<fn() -> D>,
}

impl<D: WorkflowDefinition> Future for StartChildWorkflow<D> {
    type Output = Result<ChildWorkflowHandle<D>, ChildWorkflowFailure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(failure) = self.early.take() {
            return Poll::Ready(Err(failure));
        }
        let mut s = self.state.lock();
        let Some(slots) = s.children.get_mut(&self.seq) else {
            panic!("`StartChildWorkflow` polled after it completed");
        };
        let Some(started) = slots.started.result.clone() else {
            slots.started.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        Poll::Ready(match started {
            Ok(run_id) => Ok(ChildWorkflowHandle {
                state: self.state.clone(),
                seq: self.seq,
                workflow_id: self.workflow_id.clone(),
                run_id,
                _workflow: PhantomData,
            }),
            Err((existing_run_id, reason)) => {
                s.children.remove(&self.seq);
                Err(ChildWorkflowFailure::AlreadyStarted {
                    workflow_id: self.workflow_id.clone(),
                    workflow_type: D::NAME,
                    existing_run_id,
                    reason,
                })
            }
        })
    }
}

impl<D> std::fmt::Debug for StartChildWorkflow<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartChildWorkflow").field("workflow_id", &self.workflow_id).finish()
    }
}

/// A started child workflow: a future of its result (typed by the child's
/// definition `D`) that can also signal and cancel it.
///
/// Dropping it does not cancel the child; what happens to a child still
/// open when the parent closes is its [`ParentClosePolicy`].
#[must_use = "a child handle does nothing unless awaited; drop does not cancel the child"]
pub struct ChildWorkflowHandle<D> {
    state: Arc<Mutex<WorkflowState>>,
    seq: u32,
    workflow_id: String,
    run_id: String,
    _workflow: PhantomData<fn() -> D>,
}

impl<D: WorkflowDefinition> ChildWorkflowHandle<D> {
    /// The child's workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The child's run id (the first of its chain, if it continues as new).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Signals the child (its open run): typed by the child's signals.
    pub fn signal<I: Serialize>(&self, signal: Signal<D, I>, input: I) -> ExternalSignal {
        WorkflowContext::<()> { state: self.state.clone(), shared: Arc::new(super::context::Shared::new(())) }
            .signal_external(self.workflow_id.clone(), signal, input)
    }

    /// Requests the child's cancellation (`ChildWorkflowExecutionCancelRequested`
    /// here, `WorkflowExecutionCancelRequested` in the child); the handle
    /// then resolves when the child closes, as it chooses to.
    pub fn cancel(&self) {
        self.state.lock().cancel_child(self.seq);
    }
}

impl<D: WorkflowDefinition> Future for ChildWorkflowHandle<D> {
    type Output = Result<D::Output, ChildWorkflowFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.state.lock();
        let Some(slots) = s.children.get_mut(&self.seq) else {
            panic!("`ChildWorkflowHandle` polled after it completed");
        };
        let Some(closed) = slots.closed.result.clone() else {
            slots.closed.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        s.children.remove(&self.seq);
        drop(s);
        let (workflow_id, workflow_type, run_id) = (self.workflow_id.clone(), D::NAME, self.run_id.clone());
        Poll::Ready(match closed {
            ChildResolution::Completed(result) => result.decode().map_err(|e| ChildWorkflowFailure::Rejected {
                workflow_id,
                workflow_type,
                reason: format!("result rejected: {e}"),
            }),
            ChildResolution::Failed(failure) => {
                Err(ChildWorkflowFailure::Failed { workflow_id, workflow_type, run_id, failure })
            }
            ChildResolution::Canceled => Err(ChildWorkflowFailure::Canceled { workflow_id, workflow_type, run_id }),
            ChildResolution::TimedOut(timeout) => {
                Err(ChildWorkflowFailure::TimedOut { workflow_id, workflow_type, run_id, timeout })
            }
            ChildResolution::Terminated(reason) => {
                Err(ChildWorkflowFailure::Terminated { workflow_id, workflow_type, run_id, reason })
            }
        })
    }
}

impl<D> std::fmt::Debug for ChildWorkflowHandle<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildWorkflowHandle")
            .field("workflow_id", &self.workflow_id)
            .field("run_id", &self.run_id)
            .finish()
    }
}
