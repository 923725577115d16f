//! Messages into a running workflow: signals, queries and updates.
//!
//! The stubs ([`Signal`], [`Query`], [`Update`]) are typed by the workflow
//! they belong to and by their input and output, so a client call with the
//! wrong input, or a stub of another workflow, does not compile. A
//! `#[workflow]` impl block makes one associated constant per handler
//! (`Order::approve`); a function workflow declares its signals as
//! constants of its own ([`Signal::new`]) and reads them from a
//! [`SignalChannel`].
//!
//! [`Handlers`] is the table the engine dispatches on: built once per
//! registered workflow type, from the generated code, and type-erased
//! here so the machine only sees payloads.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Shared, WorkflowState};
use super::definition::{WorkflowError, WorkflowResult};
use super::machine::panic_message;
use super::{Canceled, WorkflowContext};
use crate::PayloadError;
use crate::history::{Failure, Payload, UpdateOutcome};

macro_rules! stub {
    ($(#[$doc:meta])* $name:ident <$($t:ident),+>) => {
        $(#[$doc])*
        pub struct $name<$($t),+> {
            name: &'static str,
            _types: PhantomData<fn() -> ($($t,)+)>,
        }

        impl<$($t),+> $name<$($t),+> {
            /// The registered name.
            pub fn name(&self) -> &'static str {
                self.name
            }
        }

        impl<$($t),+> Clone for $name<$($t),+> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<$($t),+> Copy for $name<$($t),+> {}

        impl<$($t),+> std::fmt::Debug for $name<$($t),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.name).finish()
            }
        }
    };
}

stub! {
    /// A typed signal of workflow `W` with input `I`: data delivered durably,
    /// without a reply ([`Client::signal`](crate::Client::signal)).
    ///
    /// A `#[workflow]` impl block makes one per `#[signal]` method
    /// (`Order::approve`). A function workflow declares its own and reads
    /// them with [`WorkflowContext::signal_channel`]:
    ///
    /// ```
    /// use weft::workflow::Signal;
    /// use weft::{workflow, WorkflowContext, WorkflowResult};
    ///
    /// #[workflow]
    /// async fn door(ctx: WorkflowContext) -> WorkflowResult<String> {
    ///     let mut knocks = ctx.signal_channel(KNOCK);
    ///     Ok(knocks.recv().await?)
    /// }
    ///
    /// /// Someone knocked, and said who.
    /// pub const KNOCK: Signal<door, String> = Signal::new("knock");
    /// ```
    Signal<W, I>
}

stub! {
    /// A typed query of workflow `W`: input `I`, answer `O`
    /// ([`Client::query`](crate::Client::query)). Made by `#[workflow]` for
    /// each `#[query]` method.
    Query<W, I, O>
}

stub! {
    /// A typed update of workflow `W`: input `I`, result `O`
    /// ([`Client::update`](crate::Client::update)). Made by `#[workflow]` for
    /// each `#[update]` method.
    Update<W, I, O>
}

impl<W, I> Signal<W, I> {
    /// The signal of `W` registered as `name`, with input `I`.
    pub const fn new(name: &'static str) -> Self {
        Signal { name, _types: PhantomData }
    }
}

impl<W, I, O> Query<W, I, O> {
    #[doc(hidden)]
    pub const fn __new(name: &'static str) -> Self {
        Query { name, _types: PhantomData }
    }
}

impl<W, I, O> Update<W, I, O> {
    #[doc(hidden)]
    pub const fn __new(name: &'static str) -> Self {
        Update { name, _types: PhantomData }
    }
}

/// Why a query got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryError {
    Unknown,
    Payload(PayloadError),
    Panic(String),
}

/// Why an update was not accepted: nothing of it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rejection {
    /// No update of this name.
    Unknown,
    /// The validator (or the input's decoding) refused it.
    Rejected(Failure),
}

impl Rejection {
    /// The failure recorded for the caller: its type tells an unknown name apart.
    pub(crate) fn into_failure(self, name: &str) -> Failure {
        match self {
            Rejection::Unknown => {
                Failure::new(UNKNOWN_UPDATE, format!("the workflow has no update `{name}`")).non_retryable()
            }
            Rejection::Rejected(failure) => failure,
        }
    }
}

/// An update's input that does not decode to its handler's type.
pub(crate) fn input_rejected(error: PayloadError) -> Failure {
    Failure::new("PayloadError", format!("update input rejected: {error}")).non_retryable()
}

/// The error type of the rejection of an update with no handler.
pub(crate) const UNKNOWN_UPDATE: &str = "UnknownUpdate";

/// A running update handler: its result, encoded.
pub(crate) type UpdateFuture = Pin<Box<dyn Future<Output = UpdateOutcome> + Send>>;

type SignalFn<S> = Box<dyn Fn(&mut S, &Payload) -> Result<(), PayloadError> + Send + Sync>;
type QueryFn<S> = Box<dyn Fn(&S, &Payload, usize) -> Result<Payload, QueryError> + Send + Sync>;
type ValidateFn<S> = Box<dyn Fn(&S, &Payload) -> Result<(), Failure> + Send + Sync>;
type UpdateFn<S> =
    Box<dyn Fn(&WorkflowContext<S>, &Payload, usize) -> Result<UpdateFuture, PayloadError> + Send + Sync>;

enum Handler<S> {
    Signal(SignalFn<S>),
    Query(QueryFn<S>),
    Update { validator: Option<ValidateFn<S>>, run: UpdateFn<S> },
}

/// The message handlers of a workflow type over its state `S`, by name:
/// what [`WorkflowDefinition::handlers`](super::WorkflowDefinition::handlers)
/// returns. `#[workflow]` on an impl block builds it from the block's
/// `#[signal]`, `#[query]`, `#[update]` and `#[validator]` methods.
pub struct Handlers<S> {
    by_name: HashMap<&'static str, Handler<S>>,
}

impl<S> std::fmt::Debug for Handlers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.by_name.keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("Handlers").field("names", &names).finish()
    }
}

impl<S> Default for Handlers<S> {
    fn default() -> Self {
        Handlers { by_name: HashMap::new() }
    }
}

fn encode<O: Serialize>(output: &O, limit: usize, what: &str) -> Result<Payload, Failure> {
    Payload::encode(output, limit)
        .map_err(|e| Failure::new("PayloadError", format!("{what} rejected: {e}")).non_retryable())
}

fn outcome<O: Serialize>(result: WorkflowResult<O>, limit: usize) -> UpdateOutcome {
    match result.map_err(WorkflowError::into_failure).and_then(|o| encode(&o, limit, "update result")) {
        Ok(result) => UpdateOutcome::Completed { result },
        Err(failure) => UpdateOutcome::Failed { failure },
    }
}

impl<S: Send + 'static> Handlers<S> {
    /// No handlers (a function workflow).
    pub fn new() -> Self {
        Handlers::default()
    }

    /// A signal handler: `f` changes the state.
    pub fn signal<I: DeserializeOwned + 'static>(mut self, name: &'static str, f: fn(&mut S, I)) -> Self {
        let run: SignalFn<S> = Box::new(move |state, input| {
            f(state, input.decode()?);
            Ok(())
        });
        self.by_name.insert(name, Handler::Signal(run));
        self
    }

    /// A query handler: `f` reads the state.
    pub fn query<I: DeserializeOwned + 'static, O: Serialize + 'static>(
        mut self,
        name: &'static str,
        f: fn(&S, I) -> O,
    ) -> Self {
        let run: QueryFn<S> = Box::new(move |state, input, limit| {
            let input = input.decode().map_err(QueryError::Payload)?;
            Payload::encode(&f(state, input), limit).map_err(QueryError::Payload)
        });
        self.by_name.insert(name, Handler::Query(run));
        self
    }

    /// An update handler that runs at once, on the state.
    pub fn update<I: DeserializeOwned + 'static, O: Serialize + 'static>(
        mut self,
        name: &'static str,
        f: fn(&mut S, I) -> WorkflowResult<O>,
    ) -> Self {
        let run: UpdateFn<S> = Box::new(move |ctx, input, limit| {
            let input: I = input.decode()?;
            let result = ctx.state_mut(|state| f(state, input));
            Ok(Box::pin(std::future::ready(outcome(result, limit))))
        });
        self.by_name.insert(name, Handler::Update { validator: None, run });
        self
    }

    /// An update handler that runs as a future beside the workflow's body:
    /// it may run activities and wait on timers.
    pub fn async_update<I, O, F>(mut self, name: &'static str, f: fn(WorkflowContext<S>, I) -> F) -> Self
    where
        I: DeserializeOwned + 'static,
        O: Serialize + 'static,
        F: Future<Output = WorkflowResult<O>> + Send + 'static,
    {
        let run: UpdateFn<S> = Box::new(move |ctx, input, limit| {
            let input: I = input.decode()?;
            let future = f(ctx.clone(), input);
            Ok(Box::pin(async move { outcome(future.await, limit) }))
        });
        self.by_name.insert(name, Handler::Update { validator: None, run });
        self
    }

    /// The validator of update `name` (declared before it).
    pub fn validator<I: DeserializeOwned + 'static>(
        mut self,
        name: &'static str,
        f: fn(&S, &I) -> Result<(), WorkflowError>,
    ) -> Self {
        if let Some(Handler::Update { validator, .. }) = self.by_name.get_mut(name) {
            *validator = Some(Box::new(move |state, input| {
                let input: I = input.decode().map_err(input_rejected)?;
                f(state, &input).map_err(WorkflowError::into_failure)
            }));
        }
        self
    }
}

/// One run's workflow state and the handlers over it, type-erased: what
/// the machine dispatches messages to. It outlives the workflow's future,
/// so a closed run still answers queries.
pub(crate) trait Messages: Send {
    /// Runs the signal's handler; `None` if there is none of that name.
    fn signal(&self, name: &str, input: &Payload) -> Option<Result<(), SignalError>>;
    fn query(&self, name: &str, input: &Payload, limit: usize) -> Result<Payload, QueryError>;
    /// Runs the update's validator (if any) against the state.
    fn validate(&self, name: &str, input: &Payload) -> Result<(), Rejection>;
    /// Starts the update's handler; `None` if there is none of that name.
    fn update(&self, name: &str, input: &Payload, limit: usize) -> Option<Result<UpdateFuture, SignalError>>;
}

/// A handler could not take its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignalError {
    /// The input does not decode to the handler's type.
    Payload(PayloadError),
    /// The handler panicked.
    Panic(String),
}

/// [`Messages`] over a typed state and its handlers.
pub(crate) struct Typed<S> {
    pub(crate) ctx: WorkflowContext<S>,
    pub(crate) handlers: Arc<Handlers<S>>,
}

fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| panic_message(&*panic))
}

impl<S: Send + 'static> Messages for Typed<S> {
    fn signal(&self, name: &str, input: &Payload) -> Option<Result<(), SignalError>> {
        let Some(Handler::Signal(run)) = self.handlers.by_name.get(name) else { return None };
        Some(self.handled(catch(|| self.ctx.state_mut(|state| run(state, input)))))
    }

    fn query(&self, name: &str, input: &Payload, limit: usize) -> Result<Payload, QueryError> {
        let Some(Handler::Query(run)) = self.handlers.by_name.get(name) else { return Err(QueryError::Unknown) };
        catch(|| self.ctx.state(|state| run(state, input, limit))).map_err(QueryError::Panic)?
    }

    fn validate(&self, name: &str, input: &Payload) -> Result<(), Rejection> {
        let Some(Handler::Update { validator, .. }) = self.handlers.by_name.get(name) else {
            return Err(Rejection::Unknown);
        };
        let Some(validator) = validator else { return Ok(()) };
        match catch(|| self.ctx.state(|state| validator(state, input))) {
            Ok(result) => result.map_err(Rejection::Rejected),
            Err(panic) => Err(Rejection::Rejected(Failure::new("Panic", format!("the validator panicked: {panic}")))),
        }
    }

    fn update(&self, name: &str, input: &Payload, limit: usize) -> Option<Result<UpdateFuture, SignalError>> {
        let Some(Handler::Update { run, .. }) = self.handlers.by_name.get(name) else { return None };
        Some(self.handled(catch(|| run(&self.ctx, input, limit))))
    }
}

impl<S> Typed<S> {
    /// What a handler that ran (or panicked) gives the machine; the state may
    /// have changed, so conditions look again.
    fn handled<T>(&self, ran: Result<Result<T, PayloadError>, String>) -> Result<T, SignalError> {
        self.ctx.state.lock().progress += 1;
        match ran {
            Ok(result) => result.map_err(SignalError::Payload),
            Err(panic) => Err(SignalError::Panic(panic)),
        }
    }
}

/// The signals of one name that reached a function workflow, in order:
/// from [`WorkflowContext::signal_channel`]. Signals that arrive before the
/// channel is made wait for it.
pub struct SignalChannel<T> {
    state: Arc<Mutex<WorkflowState>>,
    name: &'static str,
    _input: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> SignalChannel<T> {
    pub(crate) fn new(state: Arc<Mutex<WorkflowState>>, name: &'static str) -> Self {
        SignalChannel { state, name, _input: PhantomData }
    }

    /// The next signal, waiting for it if none is buffered. `Err(Canceled)`
    /// if the workflow is cancelled while it waits.
    pub fn recv(&mut self) -> Recv<'_, T> {
        let cancelled = self.state.lock().cancel_requested;
        Recv { channel: self, cancelled_at_start: cancelled }
    }

    /// The next buffered signal, if there is one, without waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut s = self.state.lock();
        loop {
            let payload = s.signals.get_mut(self.name)?.pop_front()?;
            match payload.decode() {
                Ok(value) => {
                    s.progress += 1;
                    return Some(value);
                }
                Err(error) => tracing::warn!(
                    workflow_id = %s.info.workflow_id, run_id = %s.info.run_id, signal = self.name, %error,
                    "signal input does not decode to the channel's type; skipped"
                ),
            }
        }
    }
}

impl<T> std::fmt::Debug for SignalChannel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalChannel").field("name", &self.name).finish()
    }
}

/// The future of [`SignalChannel::recv`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Recv<'a, T> {
    channel: &'a mut SignalChannel<T>,
    cancelled_at_start: bool,
}

impl<T: DeserializeOwned> Future for Recv<'_, T> {
    type Output = Result<T, Canceled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(value) = self.channel.try_recv() {
            return Poll::Ready(Ok(value));
        }
        let mut s = self.channel.state.lock();
        if s.cancel_requested && !self.cancelled_at_start {
            return Poll::Ready(Err(Canceled));
        }
        s.message_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// The future of [`WorkflowContext::wait_condition`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitCondition<S, F> {
    pub(crate) state: Arc<Mutex<WorkflowState>>,
    pub(crate) shared: Arc<Shared<S>>,
    pub(crate) predicate: F,
    pub(crate) cancelled_at_start: bool,
}

impl<S, F: FnMut(&S) -> bool + Unpin> Future for WaitCondition<S, F> {
    type Output = Result<(), Canceled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.shared.with(|s| (this.predicate)(s)) {
            this.state.lock().progress += 1;
            return Poll::Ready(Ok(()));
        }
        let mut s = this.state.lock();
        if s.cancel_requested && !this.cancelled_at_start {
            return Poll::Ready(Err(Canceled));
        }
        s.message_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

impl<S, F> std::fmt::Debug for WaitCondition<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitCondition").finish_non_exhaustive()
    }
}
