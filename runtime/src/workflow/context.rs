//! The workflow context: the only door from workflow code to the world.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::de::DeserializeOwned;

use super::command::Command;
use crate::activity::{
    Activity, ActivityFailure, ActivityOptions, CallOptions, CancellationType, RetryPolicy, TimeoutType,
};
use crate::history::{Failure, Payload, RetryState};

/// The workflow's handle on the engine: activities, timers, time and randomness,
/// all recorded in history so that replay sees the same values.
///
/// Passed as the first argument of every `#[workflow]` function. Cloning is cheap.
///
/// `S` is the state a `#[workflow]` impl block shares between its `#[run]`
/// body and its message handlers (`()` for a function workflow): read it
/// with [`state`](Self::state), change it with [`state_mut`](Self::state_mut),
/// wait on it with [`wait_condition`](Self::wait_condition).
pub struct WorkflowContext<S = ()> {
    pub(crate) state: Arc<Mutex<WorkflowState>>,
    pub(crate) shared: Arc<Shared<S>>,
}

impl<S> Clone for WorkflowContext<S> {
    fn clone(&self) -> Self {
        WorkflowContext { state: self.state.clone(), shared: self.shared.clone() }
    }
}

/// The workflow's own state, shared by its body and its handlers. Only one
/// of them runs at a time (the machine polls them in turn), so the lock is
/// never contended; taking it again from inside is a bug, reported as a panic.
pub(crate) struct Shared<S>(Mutex<S>);

impl<S> Shared<S> {
    pub(crate) fn new(state: S) -> Self {
        Shared(Mutex::new(state))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let mut guard = self.0.try_lock().unwrap_or_else(|| {
            panic!("the workflow's state is already borrowed: `ctx.state(..)` or `ctx.state_mut(..)` called from inside another")
        });
        f(&mut guard)
    }
}

/// Identity of the run, as seen by workflow code.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowInfo {
    pub(crate) workflow_id: String,
    pub(crate) run_id: String,
    pub(crate) workflow_type: String,
    /// The run's task queue: its activities' queue unless they name another.
    pub(crate) task_queue: String,
}

/// How an activity ended, as recorded in history.
#[derive(Debug, Clone)]
pub(crate) enum ActivityResolution {
    Completed(Payload),
    Failed {
        scheduled_event_id: u64,
        attempt: u32,
        failure: Failure,
    },
    TimedOut {
        scheduled_event_id: u64,
        timeout_type: TimeoutType,
        last_failure: Option<Failure>,
    },
    /// `None`: cancelled before `ActivityTaskScheduled` was recorded, or resolved early.
    Canceled {
        scheduled_event_id: Option<u64>,
    },
}

/// A local activity the code asked for: the engine runs it in the step and
/// records its end as a `MarkerRecorded` event, which resolves its slot.
#[derive(Debug, Clone)]
pub(crate) struct LocalActivityRequest {
    pub(crate) seq: u32,
    pub(crate) activity_id: String,
    pub(crate) activity_type: String,
    pub(crate) input: Payload,
    pub(crate) options: ActivityOptions,
}

#[derive(Debug)]
pub(crate) struct Slot<T> {
    pub(crate) result: Option<T>,
    pub(crate) waker: Option<Waker>,
    pub(crate) cancel_requested: bool,
    pub(crate) cancellation_type: CancellationType,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { result: None, waker: None, cancel_requested: false, cancellation_type: CancellationType::default() }
    }
}

impl<T> Slot<T> {
    pub(crate) fn resolve(&mut self, value: T) {
        self.result = Some(value);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// State shared by the context, the futures it hands out, and the machine.
#[derive(Debug)]
pub(crate) struct WorkflowState {
    pub(crate) info: WorkflowInfo,
    pub(crate) now: SystemTime,
    pub(crate) next_seq: u32,
    pub(crate) commands: Vec<Command>,
    /// Activities' slots, local ones included.
    pub(crate) activities: HashMap<u32, Slot<ActivityResolution>>,
    /// Local activities asked for and not yet recorded, by seq (their slots are in `activities`).
    pub(crate) local_activities: BTreeMap<u32, LocalActivityRequest>,
    /// `true` when fired, `false` when cancelled with the workflow.
    pub(crate) timers: HashMap<u32, Slot<bool>>,
    /// Signals to other workflows: `Err(reason)` if nothing got them.
    pub(crate) external_signals: HashMap<u32, Slot<Result<(), String>>>,
    /// Child workflows, until their handle has read their end.
    pub(crate) children: HashMap<u32, super::child::ChildSlots>,
    /// Whether the run started a child (its close then applies the children's parent close policies).
    pub(crate) started_children: bool,
    pub(crate) cancel_requested: bool,
    pub(crate) rng: u64,
    pub(crate) payload_limit: usize,
    /// Set while the machine tears the workflow down: drops issue no commands then.
    pub(crate) closing: bool,
    /// Signals no handler took, by name, oldest first: kept for a
    /// [`SignalChannel`](super::SignalChannel) of that name.
    pub(crate) signals: HashMap<String, VecDeque<Payload>>,
    /// Futures waiting on messages or on the state (signal channels,
    /// conditions): woken to look again after anything happened.
    pub(crate) message_wakers: Vec<Waker>,
    /// Counts what may change the state or wake a condition: the machine
    /// looks at conditions again while it moves.
    pub(crate) progress: u64,
    /// The run may close while update handlers still run.
    pub(crate) allow_unfinished_handlers: bool,
    /// What [`WorkflowContext::continue_as_new`] asked for: the workflow type and its input.
    pub(crate) continue_as_new: Option<(String, Payload)>,
    /// Set while the machine replays recorded events: every command the code
    /// issues then is in the history already, so `patched` reads the history.
    pub(crate) replaying: bool,
    /// The patch ids the history being replayed has a marker for.
    pub(crate) recorded_patches: HashSet<String>,
    /// Each patch id's answer in this run, once asked: later calls agree.
    pub(crate) patches: HashMap<String, bool>,
}

/// The error type of what [`WorkflowContext::continue_as_new`] returns: the
/// machine continues the run as new when the body returns it.
pub(crate) const CONTINUE_AS_NEW: &str = "ContinueAsNew";

impl WorkflowState {
    pub(crate) fn new(info: WorkflowInfo, payload_limit: usize) -> Self {
        // Seed from the run id: the same run draws the same numbers on every replay.
        let rng =
            info.run_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        WorkflowState {
            info,
            now: SystemTime::UNIX_EPOCH,
            next_seq: 1,
            commands: Vec::new(),
            activities: HashMap::new(),
            local_activities: BTreeMap::new(),
            timers: HashMap::new(),
            external_signals: HashMap::new(),
            children: HashMap::new(),
            started_children: false,
            cancel_requested: false,
            rng,
            payload_limit,
            closing: false,
            signals: HashMap::new(),
            message_wakers: Vec::new(),
            progress: 0,
            allow_unfinished_handlers: false,
            continue_as_new: None,
            replaying: false,
            recorded_patches: HashSet::new(),
            patches: HashMap::new(),
        }
    }

    /// Whether the run takes the new branch of change `patch_id`; the first
    /// time it does, the marker is recorded (`RecordPatch`). Live, it does;
    /// on replay, it does if the history has the marker. Asked once per run.
    fn patch(&mut self, patch_id: &str, deprecated: bool) -> bool {
        if let Some(&patched) = self.patches.get(patch_id) {
            return patched;
        }
        let patched = !self.replaying || self.recorded_patches.contains(patch_id);
        if patched {
            self.commands.push(Command::RecordPatch { patch_id: patch_id.to_owned(), deprecated });
        }
        self.patches.insert(patch_id.to_owned(), patched);
        patched
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Whether an activity or timer of the workflow is still to resolve: an
    /// event will then wake it. (A handle never polled counts too: its
    /// resolution may be what the workflow waits for next.)
    pub(crate) fn awaits_weft(&self) -> bool {
        self.activities.values().any(|s| s.result.is_none())
            || self.timers.values().any(|s| s.result.is_none())
            || self.external_signals.values().any(|s| s.result.is_none())
            || self.children.values().any(super::child::ChildSlots::pending)
            || !self.message_wakers.is_empty()
    }

    /// Requests cancellation of activity `seq`, as its cancellation type says.
    pub(crate) fn cancel_activity(&mut self, seq: u32) {
        let Some(slot) = self.activities.get_mut(&seq) else { return };
        if slot.result.is_some() || slot.cancel_requested {
            return;
        }
        slot.cancel_requested = true;
        let cancellation_type = slot.cancellation_type;
        if cancellation_type != CancellationType::WaitCancellationCompleted {
            slot.resolve(ActivityResolution::Canceled { scheduled_event_id: None });
        }
        // A local activity has no command to cancel: the engine, which runs
        // it in this step, reads the slot (resolved: dropped; else told).
        if cancellation_type != CancellationType::Abandon && !self.local_activities.contains_key(&seq) {
            self.commands.push(Command::RequestCancelActivity { seq });
        }
    }

    /// Requests cancellation of child `seq`, if it started and is open.
    pub(crate) fn cancel_child(&mut self, seq: u32) {
        let Some(slots) = self.children.get_mut(&seq) else { return };
        if !matches!(slots.started.result, Some(Ok(_)))
            || slots.closed.result.is_some()
            || slots.closed.cancel_requested
        {
            return;
        }
        slots.closed.cancel_requested = true;
        self.commands.push(Command::CancelChild { seq });
    }

    /// The workflow is cancelled: its activities are cancelled (each as its
    /// type says), so are its started children, and its timers resolve to
    /// `Err(Canceled)`, in seq order.
    pub(crate) fn cancel_workflow(&mut self) {
        self.cancel_requested = true;
        let mut children: Vec<u32> = self.children.keys().copied().collect();
        children.sort_unstable();
        for seq in children {
            self.cancel_child(seq);
        }
        let mut activities: Vec<u32> = self.activities.keys().copied().collect();
        activities.sort_unstable();
        for seq in activities {
            self.cancel_activity(seq);
        }
        let mut timers: Vec<u32> = self.timers.iter().filter(|(_, t)| t.result.is_none()).map(|(s, _)| *s).collect();
        timers.sort_unstable();
        for seq in timers {
            if let Some(slot) = self.timers.get_mut(&seq) {
                slot.resolve(false);
            }
            self.commands.push(Command::CancelTimer { seq });
        }
    }

    /// splitmix64.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl<S> WorkflowContext<S> {
    pub(crate) fn new(state: Arc<Mutex<WorkflowState>>, shared: S) -> Self {
        WorkflowContext { state, shared: Arc::new(Shared::new(shared)) }
    }

    /// Reads the workflow's state (what its handlers share with its body).
    pub fn state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        self.shared.with(|s| f(s))
    }

    /// Changes the workflow's state.
    pub fn state_mut<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let result = self.shared.with(f);
        self.state.lock().progress += 1;
        result
    }

    /// Waits until `predicate` holds on the workflow's state, as handlers
    /// change it: looked at again after every event and every change, the
    /// same way on every replay. `Err(Canceled)` if the workflow is
    /// cancelled while it waits.
    ///
    /// ```
    /// # use weft::{WorkflowContext, WorkflowResult};
    /// # #[derive(Default)] struct Order { approved: bool }
    /// # async fn body(ctx: WorkflowContext<Order>) -> WorkflowResult<()> {
    /// ctx.wait_condition(|order| order.approved).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_condition<F: FnMut(&S) -> bool + Unpin>(&self, predicate: F) -> super::WaitCondition<S, F> {
        let cancelled_at_start = self.state.lock().cancel_requested;
        super::WaitCondition { state: self.state.clone(), shared: self.shared.clone(), predicate, cancelled_at_start }
    }

    /// The signals named like `signal` that reach this run, in order of
    /// arrival, decoded; those that came before the channel was made (and
    /// that no `#[signal]` handler took) are waiting in it.
    pub fn signal_channel<W, I: serde::de::DeserializeOwned>(
        &self,
        signal: super::Signal<W, I>,
    ) -> super::SignalChannel<I> {
        super::SignalChannel::new(self.state.clone(), signal.name())
    }

    /// Signals the open run of `workflow_id` (`SignalExternalWorkflowExecutionInitiated`
    /// here, `WorkflowExecutionSignaled` there, in one transaction); the
    /// future resolves once it is delivered, with an error if that workflow
    /// has no open run. Dropping it does not take the signal back.
    pub fn signal_external<W, I: serde::Serialize>(
        &self,
        workflow_id: impl Into<String>,
        signal: super::Signal<W, I>,
        input: I,
    ) -> ExternalSignal {
        let workflow_id = workflow_id.into();
        let signal_name = signal.name();
        let mut s = self.state.lock();
        let input = match Payload::encode(&input, s.payload_limit) {
            Ok(input) => input,
            Err(e) => {
                let error = ExternalSignalError { workflow_id, signal_name, reason: format!("input rejected: {e}") };
                return ExternalSignal {
                    state: self.state.clone(),
                    seq: 0,
                    early: Some(error),
                    workflow_id: String::new(),
                    signal_name,
                };
            }
        };
        let seq = s.next_seq();
        let slot =
            Slot { result: None, waker: None, cancel_requested: false, cancellation_type: CancellationType::default() };
        s.external_signals.insert(seq, slot);
        s.commands.push(Command::SignalExternal {
            seq,
            workflow_id: workflow_id.clone(),
            signal_name: signal_name.to_owned(),
            input,
        });
        drop(s);
        ExternalSignal { state: self.state.clone(), seq, early: None, workflow_id, signal_name }
    }

    /// Starts a child workflow: `workflow` (a `#[workflow]` stub) with
    /// `input`, its type's input (or the call does not compile), under
    /// `options` (its workflow id first). The future resolves to a
    /// [`ChildWorkflowHandle`](super::ChildWorkflowHandle) once the child's
    /// run exists (it is created in the transaction of the step that starts
    /// it), or to [`ChildWorkflowFailure::AlreadyStarted`](super::ChildWorkflowFailure::AlreadyStarted)
    /// if its id is held by an open run. The handle is a future of the
    /// child's result, typed by its output, and signals and cancels it.
    ///
    /// ```
    /// use weft::workflow::ChildWorkflowOptions;
    /// use weft::{workflow, WorkflowContext, WorkflowResult};
    ///
    /// #[workflow]
    /// async fn invoice(_ctx: WorkflowContext, order: u64) -> WorkflowResult<String> {
    ///     Ok(format!("invoice for order {order}"))
    /// }
    ///
    /// #[workflow]
    /// async fn order(ctx: WorkflowContext, id: u64) -> WorkflowResult<String> {
    ///     let child = ctx.start_child_workflow(invoice, id, ChildWorkflowOptions::new(format!("invoice-{id}"))).await?;
    ///     Ok(child.await?)
    /// }
    /// # let _ = weft::Engine::builder().register_workflow(invoice).register_workflow(order);
    /// ```
    pub fn start_child_workflow<W: crate::Workflow>(
        &self,
        workflow: W,
        input: W::Input,
        options: super::ChildWorkflowOptions,
    ) -> super::StartChildWorkflow<W::Definition> {
        let _ = workflow;
        super::child::start::<W, S>(self, &input, options)
    }

    /// Starts a child workflow and waits for its result: `start_child_workflow(..)` then its handle.
    pub fn execute_child_workflow<W: crate::Workflow>(
        &self,
        workflow: W,
        input: W::Input,
        options: super::ChildWorkflowOptions,
    ) -> impl Future<Output = Result<W::Output, super::ChildWorkflowFailure>> + Send + 'static {
        let start = self.start_child_workflow(workflow, input, options);
        async move { start.await?.await }
    }

    /// Lets the run close while update handlers still run: their callers
    /// get [`Error::NotRunning`](crate::Error::NotRunning). By default a
    /// workflow whose body returned closes only once its handlers are done.
    pub fn allow_unfinished_handlers(&self) {
        self.state.lock().allow_unfinished_handlers = true;
    }

    /// Closes this run and starts a new run of the same workflow id with
    /// `input` and a fresh history: return what it returns from the body.
    /// The run closes as `WorkflowExecutionContinuedAsNew` (naming the new
    /// run), the new one starts with `WorkflowExecutionStarted` (naming this
    /// one), and [`WorkflowHandle::result`](crate::WorkflowHandle::result)
    /// follows the chain to the last run's result. A workflow that loops for
    /// ever (a subscription, a stream) continues as new every few thousand
    /// events, so that its history stays short and its replay fast.
    ///
    /// `workflow` is the workflow's own stub (or another workflow's, to
    /// continue as that one); `input` must be its input type, or the call
    /// does not compile. The run's task queue and timeouts carry over; the
    /// execution timeout counts from the first run.
    ///
    /// ```
    /// use weft::{workflow, WorkflowContext, WorkflowResult};
    ///
    /// #[workflow]
    /// async fn count_up(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
    ///     if n < 3 {
    ///         return ctx.continue_as_new(count_up, n + 1);
    ///     }
    ///     Ok(n)
    /// }
    /// # let _ = weft::Engine::builder().register_workflow(count_up);
    /// ```
    pub fn continue_as_new<W: crate::Workflow, T>(&self, workflow: W, input: W::Input) -> super::WorkflowResult<T> {
        let _ = workflow;
        let mut s = self.state.lock();
        let input = Payload::encode(&input, s.payload_limit).map_err(|e| {
            super::WorkflowError::new(format!("continue-as-new input rejected: {e}")).with_type("PayloadError")
        })?;
        s.continue_as_new = Some((W::NAME.to_owned(), input));
        Err(super::WorkflowError::new(format!("the run continues as a new run of `{}`", W::NAME))
            .with_type(CONTINUE_AS_NEW))
    }

    /// Whether this run takes the new branch of the code change `patch_id`:
    /// how a workflow's code changes while runs of the old code are open.
    ///
    /// - A run that gets here live (a new run, or an old one past its
    ///   replay) takes the new branch: `true`, and the step records a
    ///   `MarkerRecorded` event (a [`Marker::Patch`](crate::history::Marker::Patch)).
    /// - On replay, `true` if the history has that marker, else `false` (the
    ///   run passed here with the old code: it keeps the old branch, and
    ///   nothing is recorded).
    /// - The answer is kept for the run: later calls with the same id give
    ///   the same answer and record nothing.
    ///
    /// Once no open run lacks the marker, replace the call with
    /// [`deprecate_patch`](Self::deprecate_patch) and the old branch with
    /// nothing; then remove it. A `patched` call removed while a history has
    /// its marker is non-determinism. See `docs/versioning.md`.
    ///
    /// ```
    /// use weft::history::{EventAttributes, Marker};
    /// use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};
    ///
    /// #[activity(start_to_close_timeout = "10s")]
    /// async fn print_label(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    ///     Ok(format!("label for {order}"))
    /// }
    ///
    /// #[activity(start_to_close_timeout = "10s")]
    /// async fn print_eco_label(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    ///     Ok(format!("recycled label for {order}"))
    /// }
    ///
    /// #[workflow]
    /// async fn shipment(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
    ///     let options = ActivityOptions::defaults();
    ///     let label = if ctx.patched("eco-label") {
    ///         ctx.execute_activity(print_eco_label, order, options).await? // the new code
    ///     } else {
    ///         ctx.execute_activity(print_label, order, options).await? // what open runs did
    ///     };
    ///     Ok(label)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> weft::Result<()> {
    /// let builder = weft::Engine::builder()
    ///     .register_workflow(shipment)
    ///     .register_activity(print_label)
    ///     .register_activity(print_eco_label);
    /// let env = weft::testing::TestEnv::start(builder).await?;
    /// let handle = env.client().start_workflow(shipment, "order-7", "order 7".to_owned()).await?;
    /// assert_eq!(handle.result().await?, "recycled label for order 7");
    /// let marker = Marker::Patch { patch_id: "eco-label".to_owned(), deprecated: false };
    /// let history = handle.history().await?;
    /// assert!(history.iter().any(|e| *e.attributes() == EventAttributes::MarkerRecorded { marker: marker.clone() }));
    /// env.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn patched(&self, patch_id: &str) -> bool {
        self.state.lock().patch(patch_id, false)
    }

    /// The second step of a change made with [`patched`](Self::patched),
    /// once no open run lacks its marker: the old branch is gone and the new
    /// code runs unconditionally, but histories with the marker still replay.
    ///
    /// Live, it records the marker with `deprecated: true` (once per run);
    /// on replay it matches the history's marker if there is one and
    /// records nothing if not. Code without the call at all replays
    /// histories whose marker is deprecated (they are skipped), so once no
    /// open run has a non-deprecated marker, the call can go.
    ///
    /// ```
    /// # use weft::{WorkflowContext, WorkflowResult};
    /// # async fn body(ctx: WorkflowContext) -> WorkflowResult<()> {
    /// ctx.deprecate_patch("eco-label");
    /// // ... only the new branch's code from here on
    /// # Ok(()) }
    /// ```
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.state.lock().patch(patch_id, true);
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> String {
        self.state.lock().info.workflow_id.clone()
    }

    /// The run id.
    pub fn run_id(&self) -> String {
        self.state.lock().info.run_id.clone()
    }

    /// The registered workflow type.
    pub fn workflow_type(&self) -> String {
        self.state.lock().info.workflow_type.clone()
    }

    /// The workflow's current time: the time of the event being processed,
    /// the same on every replay. Use it instead of `SystemTime::now()`.
    pub fn now(&self) -> SystemTime {
        self.state.lock().now
    }

    /// A random number, the same on every replay. Use it instead of `rand::random()`.
    pub fn random(&self) -> u64 {
        self.state.lock().next_random()
    }

    /// A random (version 4) UUID, the same on every replay. Use it instead of `Uuid::new_v4()`.
    pub fn uuid(&self) -> String {
        let (a, b) = {
            let mut s = self.state.lock();
            (s.next_random(), s.next_random())
        };
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()
    }

    /// Schedules an activity and returns a handle: a future of its result,
    /// which can also [`cancel`](ActivityHandle::cancel) it.
    ///
    /// `options` is [`ActivityOptions::start_to_close(..)`](ActivityOptions::start_to_close)
    /// (or `schedule_to_close`), or [`ActivityOptions::defaults()`] for an
    /// activity whose attribute declares a timeout; either way, what the call
    /// leaves unset comes from the activity's attribute.
    ///
    /// The call is recorded as `ActivityTaskScheduled` when the current
    /// workflow step commits. Invalid options or an input over the payload
    /// limit schedule nothing: the handle resolves to an error at once.
    pub fn start_activity<A: Activity>(
        &self,
        activity: A,
        input: A::Input,
        options: impl CallOptions<A>,
    ) -> ActivityHandle<A::Output> {
        let _ = activity;
        self.call::<A>(input, options.resolve(), false)
    }

    /// Runs an activity in this worker, inside the current workflow step,
    /// without a task-queue round trip, and returns a handle on its result
    /// (a future of the activity's output, with the same
    /// [`ActivityFailure`]s as [`execute_activity`](Self::execute_activity)).
    ///
    /// The step runs the activity (attempts, timeouts and retries of its
    /// options, backoff included) before it commits, and records its end
    /// once, as a `MarkerRecorded` event; nothing is scheduled, no other
    /// worker can run it, and it cannot heartbeat to the store. For short,
    /// idempotent calls, where scheduling would cost more than the call: a
    /// crash while it runs commits nothing, and the next step runs it again.
    ///
    /// The options are checked as for [`start_activity`](Self::start_activity);
    /// their task queue and schedule-to-start timeout mean nothing here.
    /// Cancelling the handle (or the workflow) before the activity's end is
    /// recorded resolves it to [`ActivityFailure::Canceled`] at once and
    /// drops the attempt, except with
    /// [`CancellationType::WaitCancellationCompleted`], which tells the
    /// attempt and waits for its end. See "Local activities" in `docs/activities.md`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};
    ///
    /// #[activity]
    /// async fn price_of(_ctx: ActivityContext, sku: String) -> Result<u64, ActivityError> {
    ///     Ok(if sku == "tea" { 350 } else { 100 })
    /// }
    ///
    /// #[workflow]
    /// async fn quote(ctx: WorkflowContext, sku: String) -> WorkflowResult<u64> {
    ///     let options = ActivityOptions::start_to_close(Duration::from_secs(2));
    ///     Ok(ctx.execute_local_activity(price_of, sku, options).await?)
    /// }
    /// # let _ = weft::Engine::builder().register_workflow(quote).register_activity(price_of);
    /// ```
    pub fn execute_local_activity<A: Activity>(
        &self,
        activity: A,
        input: A::Input,
        options: impl CallOptions<A>,
    ) -> ActivityHandle<A::Output> {
        let _ = activity;
        self.call::<A>(input, options.resolve(), true)
    }

    /// An activity call: scheduled (a command), or local (a request the step runs).
    fn call<A: Activity>(&self, input: A::Input, options: ActivityOptions, local: bool) -> ActivityHandle<A::Output> {
        let activity_type = A::NAME.to_owned();
        if let Err(source) = options.validate() {
            return ActivityHandle::failed(&self.state, ActivityFailure::InvalidOptions { activity_type, source });
        }
        let mut s = self.state.lock();
        let input = match Payload::encode(&input, s.payload_limit) {
            Ok(input) => input,
            Err(source) => {
                drop(s);
                return ActivityHandle::failed(&self.state, ActivityFailure::Payload { activity_type, source });
            }
        };
        let seq = s.next_seq();
        let activity_id = options.id().map_or_else(|| seq.to_string(), str::to_owned);
        let cancellation_type = options.cancellation();
        let retry = options.retry();
        s.activities.insert(seq, Slot { result: None, waker: None, cancel_requested: false, cancellation_type });
        if local {
            let request = LocalActivityRequest { seq, activity_id: activity_id.clone(), activity_type, input, options };
            s.local_activities.insert(seq, request);
        } else {
            s.commands.push(Command::ScheduleActivity {
                seq,
                activity_id: activity_id.clone(),
                activity_type,
                input,
                options,
            });
        }
        drop(s);
        ActivityHandle {
            state: self.state.clone(),
            seq,
            activity_type: A::NAME,
            activity_id,
            retry,
            early: None,
            _output: PhantomData,
        }
    }

    /// Runs an activity and waits for its result: `start_activity(..).await`.
    ///
    /// Only compiles when `input` is the activity's input type; the result is
    /// its output type.
    pub fn execute_activity<A: Activity>(
        &self,
        activity: A,
        input: A::Input,
        options: impl CallOptions<A>,
    ) -> ActivityHandle<A::Output> {
        self.start_activity(activity, input, options)
    }

    /// A durable timer: completes after `duration` of workflow time, recorded
    /// as `TimerStarted` / `TimerFired`; it survives engine restarts.
    /// Dropping it before it fires cancels it (`TimerCanceled`). Await it
    /// with `?`: it fails with [`Canceled`] when the workflow is cancelled.
    pub fn sleep(&self, duration: Duration) -> Timer {
        let mut s = self.state.lock();
        let seq = s.next_seq();
        s.timers.insert(seq, Slot::default());
        s.commands.push(Command::StartTimer { seq, duration });
        Timer { state: self.state.clone(), seq, fired: false }
    }

    /// Whether cancellation of this workflow was requested. Its activities
    /// and timers are cancelled then; a workflow that returns an error after
    /// that is recorded as `WorkflowExecutionCanceled`.
    pub fn is_cancel_requested(&self) -> bool {
        self.state.lock().cancel_requested
    }
}

impl<S> std::fmt::Debug for WorkflowContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("WorkflowContext")
            .field("workflow_id", &s.info.workflow_id)
            .field("run_id", &s.info.run_id)
            .finish()
    }
}

/// A scheduled activity: a future of its result that can also cancel it.
///
/// Dropping a handle without awaiting it does not cancel the activity: it
/// runs to its end and its result is recorded, but nobody reads it.
#[must_use = "an activity handle does nothing unless awaited; drop does not cancel it"]
pub struct ActivityHandle<O> {
    state: Arc<Mutex<WorkflowState>>,
    seq: u32,
    activity_type: &'static str,
    activity_id: String,
    /// The call's retry policy: it says why a failure was not retried.
    retry: RetryPolicy,
    early: Option<ActivityFailure>,
    _output: PhantomData<fn() -> O>,
}

impl<O> ActivityHandle<O> {
    fn failed(state: &Arc<Mutex<WorkflowState>>, failure: ActivityFailure) -> Self {
        ActivityHandle {
            state: state.clone(),
            seq: 0,
            activity_type: "",
            activity_id: String::new(),
            retry: RetryPolicy::default(),
            early: Some(failure),
            _output: PhantomData,
        }
    }

    /// The activity id (empty if the activity was not scheduled).
    pub fn activity_id(&self) -> &str {
        &self.activity_id
    }

    /// Requests cancellation (`ActivityTaskCancelRequested`).
    ///
    /// With [`CancellationType::TryCancel`] (the default) and
    /// [`CancellationType::Abandon`] the handle resolves to
    /// [`ActivityFailure::Canceled`] at once; with
    /// [`CancellationType::WaitCancellationCompleted`] it waits until the
    /// activity has ended. Cancelling an activity that already ended does nothing.
    pub fn cancel(&self) {
        if self.early.is_some() {
            return;
        }
        self.state.lock().cancel_activity(self.seq);
    }
}

impl<O: DeserializeOwned> Future for ActivityHandle<O> {
    type Output = Result<O, ActivityFailure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(failure) = self.early.take() {
            return Poll::Ready(Err(failure));
        }
        let mut s = self.state.lock();
        let Some(slot) = s.activities.get_mut(&self.seq) else {
            panic!("`ActivityHandle` polled after it completed");
        };
        let Some(resolution) = slot.result.clone() else {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        let cancel_requested = slot.cancel_requested;
        s.activities.remove(&self.seq);
        drop(s);
        let activity_type = self.activity_type.to_owned();
        let activity_id = self.activity_id.clone();
        Poll::Ready(match resolution {
            ActivityResolution::Completed(payload) => {
                payload.decode().map_err(|source| ActivityFailure::Payload { activity_type, source })
            }
            ActivityResolution::Failed { scheduled_event_id, attempt, failure } => {
                // The engine's reasons not to retry, in its order (activity_task.rs, `retry_or_close`).
                let retry_state = if failure.is_non_retryable() || !self.retry.is_retryable(failure.error_type()) {
                    RetryState::NonRetryableFailure
                } else if cancel_requested && (self.retry.attempts() == 0 || attempt < self.retry.attempts()) {
                    RetryState::CancelRequested
                } else {
                    RetryState::MaximumAttemptsReached
                };
                Err(ActivityFailure::Failed {
                    activity_type,
                    activity_id,
                    scheduled_event_id,
                    attempt,
                    retry_state,
                    failure,
                })
            }
            ActivityResolution::TimedOut { scheduled_event_id, timeout_type, last_failure } => {
                Err(ActivityFailure::TimedOut {
                    activity_type,
                    activity_id,
                    scheduled_event_id,
                    timeout_type,
                    last_failure,
                })
            }
            ActivityResolution::Canceled { scheduled_event_id } => {
                Err(ActivityFailure::Canceled { activity_type, activity_id, scheduled_event_id })
            }
        })
    }
}

impl<O> std::fmt::Debug for ActivityHandle<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityHandle")
            .field("activity_type", &self.activity_type)
            .field("activity_id", &self.activity_id)
            .finish()
    }
}

/// A signal sent to another workflow with [`WorkflowContext::signal_external`]:
/// resolves once it is delivered (`Ok`) or found undeliverable.
#[must_use = "the signal is sent either way; await it to know whether it was delivered"]
pub struct ExternalSignal {
    state: Arc<Mutex<WorkflowState>>,
    seq: u32,
    early: Option<ExternalSignalError>,
    workflow_id: String,
    signal_name: &'static str,
}

impl Future for ExternalSignal {
    type Output = Result<(), ExternalSignalError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(error) = self.early.take() {
            return Poll::Ready(Err(error));
        }
        let mut s = self.state.lock();
        let Some(slot) = s.external_signals.get_mut(&self.seq) else {
            panic!("`ExternalSignal` polled after it completed");
        };
        let Some(result) = slot.result.clone() else {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        s.external_signals.remove(&self.seq);
        drop(s);
        Poll::Ready(result.map_err(|reason| ExternalSignalError {
            workflow_id: self.workflow_id.clone(),
            signal_name: self.signal_name,
            reason,
        }))
    }
}

impl std::fmt::Debug for ExternalSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalSignal")
            .field("workflow_id", &self.workflow_id)
            .field("signal", &self.signal_name)
            .finish()
    }
}

/// A signal to another workflow was not delivered: that workflow has no
/// open run (or the input was refused). `?` turns it into a `WorkflowError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signal `{signal_name}` to workflow `{workflow_id}` was not delivered: {reason}")]
pub struct ExternalSignalError {
    /// The workflow signalled.
    pub workflow_id: String,
    /// The signal's name.
    pub signal_name: &'static str,
    /// Why it was not delivered.
    pub reason: String,
}

/// The workflow was cancelled while this timer ran. `?` turns it into a
/// [`WorkflowError`](crate::WorkflowError), which ends the run as cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the workflow was cancelled")]
pub struct Canceled;

/// A durable timer from [`WorkflowContext::sleep`]: `Ok(())` when it fires,
/// `Err(Canceled)` if the workflow is cancelled first.
#[must_use = "a timer does nothing unless awaited"]
pub struct Timer {
    state: Arc<Mutex<WorkflowState>>,
    seq: u32,
    fired: bool,
}

impl Future for Timer {
    type Output = Result<(), Canceled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.state.lock();
        let slot = s.timers.get_mut(&self.seq).expect("a timer's slot lives until the timer is dropped");
        if let Some(fired) = slot.result {
            drop(s);
            self.fired = true;
            Poll::Ready(if fired { Ok(()) } else { Err(Canceled) })
        } else {
            slot.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let mut s = self.state.lock();
        let fired = s.timers.remove(&self.seq).is_some_and(|slot| slot.result.is_some()) || self.fired;
        if !fired && !s.closing {
            s.commands.push(Command::CancelTimer { seq: self.seq });
        }
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer").field("seq", &self.seq).finish()
    }
}
