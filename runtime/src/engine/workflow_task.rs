//! Workflow steps: a claimed workflow task (or a delivery to a cached
//! workflow) in, events and the task rows they imply out, one transaction.
//!
//! Every row change a step makes is derived here, from its events
//! ([`Rows::of`]); the store applies them as given.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::Inner;
use crate::history::{
    EventAttributes, HistoryEvent, MAX_HISTORY_BYTES, MAX_HISTORY_EVENTS, ParentExecution, WorkflowTimeout,
};
use crate::store::{
    ActivityFence, ActivityKey, ActivityOutcome, ActivityTask, AttemptLimits, ChildOutcome, ChildStart, Delivery,
    INBOX_GREW, InboxItem, NewRun, OutgoingSignal, Reply, ReplyBody, RunRecord, RunStart, RunStatus, StartAttributes,
    StepCommit, StepFence, TimerTask, WorkflowIdReusePolicy, WorkflowTask, new_token, timeout_of,
};
use crate::workflow::WorkflowInfo;
use crate::workflow::machine::{MachineError, WorkflowMachine};
use crate::{Error, Result};

/// What a step's transaction holds besides the step.
enum StepWrite {
    /// The step of a claimed workflow task.
    Leased { token: i64 },
    /// The run's creation: this is its first step.
    CreateRun(WorkflowIdReusePolicy),
    /// A delivery recorded directly on a cached workflow.
    Deliver(Delivery),
}

/// What a step produced: its events, the inbox items it consumed, its replies to requests.
struct Step {
    events: Vec<HistoryEvent>,
    consumed: Vec<i64>,
    replies: Vec<Reply>,
}

/// The task rows a step's events imply, and what the engine does after it commits.
#[derive(Default)]
struct Rows {
    new_activities: Vec<ActivityTask>,
    cancel_activities: Vec<u64>,
    new_timers: Vec<TimerTask>,
    cancel_timers: Vec<u64>,
    /// Activities of this step whose cancellation this process delivers.
    cancel_keys: Vec<ActivityKey>,
    signals_out: Vec<OutgoingSignal>,
    close: Option<(RunStatus, SystemTime)>,
    /// The run that continues this one (continue-as-new).
    continued: Option<NewRun>,
    children_out: Vec<ChildStart>,
    cancel_children: Vec<u64>,
    to_parent: Option<ChildOutcome>,
}

impl Rows {
    /// Derives the row changes of `events`, the new events of a step of `run`.
    fn of(run: &RunRecord, events: &[HistoryEvent], machine: Option<&WorkflowMachine>) -> Rows {
        use EventAttributes as E;
        let mut rows = Rows::default();
        for event in events {
            match &event.attributes {
                E::WorkflowExecutionStarted { run_timeout, execution_expires_at, .. } => {
                    let run_deadline = run_timeout.and_then(|t| event.timestamp.checked_add(t));
                    for (timeout, fire_at) in
                        [(WorkflowTimeout::Run, run_deadline), (WorkflowTimeout::Execution, *execution_expires_at)]
                    {
                        if let Some(fire_at) = fire_at {
                            rows.new_timers.push(TimerTask::for_timeout(&run.run_id, timeout, fire_at));
                        }
                    }
                }
                E::WorkflowExecutionContinuedAsNew { new_run_id, workflow_type, input } => {
                    rows.close = Some((RunStatus::ContinuedAsNew, event.timestamp));
                    let timeouts = machine.map(WorkflowMachine::timeouts).unwrap_or_default();
                    rows.continued = Some(NewRun {
                        run: RunRecord::new(
                            new_run_id.clone(),
                            run.workflow_id.clone(),
                            workflow_type.clone(),
                            run.task_queue.clone(),
                            event.timestamp,
                        ),
                        start: InboxItem::Start {
                            input: input.clone(),
                            signal: None,
                            attributes: StartAttributes {
                                continued_from_run_id: Some(run.run_id.clone()),
                                parent: machine.and_then(|m| m.parent().cloned()),
                                run_timeout: timeouts.run_timeout,
                                execution_timeout: timeouts.execution_timeout,
                                execution_expires_at: timeouts.execution_expires_at,
                            },
                        },
                    });
                }
                E::StartChildWorkflowExecutionInitiated {
                    workflow_id,
                    workflow_type,
                    input,
                    task_queue,
                    parent_close_policy,
                    id_reuse_policy,
                    run_timeout,
                    execution_timeout,
                    ..
                } => {
                    let parent = ParentExecution {
                        workflow_id: run.workflow_id.clone(),
                        run_id: run.run_id.clone(),
                        initiated_event_id: event.event_id,
                    };
                    let attributes = StartAttributes {
                        continued_from_run_id: None,
                        parent: Some(parent),
                        run_timeout: *run_timeout,
                        execution_timeout: *execution_timeout,
                        execution_expires_at: execution_timeout.map(|t| {
                            event.timestamp.checked_add(t).unwrap_or(event.timestamp + crate::activity::MAX_DURATION)
                        }),
                    };
                    rows.children_out.push(ChildStart {
                        initiated_event_id: event.event_id,
                        run: RunRecord::new(
                            uuid::Uuid::now_v7().to_string(),
                            workflow_id.clone(),
                            workflow_type.clone(),
                            task_queue.clone(),
                            event.timestamp,
                        ),
                        start: InboxItem::Start { input: input.clone(), signal: None, attributes },
                        reuse: *id_reuse_policy,
                        parent_close_policy: *parent_close_policy,
                    });
                }
                E::ChildWorkflowExecutionCancelRequested { initiated_event_id } => {
                    rows.cancel_children.push(*initiated_event_id);
                }
                E::ActivityTaskScheduled { seq, activity_id, activity_type, input, options } => {
                    let limits = AttemptLimits::of(options, event.timestamp);
                    rows.new_activities.push(ActivityTask {
                        key: ActivityKey { run_id: run.run_id.clone(), seq: *seq },
                        workflow_id: run.workflow_id.clone(),
                        task_queue: options.queue().unwrap_or(&run.task_queue).to_owned(),
                        scheduled_event_id: event.event_id,
                        activity_id: activity_id.clone(),
                        activity_type: activity_type.clone(),
                        input: input.clone(),
                        options: options.clone(),
                        limits,
                        scheduled_at: event.timestamp,
                        attempt: 0,
                        running: false,
                        ready_at: event.timestamp,
                        started_at: None,
                        attempt_deadline: None,
                        heartbeat_deadline: None,
                        expires_at: ActivityTask::queued_expiry(&limits, event.timestamp),
                        lease: None,
                        last_failure: None,
                        heartbeat_details: None,
                        cancel_requested: false,
                    });
                }
                E::TimerStarted { seq, duration } => rows.new_timers.push(TimerTask {
                    run_id: run.run_id.clone(),
                    seq: *seq,
                    started_event_id: event.event_id,
                    fire_at: event
                        .timestamp
                        .checked_add(*duration)
                        .unwrap_or(event.timestamp + crate::activity::MAX_DURATION),
                }),
                E::TimerCanceled { started_event_id } => rows.cancel_timers.push(*started_event_id),
                E::SignalExternalWorkflowExecutionInitiated { workflow_id, signal_name, input, .. } => {
                    rows.signals_out.push(OutgoingSignal {
                        initiated_event_id: event.event_id,
                        workflow_id: workflow_id.clone(),
                        signal_name: signal_name.clone(),
                        input: input.clone(),
                    });
                }
                E::ActivityTaskCancelRequested { scheduled_event_id } => {
                    rows.cancel_activities.push(*scheduled_event_id);
                    if let Some(seq) = machine.and_then(|m| m.activity_seq_of(*scheduled_event_id)) {
                        rows.cancel_keys.push(ActivityKey { run_id: run.run_id.clone(), seq });
                    }
                }
                other => {
                    if let Some(status) = RunStatus::after(other) {
                        rows.close = Some((status, event.timestamp));
                        // Without the machine (a termination, a timeout) the parent is not known here: the store looks.
                        if machine.is_none_or(|m| m.parent().is_some()) {
                            rows.to_parent = ChildOutcome::of(other);
                        }
                    }
                }
            }
        }
        rows
    }
}

impl Inner {
    /// Asks for a workflow step on `run_id`, a run this process runs: its
    /// workflow task is claimed (if it has inbox items and no one holds it)
    /// and stepped. Claims of one run never overlap in this process.
    pub(crate) fn schedule_workflow_task(self: &Arc<Self>, run_id: String) {
        if self.worker.is_none() || !self.mark_busy(&run_id) {
            return;
        }
        let inner = self.clone();
        self.spawn(async move { inner.drive(run_id, None).await });
    }

    /// Runs a workflow task the claim loop claimed, holding one of the workflow slots.
    pub(crate) fn run_claimed_workflow_task(self: &Arc<Self>, task: WorkflowTask, permit: OwnedSemaphorePermit) {
        let inner = self.clone();
        let run_id = task.run.run_id.clone();
        if !self.mark_busy(&run_id) {
            // This process is on the run already, and claims it again after:
            // the claim goes back, for that claim to take.
            self.spawn(async move {
                if let Err(error) = inner.store.release_workflow_task(run_id, task.lease.token).await {
                    tracing::debug!(error = %crate::ErrorChain(&error), "could not release a workflow task; it is claimed again when its lease ends");
                }
            });
            return;
        }
        self.spawn(async move {
            inner.drive(run_id, Some(task)).await;
            drop(permit);
        });
    }

    /// Marks the run busy in this process; false (and another claim asked
    /// for after the current one) if it was.
    fn mark_busy(&self, run_id: &str) -> bool {
        let mut busy = self.busy.lock();
        if let Some(again) = busy.get_mut(run_id) {
            *again = true;
            return false;
        }
        busy.insert(run_id.to_owned(), false);
        true
    }

    /// Steps the run's workflow task (`first`, or one claimed here) while
    /// more are asked for; the run is busy until it returns.
    async fn drive(self: &Arc<Self>, run_id: String, mut first: Option<WorkflowTask>) {
        let Some(worker) = self.worker.clone() else { return };
        loop {
            let task = match first.take() {
                Some(task) => Some(task),
                None => {
                    let claim = || {
                        self.store.claim_workflow_task(
                            worker.clone(),
                            run_id.clone(),
                            self.clock.now(),
                            self.config.lease,
                        )
                    };
                    match self.persist(&run_id, claim).await {
                        Ok(task) => task,
                        Err(error) => {
                            tracing::error!(run_id = %run_id, error = %crate::ErrorChain(&error), "could not claim a workflow task; it is claimed again when its lease ends");
                            None
                        }
                    }
                }
            };
            if let Some(task) = task {
                self.workflow_task(task).await;
            }
            let mut busy = self.busy.lock();
            match busy.get_mut(&run_id) {
                Some(again) if *again => *again = false,
                _ => {
                    busy.remove(&run_id);
                    return;
                }
            }
        }
    }

    /// Steps a claimed workflow task; a step the store refuses for a
    /// transient reason is run again (after backoff), a stale one dropped.
    async fn workflow_task(self: &Arc<Self>, task: WorkflowTask) {
        let run_id = task.run.run_id.clone();
        let span = tracing::info_span!("workflow", workflow_id = %task.run.workflow_id, run_id = %run_id, workflow_type = %task.run.workflow_type);
        let mut task = Some(task);
        let id = &run_id;
        let step = || {
            let task = task.take();
            async move {
                let task = match task {
                    Some(task) => task,
                    // A retry after a transient failure: the holder claims its task again.
                    None => match self.claim_again(id).await? {
                        Some(task) => task,
                        None => return Ok(()),
                    },
                };
                self.step(task).await
            }
        };
        match self.persist(&run_id, step).instrument(span).await {
            Ok(()) => {}
            Err(Error::StaleTask { reason: INBOX_GREW, .. }) => {
                // The close waits for what arrived meanwhile: this worker,
                // which still holds the task, claims it again with those items.
                tracing::debug!(run_id = %run_id, "new inbox items arrived as the run closed; stepped again");
                self.evict(&run_id);
                if let Some(again) = self.busy.lock().get_mut(&run_id) {
                    *again = true;
                }
            }
            Err(Error::StaleTask { .. }) => {
                tracing::debug!(run_id = %run_id, "the workflow task's lease was lost; its new holder runs it");
                self.evict(&run_id);
            }
            Err(error) if self.is_stopped() => drop(error),
            Err(error) => {
                tracing::error!(run_id = %run_id, error = %crate::ErrorChain(&error), "workflow step failed; it is retried when its lease ends");
                self.evict(&run_id);
            }
        }
    }

    /// Claims again a workflow task this worker holds (its step failed for a transient reason).
    async fn claim_again(&self, run_id: &str) -> Result<Option<WorkflowTask>> {
        let Some(worker) = &self.worker else { return Ok(None) };
        self.store.claim_workflow_task(worker.clone(), run_id.to_owned(), self.clock.now(), self.config.lease).await
    }

    async fn step(self: &Arc<Self>, task: WorkflowTask) -> Result<()> {
        let WorkflowTask { run, inbox, lease } = task;
        let token = lease.token;
        if run.status != RunStatus::Running {
            self.evict(&run.run_id);
            return Ok(());
        }
        if inbox.is_empty() {
            return self.store.release_workflow_task(run.run_id.clone(), token).await;
        }
        let now = self.clock.now();
        let consumed: Vec<i64> = inbox.iter().map(|e| e.id).collect();
        // Termination and a timeout do not run the workflow's code (it may be the code that is broken).
        let ending = inbox.iter().find_map(|e| match &e.item {
            InboxItem::Terminate { reason } => {
                Some(EventAttributes::WorkflowExecutionTerminated { reason: reason.clone() })
            }
            _ => None,
        });
        let ending = ending.or_else(|| {
            inbox.iter().find_map(|e| match &e.item {
                InboxItem::TimerFired { started_event_id } => {
                    timeout_of(*started_event_id).map(|timeout| EventAttributes::WorkflowExecutionTimedOut { timeout })
                }
                _ => None,
            })
        });
        if let Some(ending) = ending {
            return self.close_without_code(&run, now, ending, consumed, token).await;
        }
        let machine = match self.machine_for(&run).await {
            Err(stale @ Error::StaleTask { .. }) => {
                // Claimed again (by this worker, after the lease goes back) for a fresh read.
                tracing::debug!(run_id = %run.run_id, error = %stale, "claimed again");
                let _ = self.store.release_workflow_task(run.run_id.clone(), token).await;
                if let Some(again) = self.busy.lock().get_mut(&run.run_id) {
                    *again = true;
                }
                return Ok(());
            }
            result => result?,
        };
        let mut machine = match machine {
            Ok(machine) => machine,
            // Another worker may have the type: let it claim the run.
            Err(MachineError::Unregistered(_)) if !self.store.exclusive() => {
                return self.store.release_workflow_task(run.run_id.clone(), token).await;
            }
            Err(error) => return self.hold(&run, token, error).await,
        };
        let mut replies = Vec::new();
        for entry in inbox {
            if let Err(error) = record_inbox_item(&mut machine, &run, now, entry.item, &mut replies) {
                return self.hold(&run, token, error).await;
            }
        }
        if let Err(error) = machine.flush(now) {
            return self.hold(&run, token, error).await;
        }
        // Local activities run here, under the task's lease (which the
        // renewal loop keeps); their markers commit with the rest of the step.
        if let Err(error) = self.run_local_activities(&run, &mut machine).await {
            return self.hold(&run, token, error).await;
        }
        let events = machine.take_new_events();
        if let Some(reason) = over_limits(&run, events.len(), &machine) {
            // A history past its hard limits would only grow slower to replay: the run ends here.
            tracing::error!(workflow_id = %run.workflow_id, run_id = %run.run_id, %reason, "workflow run terminated");
            let reason =
                format!("{reason}; a workflow that runs long continues as new (`ctx.continue_as_new`) before that");
            let ending = EventAttributes::WorkflowExecutionTerminated { reason };
            return self.close_without_code(&run, now, ending, consumed, token).await;
        }
        let step = Step { events, consumed, replies };
        self.commit_step(&run, step, Some(machine), StepWrite::Leased { token }).await
    }

    /// Closes the run with `ending` (a termination, a timeout), without running its code.
    async fn close_without_code(
        self: &Arc<Self>,
        run: &RunRecord,
        now: SystemTime,
        ending: EventAttributes,
        consumed: Vec<i64>,
        token: i64,
    ) -> Result<()> {
        self.evict(&run.run_id);
        let step =
            Step { events: vec![HistoryEvent::new(run.next_event_id, now, ending)], consumed, replies: Vec::new() };
        self.commit_step(run, step, None, StepWrite::Leased { token }).await
    }

    /// The cached machine, or one rebuilt by replaying the history.
    async fn machine_for(&self, run: &RunRecord) -> Result<Result<WorkflowMachine, MachineError>> {
        let cached = self.cache.lock().as_mut().and_then(|c| c.pop(&run.run_id));
        if let Some(machine) = cached.filter(|m| m.next_event_id() == run.next_event_id) {
            return Ok(Ok(machine));
        }
        let Some(factory) = self.registry.workflows.get(run.workflow_type.as_str()) else {
            return Ok(Err(MachineError::Unregistered(run.workflow_type.clone())));
        };
        let mut machine = WorkflowMachine::new(factory.clone(), info_of(run), self.config.payload_limit);
        // A run with no events yet has no history to read (a step that
        // committed meanwhile is refused by the commit's fence).
        let read = if run.next_event_id <= 1 {
            Ok(Vec::new())
        } else {
            self.store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await
        };
        let history = match read {
            Ok(history) => history,
            Err(Error::CorruptHistory { reason, .. }) => {
                return Ok(Err(MachineError::Corrupt(reason)));
            }
            Err(e) => return Err(e),
        };
        if history.len() as u64 + 1 > run.next_event_id {
            // A step committed after the claim read the run: the claim (and its
            // inbox) is stale; stepping it could record an inbox item twice.
            return Err(Error::StaleTask {
                run_id: run.run_id.clone(),
                task: "workflow task".to_owned(),
                reason: "its history moved on after the claim read the run",
            });
        }
        if history.len() as u64 + 1 != run.next_event_id {
            return Ok(Err(MachineError::Corrupt(format!(
                "the run expects {} events, the history has {}",
                run.next_event_id - 1,
                history.len()
            ))));
        }
        Ok(machine.replay(&history).map(|()| machine))
    }

    /// Holds the run: no worker advances it until one that started later
    /// (with other code, perhaps) claims it.
    async fn hold(&self, run: &RunRecord, token: i64, error: MachineError) -> Result<()> {
        let reason = error.to_string();
        tracing::error!(workflow_id = %run.workflow_id, run_id = %run.run_id, %reason, "workflow run held");
        self.evict(&run.run_id);
        self.store.hold_run(run.run_id.clone(), Some(token), Some(reason), self.clock.now()).await
    }

    /// Starts a new run. When this process runs its workflow, the first step
    /// runs here, in memory, and commits with the run itself (one
    /// transaction, not two); otherwise, or when that step cannot run
    /// cleanly, the run starts with its input in the inbox, for a worker to
    /// claim (and hold, if it must).
    pub(crate) async fn start_run(
        self: &Arc<Self>,
        run: RunRecord,
        input: crate::history::Payload,
        signal: Option<(String, crate::history::Payload)>,
        attributes: StartAttributes,
        reuse: WorkflowIdReusePolicy,
    ) -> Result<()> {
        let now = run.created_at;
        let start = InboxItem::Start { input, signal, attributes };
        if self.runs_workflow(&run.task_queue, &run.workflow_type)
            && let Some(factory) = self.registry.workflows.get(run.workflow_type.as_str())
        {
            let mut machine = WorkflowMachine::new(factory.clone(), info_of(&run), self.config.payload_limit);
            let first = record_inbox_item(&mut machine, &run, now, start.clone(), &mut Vec::new())
                .and_then(|()| machine.flush(now));
            // A step that runs local activities needs the task's lease: it goes through the inbox.
            if first.is_ok() && machine.local_activities().is_empty() {
                let step = Step { events: machine.take_new_events(), consumed: Vec::new(), replies: Vec::new() };
                return self.commit_step(&run, step, Some(machine), StepWrite::CreateRun(reuse)).await;
            }
        }
        self.store.create_run(run.clone(), RunStart::Inbox(start), reuse).await?;
        self.wake_for(&run.run_id, &run.task_queue, &run.workflow_type);
        Ok(())
    }

    /// A run has new inbox items: if this process runs it, claim it now.
    pub(crate) fn wake_for(self: &Arc<Self>, run_id: &str, task_queue: &str, workflow_type: &str) {
        if self.runs_workflow(task_queue, workflow_type) {
            self.schedule_workflow_task(run_id.to_owned());
        }
    }

    /// Records `delivery` (an activity's close, a timer's fire) with the step
    /// that records it, in one transaction, when the run's workflow is in
    /// this process's cache and no step of it is under way. False when that
    /// path is not open (or the store refused it): nothing was written, and
    /// the caller delivers through the inbox.
    pub(crate) async fn deliver_with_step(
        self: &Arc<Self>,
        run_id: &str,
        item: InboxItem,
        delivery: Delivery,
    ) -> Result<bool> {
        {
            let mut busy = self.busy.lock();
            if busy.contains_key(run_id) {
                return Ok(false);
            }
            busy.insert(run_id.to_owned(), false);
        }
        let result = self.deliver_to_cached_machine(run_id, item, delivery).await;
        let again = self.busy.lock().remove(run_id) == Some(true);
        if again {
            self.schedule_workflow_task(run_id.to_owned());
        }
        match result {
            Err(Error::StaleTask { .. }) => Ok(false),
            other => other,
        }
    }

    async fn deliver_to_cached_machine(
        self: &Arc<Self>,
        run_id: &str,
        item: InboxItem,
        delivery: Delivery,
    ) -> Result<bool> {
        let Some(mut machine) = self.cache.lock().as_mut().and_then(|c| c.pop(run_id)) else {
            return Ok(false);
        };
        let run = RunRecord {
            run_id: run_id.to_owned(),
            workflow_id: machine.workflow_id(),
            workflow_type: machine.workflow_type(),
            task_queue: machine.task_queue(),
            status: RunStatus::Running,
            created_at: SystemTime::UNIX_EPOCH,
            closed_at: None,
            next_event_id: machine.next_event_id(),
            held: None,
            held_at: None,
            lease: None,
            sticky: None,
        };
        let now = self.clock.now();
        // A workflow that fails here is held by the ordinary step, from the inbox.
        if record_inbox_item(&mut machine, &run, now, item, &mut Vec::new()).and_then(|()| machine.flush(now)).is_err()
        {
            return Ok(false);
        }
        // Local activities run only under the task's lease: through the inbox
        // then (the machine is dropped, and rebuilt by replay).
        if !machine.local_activities().is_empty() {
            return Ok(false);
        }
        let events = machine.take_new_events();
        if over_limits(&run, events.len(), &machine).is_some() {
            return Ok(false); // The ordinary step ends the run.
        }
        let step = Step { events, consumed: Vec::new(), replies: Vec::new() };
        // Boxed: a step's commit is a large future, and without the box every
        // running activity's and timer's task would be that large too.
        Box::pin(self.commit_step(&run, step, Some(machine), StepWrite::Deliver(delivery))).await?;
        Ok(true)
    }

    /// An activity's close, recorded with its step when the workflow is cached.
    pub(crate) async fn close_with_step(
        self: &Arc<Self>,
        task: &ActivityTask,
        fence: &ActivityFence,
        outcome: &ActivityOutcome,
    ) -> Result<bool> {
        let item = InboxItem::ActivityClosed {
            scheduled_event_id: task.scheduled_event_id,
            attempt: task.attempt,
            last_failure: task.last_failure.clone(),
            outcome: outcome.clone(),
            // As the store's close reads it from the row: the running attempt's start, if one runs.
            started_at: task.started_at,
        };
        let delivery = Delivery::ActivityClosed(fence.clone());
        self.deliver_with_step(&task.key.run_id, item, delivery).await
    }

    /// A timer this worker started is due: its fire is recorded with its step
    /// when the workflow is cached here, else its run is claimed (the claim fires it).
    pub(crate) async fn fire_timer(self: &Arc<Self>, timer: TimerTask) {
        if timer.timeout().is_some() {
            // The run's timeout: its claim fires it, and the step closes the run.
            return self.schedule_workflow_task(timer.run_id);
        }
        let cached = self
            .cache
            .lock()
            .as_mut()
            .and_then(|c| c.peek(&timer.run_id).map(|m| m.timer_pending(timer.started_event_id)));
        if cached == Some(false) {
            return; // Cancelled (or fired) meanwhile: nothing to deliver, and the cached workflow stays.
        }
        let item = InboxItem::TimerFired { started_event_id: timer.started_event_id };
        let delivery = Delivery::TimerFired { seq: timer.seq };
        match self.deliver_with_step(&timer.run_id, item, delivery).await {
            Ok(true) => {}
            Ok(false) | Err(_) => self.schedule_workflow_task(timer.run_id),
        }
    }

    /// Commits a step (with what `how` adds to its transaction), then carries
    /// out what it asks: activities, timers, cancellations, the cache. A
    /// refused step (`StaleTask`) wrote nothing.
    async fn commit_step(
        self: &Arc<Self>,
        run: &RunRecord,
        step: Step,
        machine: Option<WorkflowMachine>,
        how: StepWrite,
    ) -> Result<()> {
        let Step { events, consumed, replies } = step;
        let mut rows = Rows::of(run, &events, machine.as_ref());
        let worker_id = self.worker.as_ref().map_or_else(String::new, |w| w.worker_id.clone());
        // First attempts this worker runs and has a free slot for start in
        // this step's transaction instead of in a claim of their own.
        let mut eager = Vec::new();
        if rows.close.is_none() {
            let now = events.last().map_or_else(|| self.clock.now(), |e| e.timestamp);
            let token = new_token();
            for task in &mut rows.new_activities {
                let permit = if self.runs_activity(&task.task_queue, &task.activity_type) {
                    self.activity_slots.clone().try_acquire_owned().ok()
                } else if self.store.exclusive() && self.polls(&task.task_queue) {
                    // No other process can ever run this type: the attempt
                    // fails at once (`ActivityNotRegistered`), without a slot.
                    Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned().ok()
                } else {
                    None
                };
                match permit {
                    Some(permit) => {
                        task.start_attempt(&worker_id, token, now);
                        eager.push((task.key.seq, permit));
                    }
                    None if self.runs_activity(&task.task_queue, &task.activity_type) => self.poller.starve(),
                    None => {}
                }
            }
        }
        let last_event_id = run.next_event_id + events.len() as u64 - 1;
        let close_event = events.last().filter(|e| e.attributes.is_close()).cloned();
        let (fence, delivered) = match &how {
            StepWrite::Leased { token } => (StepFence::Leased { token: *token }, None),
            StepWrite::CreateRun(_) => (StepFence::Unleased, None),
            StepWrite::Deliver(delivery) => (StepFence::Unleased, Some(delivery.clone())),
        };
        let commit = StepCommit {
            run_id: run.run_id.clone(),
            fence,
            first_event_id: run.next_event_id,
            events,
            consumed,
            delivered,
            new_activities: rows.new_activities,
            cancel_activities: rows.cancel_activities,
            new_timers: rows.new_timers,
            cancel_timers: rows.cancel_timers,
            close: rows.close,
            worker_id,
            replies,
            signals_out: rows.signals_out,
            continued: rows.continued,
            children_out: rows.children_out,
            cancel_children: rows.cancel_children,
            to_parent: rows.to_parent,
            may_have_children: rows.close.is_some() && machine.as_ref().is_none_or(WorkflowMachine::started_children),
        };
        let children: Vec<RunRecord> = commit.children_out.iter().map(|c| c.run.clone()).collect();
        // Another run's inbox may get an item: a child's, or a parent's.
        let others_told = !commit.cancel_children.is_empty() || commit.to_parent.is_some() || commit.may_have_children;
        let continued = commit.continued.as_ref().map(|next| next.run.clone());
        // What runs after the commit, kept before the commit takes the rows.
        let eager_tasks: Vec<ActivityTask> =
            commit.new_activities.iter().filter(|t| t.lease.is_some()).cloned().collect();
        // A signal to another workflow may be to a run of this process.
        let queued = commit.new_activities.len() > eager_tasks.len() || !commit.signals_out.is_empty();
        let timers = commit.new_timers.clone();
        let committed = match how {
            StepWrite::CreateRun(reuse) => {
                self.store.create_run(run.clone(), RunStart::Step(commit), reuse).await.map(|()| false)
            }
            StepWrite::Leased { .. } | StepWrite::Deliver(_) => self.store.commit_workflow_task(commit).await,
        };
        let ready_again = match committed {
            Ok(ready) => ready,
            Err(error) => {
                if matches!(error, Error::StaleTask { .. }) {
                    tracing::debug!(run_id = %run.run_id, "the run moved on during the step; its new holder runs it");
                }
                self.evict(&run.run_id);
                return Err(error);
            }
        };
        if last_event_id >= crate::history::HISTORY_WARN_EVENTS
            && run.next_event_id <= crate::history::HISTORY_WARN_EVENTS
        {
            tracing::warn!(workflow_id = %run.workflow_id, run_id = %run.run_id, events = last_event_id,
                limit = MAX_HISTORY_EVENTS,
                "history is over 10 000 events; replay slows down. Continue as new (`ctx.continue_as_new`) to start a fresh history; the run is terminated at the limit");
        }
        self.notify_stepped(&run.run_id);
        let closed = close_event.is_some() || rows.close.is_some();
        // Cached before any activity starts: an attempt that ends at once
        // finds the workflow in memory (and can close with its step).
        if !closed
            && let Some(machine) = machine
            && let Some(cache) = self.cache.lock().as_mut()
        {
            cache.put(run.run_id.clone(), machine);
        }
        let mut permits: std::collections::HashMap<u32, OwnedSemaphorePermit> = eager.into_iter().collect();
        for task in eager_tasks {
            if let Some(permit) = permits.remove(&task.key.seq) {
                self.run_claimed_activity(task, permit);
            }
        }
        if queued || others_told {
            // Other workers hear of them from the store; this one's claim loop from here.
            self.poller.wake();
        }
        for child in children {
            self.wake_for(&child.run_id, &child.task_queue, &child.workflow_type);
        }
        for timer in timers {
            self.arm_timer(timer);
        }
        for key in rows.cancel_keys {
            self.cancel_activity(key);
        }
        if closed {
            self.abandon_attempts(&run.run_id);
            self.notify_closed(&run.run_id, close_event.as_ref());
            if let Some(next) = continued {
                self.wake_for(&next.run_id, &next.task_queue, &next.workflow_type);
            }
        } else if ready_again {
            self.schedule_workflow_task(run.run_id.clone());
        }
        Ok(())
    }

    fn arm_timer(&self, timer: TimerTask) {
        let at = self.clock.instant_at(timer.fire_at);
        self.timers.push(at, timer);
    }

    pub(crate) fn evict(&self, run_id: &str) {
        if let Some(cache) = self.cache.lock().as_mut() {
            cache.pop(run_id);
        }
    }
}

/// Why a step of `new_events` events would take the run past its history's
/// hard limits, if it would.
fn over_limits(run: &RunRecord, new_events: usize, machine: &WorkflowMachine) -> Option<String> {
    let events = run.next_event_id - 1 + new_events as u64;
    if events > MAX_HISTORY_EVENTS {
        return Some(format!("the history reached its limit of {MAX_HISTORY_EVENTS} events"));
    }
    let bytes = machine.history_bytes();
    (bytes > MAX_HISTORY_BYTES)
        .then(|| format!("the history's payloads reached their limit of {MAX_HISTORY_BYTES} bytes ({bytes} bytes)"))
}

pub(super) fn info_of(run: &RunRecord) -> WorkflowInfo {
    WorkflowInfo {
        workflow_id: run.workflow_id.clone(),
        run_id: run.run_id.clone(),
        workflow_type: run.workflow_type.clone(),
        task_queue: run.task_queue.clone(),
    }
}

/// Turns one inbox item into events, applied to the machine as they are
/// recorded; what it answers (a rejected update, a query) goes to `replies`, not to history.
fn record_inbox_item(
    machine: &mut WorkflowMachine,
    run: &RunRecord,
    now: std::time::SystemTime,
    item: InboxItem,
    replies: &mut Vec<Reply>,
) -> Result<(), MachineError> {
    use EventAttributes as E;
    match item {
        InboxItem::Start { input, signal, attributes } => {
            machine.record(
                now,
                E::WorkflowExecutionStarted {
                    workflow_type: run.workflow_type.clone(),
                    workflow_id: run.workflow_id.clone(),
                    run_id: run.run_id.clone(),
                    input,
                    continued_from_run_id: attributes.continued_from_run_id,
                    run_timeout: attributes.run_timeout,
                    execution_timeout: attributes.execution_timeout,
                    execution_expires_at: attributes.execution_expires_at,
                    parent: attributes.parent,
                },
            )?;
            if let Some((signal_name, input)) = signal {
                machine.record(now, E::WorkflowExecutionSignaled { signal_name, input })?;
            }
        }
        InboxItem::Signal { signal_name, input } => {
            machine.record(now, E::WorkflowExecutionSignaled { signal_name, input })?;
        }
        InboxItem::Update { update_id, update_name, input, request_id } => {
            if let Some(failure) = machine.admit_update(now, update_id, update_name, input)? {
                replies.push(Reply { request_id, body: ReplyBody::UpdateRejected { failure } });
            }
        }
        InboxItem::ExternalSignaled { initiated_event_id, outcome } => {
            let event = match outcome {
                Ok(run_id) => E::ExternalWorkflowExecutionSignaled { initiated_event_id, run_id },
                Err(reason) => E::SignalExternalWorkflowExecutionFailed { initiated_event_id, reason },
            };
            machine.record(now, event)?;
        }
        InboxItem::Query { query_name, input, request_id } => {
            let body = super::messages::reply_to_query(machine.query(&query_name, &input, machine.payload_limit()));
            replies.push(Reply { request_id, body });
        }
        InboxItem::ActivityClosed { scheduled_event_id, attempt, last_failure, outcome, started_at } => {
            let started_event_id = if attempt > 0 {
                let started = E::ActivityTaskStarted {
                    scheduled_event_id,
                    attempt,
                    last_failure: last_failure.clone(),
                    started_time: started_at,
                };
                machine.record(now, started)?
            } else {
                0
            };
            let closing = match outcome {
                ActivityOutcome::Completed { result } => {
                    E::ActivityTaskCompleted { scheduled_event_id, started_event_id, result }
                }
                ActivityOutcome::Failed { failure } => {
                    E::ActivityTaskFailed { scheduled_event_id, started_event_id, failure }
                }
                ActivityOutcome::TimedOut { timeout_type, last_failure } => {
                    E::ActivityTaskTimedOut { scheduled_event_id, timeout_type, last_failure }
                }
                ActivityOutcome::Canceled => E::ActivityTaskCanceled { scheduled_event_id },
            };
            machine.record(now, closing)?;
        }
        InboxItem::TimerFired { started_event_id } => {
            machine.record(now, E::TimerFired { started_event_id })?;
        }
        InboxItem::CancelRequested { reason } => {
            machine.record(now, E::WorkflowExecutionCancelRequested { reason })?;
        }
        InboxItem::Terminate { .. } => {
            unreachable!("termination is handled before the machine runs")
        }
        InboxItem::ChildStarted { initiated_event_id, outcome } => {
            let event = match outcome {
                Ok(run_id) => E::ChildWorkflowExecutionStarted { initiated_event_id, run_id },
                Err((existing_run_id, status)) => {
                    let reason = crate::store::refusal_reason(&status);
                    E::StartChildWorkflowExecutionFailed { initiated_event_id, existing_run_id, reason }
                }
            };
            machine.record(now, event)?;
        }
        InboxItem::ChildClosed { initiated_event_id, outcome } => {
            let event = match outcome {
                ChildOutcome::Completed { result } => E::ChildWorkflowExecutionCompleted { initiated_event_id, result },
                ChildOutcome::Failed { failure } => E::ChildWorkflowExecutionFailed { initiated_event_id, failure },
                ChildOutcome::Canceled => E::ChildWorkflowExecutionCanceled { initiated_event_id },
                ChildOutcome::TimedOut { timeout } => E::ChildWorkflowExecutionTimedOut { initiated_event_id, timeout },
                ChildOutcome::Terminated { reason } => {
                    E::ChildWorkflowExecutionTerminated { initiated_event_id, reason }
                }
            };
            machine.record(now, event)?;
        }
    }
    Ok(())
}

/// Replays a whole history against registered code, outside any engine.
pub(crate) fn replay(registry: &super::Registry, history: &[HistoryEvent]) -> Result<()> {
    let Some(EventAttributes::WorkflowExecutionStarted { workflow_type, workflow_id, run_id, .. }) =
        history.first().map(HistoryEvent::attributes)
    else {
        return Err(Error::CorruptHistory {
            workflow_id: String::new(),
            run_id: String::new(),
            reason: "a history starts with `WorkflowExecutionStarted`".to_owned(),
        });
    };
    let factory = registry
        .workflows
        .get(workflow_type.as_str())
        .ok_or_else(|| Error::UnknownWorkflowType { workflow_type: workflow_type.clone() })?;
    let info = WorkflowInfo {
        workflow_id: workflow_id.clone(),
        run_id: run_id.clone(),
        workflow_type: workflow_type.clone(),
        task_queue: super::DEFAULT_TASK_QUEUE.to_owned(),
    };
    let mut machine = WorkflowMachine::new(factory.clone(), info, usize::MAX);
    machine.replay(history).map_err(|error| match error {
        MachineError::NonDeterminism { event_id, expected, found } => Error::NonDeterminism {
            workflow_id: workflow_id.clone(),
            run_id: run_id.clone(),
            event_id,
            expected,
            found,
        },
        MachineError::Panic(message) => {
            Error::WorkflowPanicked { workflow_id: workflow_id.clone(), run_id: run_id.clone(), message }
        }
        MachineError::Unregistered(workflow_type) => Error::UnknownWorkflowType { workflow_type },
        MachineError::Stalled => Error::WorkflowStalled {
            workflow_id: workflow_id.clone(),
            run_id: run_id.clone(),
            message: MachineError::Stalled.to_string(),
        },
        MachineError::Corrupt(reason) => {
            Error::CorruptHistory { workflow_id: workflow_id.clone(), run_id: run_id.clone(), reason }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::{MAX_HISTORY_EVENTS, over_limits};
    use crate::store::RunRecord;
    use crate::workflow::WorkflowInfo;
    use crate::workflow::machine::{WorkflowFactory, WorkflowMachine};

    #[test]
    fn a_step_past_the_event_limit_is_refused_with_the_limit_in_its_reason() {
        let factory: WorkflowFactory = Arc::new(|_, _| unreachable!("no event is applied"));
        let info = WorkflowInfo {
            workflow_id: "wf".into(),
            run_id: "run".into(),
            workflow_type: "t".into(),
            task_queue: "q".into(),
        };
        let machine = WorkflowMachine::new(factory, info, usize::MAX);
        let mut run = RunRecord::new("run".into(), "wf".into(), "t".into(), "q".into(), SystemTime::UNIX_EPOCH);
        // The history holds MAX - 2 events: two more reach the limit, three pass it.
        run.next_event_id = MAX_HISTORY_EVENTS - 1;
        assert_eq!(over_limits(&run, 2, &machine), None);
        let reason = over_limits(&run, 3, &machine).expect("past the limit");
        assert!(reason.contains("51200 events"), "{reason}");
    }
}
