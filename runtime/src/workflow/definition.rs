//! The trait `#[workflow]` implements, and the workflow's error type.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::WorkflowContext;
use super::messages::Handlers;
use crate::__private::StubToken;
use crate::history::Failure;

/// A typed workflow stub: its registered name and its input and output types.
///
/// `#[workflow]` implements it on a type named after the function, and on
/// the stub function that keeps the function's name; on an impl block, on
/// the block's type and on its `run` constant (`Order::run`). Pass the stub
/// to [`Client::start_workflow`](crate::Client::start_workflow) and
/// [`EngineBuilder::register_workflow`](crate::EngineBuilder::register_workflow).
pub trait Workflow: Send + Sync + 'static {
    /// The input: the function's argument after the context, a tuple of several, or `()`.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The `T` of the function's `WorkflowResult<T>`.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The registered name (the function's name unless `name = "..."`).
    const NAME: &'static str;
    /// The definition type: what [`WorkflowHandle`](crate::WorkflowHandle)s
    /// and message stubs ([`Signal`](super::Signal), ...) are typed by. The
    /// type named like the function, or the impl block's type.
    type Definition: WorkflowDefinition<Input = Self::Input, Output = Self::Output>;
}

/// The definition type of a workflow: how a run is made and what messages
/// it takes. `#[workflow]` implements it; by hand, a function workflow has
/// state `()` and no handlers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "expected the stub of a `#[workflow] async fn` or of a `#[workflow]` impl block",
    note = "activities are registered with `register_activity` / `register_activities` and run from a \
            workflow with `ctx.execute_activity(..)`"
)]
pub trait WorkflowDefinition: Workflow {
    /// What the body shares with the handlers (`()` for a function workflow).
    type State: Send + 'static;

    /// The state a run starts with.
    fn init(input: &Self::Input) -> Self::State;

    /// Runs the workflow's code. The engine may run it many times over (replay);
    /// it must be deterministic (see `docs/determinism.md`).
    fn run(
        ctx: WorkflowContext<Self::State>,
        input: Self::Input,
    ) -> impl Future<Output = WorkflowResult<Self::Output>> + Send + 'static;

    /// The message handlers, by name.
    fn handlers() -> Handlers<Self::State>;
}

/// The stub function of a `#[workflow]` is what its definition type `D` is.
impl<F, D> Workflow for F
where
    F: Fn(StubToken) -> D + Send + Sync + 'static,
    D: WorkflowDefinition,
{
    type Input = D::Input;
    type Output = D::Output;
    const NAME: &'static str = D::NAME;
    type Definition = D;
}

/// The `run` constant of a `#[workflow]` impl block (`Order::run`): the
/// block's workflow, as a value to start and register.
pub struct WorkflowStub<D>(PhantomData<fn() -> D>);

impl<D> WorkflowStub<D> {
    #[doc(hidden)]
    pub const fn __new() -> Self {
        WorkflowStub(PhantomData)
    }
}

impl<D> Clone for WorkflowStub<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for WorkflowStub<D> {}

impl<D: WorkflowDefinition> fmt::Debug for WorkflowStub<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkflowStub").field(&D::NAME).finish()
    }
}

impl<D: WorkflowDefinition> Workflow for WorkflowStub<D> {
    type Input = D::Input;
    type Output = D::Output;
    const NAME: &'static str = D::NAME;
    type Definition = D;
}

/// The longest workflow id, in bytes.
pub const MAX_WORKFLOW_ID_LEN: usize = 1000;

/// What is wrong with `workflow_id` as a workflow id, if anything.
pub(crate) fn workflow_id_problem(workflow_id: &str) -> Option<&'static str> {
    if workflow_id.is_empty() {
        Some("it is empty")
    } else if workflow_id.len() > MAX_WORKFLOW_ID_LEN {
        Some("it is over 1000 bytes")
    } else {
        None
    }
}

/// The result type of a workflow function.
pub type WorkflowResult<T> = Result<T, WorkflowError>;

/// The error a workflow returns; it is recorded as `WorkflowExecutionFailed`.
///
/// Any `std::error::Error` (an [`ActivityFailure`](crate::ActivityFailure)
/// among them) converts into it with `?`.
///
/// ```
/// use weft::WorkflowError;
///
/// let err = WorkflowError::new("order is empty").with_type("EmptyOrder");
/// assert_eq!(err.to_string(), "EmptyOrder: order is empty");
/// ```
pub struct WorkflowError {
    failure: Failure,
}

impl WorkflowError {
    /// An error with this message and the type `"WorkflowError"`.
    pub fn new(message: impl Into<String>) -> Self {
        WorkflowError { failure: Failure::new("WorkflowError", message) }
    }

    /// Sets the error type.
    #[must_use]
    pub fn with_type(self, error_type: impl Into<String>) -> Self {
        WorkflowError { failure: self.failure.with_type(error_type) }
    }

    /// Attaches structured details (dropped if they do not serialize).
    #[must_use]
    pub fn with_details<T: Serialize>(self, details: &T) -> Self {
        WorkflowError { failure: self.failure.with_details(details) }
    }

    pub(crate) fn into_failure(self) -> Failure {
        self.failure
    }
}

/// An [`ActivityFailure`](crate::ActivityFailure) (or an error whose source
/// is one) keeps the activity's failure as the structured cause; see
/// [`Failure::cause`].
impl<E: std::error::Error + Send + Sync + 'static> From<E> for WorkflowError {
    fn from(error: E) -> Self {
        WorkflowError { failure: crate::activity::failure_of(&error) }
    }
}

impl fmt::Debug for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.failure, f)
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.failure, f)
    }
}
