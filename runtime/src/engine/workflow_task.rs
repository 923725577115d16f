//! Workflow steps: inbox in, events out, one transaction.

use std::sync::Arc;

use tracing::Instrument;

use super::Inner;
use crate::client::WorkflowIdReusePolicy;
use crate::history::{EventAttributes, HistoryEvent};
use crate::store::{
    ActivityKey, ActivityOutcome, ActivityTask, InboxEntry, InboxItem, RunRecord, RunStart, RunStatus, TimerTask,
    WorkflowTaskCommit,
};
use crate::workflow::WorkflowInfo;
use crate::workflow::machine::{MachineError, WorkflowMachine};
use crate::{Error, Result};

/// What a step's transaction holds besides the step.
enum StepWrite {
    /// The step alone.
    Step,
    /// The run's creation: this is its first step.
    CreateRun(WorkflowIdReusePolicy),
    /// The close of an activity attempt, which this step records.
    CloseActivity { key: ActivityKey, attempt: u32 },
}

/// What a committed step asks of the engine.
enum Effect {
    Dispatch(Box<ActivityTask>),
    Arm(TimerTask),
    Cancel(ActivityKey),
    Closed,
}

impl Inner {
    /// Asks for a workflow step on `run_id`; steps of one run never overlap.
    pub(crate) fn schedule_workflow_task(self: &Arc<Self>, run_id: String) {
        {
            let mut busy = self.busy.lock();
            if let Some(again) = busy.get_mut(&run_id) {
                *again = true;
                return;
            }
            busy.insert(run_id.clone(), false);
        }
        let inner = self.clone();
        self.spawn(async move {
            loop {
                // A step the store refuses for a transient reason is run again (after backoff).
                if let Err(error) = inner.persist(&run_id, || inner.workflow_task(&run_id)).await
                    && !inner.is_stopped()
                {
                    tracing::error!(run_id = %run_id, error = %crate::ErrorChain(&error), "workflow step failed; it is retried on the next event or restart");
                }
                let mut busy = inner.busy.lock();
                match busy.get_mut(&run_id) {
                    Some(again) if *again => *again = false,
                    _ => {
                        busy.remove(&run_id);
                        return;
                    }
                }
            }
        });
    }

    async fn workflow_task(self: &Arc<Self>, run_id: &str) -> Result<()> {
        let Some((run, inbox)) = self.store.step_input(run_id.to_owned()).await? else {
            return Ok(());
        };
        if run.status != RunStatus::Running {
            self.evict(run_id);
            return Ok(());
        }
        if inbox.is_empty() {
            return Ok(());
        }
        let span = tracing::info_span!("workflow", workflow_id = %run.workflow_id, run_id = %run.run_id, workflow_type = %run.workflow_type);
        self.step(run, inbox).instrument(span).await
    }

    async fn step(self: &Arc<Self>, run: RunRecord, inbox: Vec<InboxEntry>) -> Result<()> {
        let now = self.clock.now();
        let consumed: Vec<i64> = inbox.iter().map(|e| e.id).collect();
        // Termination does not run the workflow's code (it may be the code that is broken).
        if let Some(reason) = inbox.iter().find_map(|e| match &e.item {
            InboxItem::Terminate { reason } => Some(reason.clone()),
            _ => None,
        }) {
            self.evict(&run.run_id);
            let event =
                HistoryEvent::new(run.next_event_id, now, EventAttributes::WorkflowExecutionTerminated { reason });
            return self.commit(&run, vec![event], consumed, None).await;
        }
        let mut machine = match self.machine_for(&run).await? {
            Ok(machine) => machine,
            Err(error) => return self.hold(&run, error).await,
        };
        for entry in inbox {
            if let Err(error) = record_inbox_item(&mut machine, &run, now, entry.item) {
                return self.hold(&run, error).await;
            }
        }
        if let Err(error) = machine.flush(now) {
            return self.hold(&run, error).await;
        }
        let events = machine.take_new_events();
        self.commit(&run, events, consumed, Some(machine)).await
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
        let info = WorkflowInfo {
            workflow_id: run.workflow_id.clone(),
            run_id: run.run_id.clone(),
            workflow_type: run.workflow_type.clone(),
        };
        let mut machine = WorkflowMachine::new(factory.clone(), info, self.config.payload_limit);
        let history = match self.store.history(run.run_id.clone(), run.workflow_id.clone(), 0).await {
            Ok(history) => history,
            Err(Error::CorruptHistory { reason, .. }) => {
                return Ok(Err(MachineError::Corrupt(reason)));
            }
            Err(e) => return Err(e),
        };
        if history.len() as u64 + 1 != run.next_event_id {
            return Ok(Err(MachineError::Corrupt(format!(
                "the run expects {} events, the history has {}",
                run.next_event_id - 1,
                history.len()
            ))));
        }
        Ok(machine.replay(&history).map(|()| machine))
    }

    /// Holds the run: it is not advanced until code that can run it does.
    async fn hold(&self, run: &RunRecord, error: MachineError) -> Result<()> {
        let reason = error.to_string();
        tracing::error!(workflow_id = %run.workflow_id, run_id = %run.run_id, %reason, "workflow run held");
        self.evict(&run.run_id);
        self.store.hold_run(run.run_id.clone(), Some(reason)).await
    }

    async fn commit(
        self: &Arc<Self>,
        run: &RunRecord,
        events: Vec<HistoryEvent>,
        consumed: Vec<i64>,
        machine: Option<WorkflowMachine>,
    ) -> Result<()> {
        self.commit_step(run, events, consumed, machine, StepWrite::Step).await.map(drop)
    }

    /// Starts a new run. Its first step runs here, in memory, and commits
    /// with the run itself (one transaction, not two); when that step cannot
    /// run cleanly, the run starts with its input in the inbox instead, and
    /// an ordinary step runs it (and holds it, if it must).
    pub(crate) async fn start_run(
        self: &Arc<Self>,
        run: RunRecord,
        input: crate::history::Payload,
        reuse: WorkflowIdReusePolicy,
    ) -> Result<()> {
        let now = run.created_at;
        let start = InboxItem::Start { input };
        if let Some(factory) = self.registry.workflows.get(run.workflow_type.as_str()) {
            let info = WorkflowInfo {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
                workflow_type: run.workflow_type.clone(),
            };
            let mut machine = WorkflowMachine::new(factory.clone(), info, self.config.payload_limit);
            let first = record_inbox_item(&mut machine, &run, now, start.clone()).and_then(|()| machine.flush(now));
            if first.is_ok() {
                let events = machine.take_new_events();
                return self
                    .commit_step(&run, events, Vec::new(), Some(machine), StepWrite::CreateRun(reuse))
                    .await
                    .map(drop);
            }
        }
        self.store.create_run(run.clone(), RunStart::Inbox(start), reuse).await?;
        self.schedule_workflow_task(run.run_id);
        Ok(())
    }

    /// Closes an activity and runs the step that records it, in one
    /// transaction, when the run's workflow is in the cache and no step of it
    /// is running. False when that path is not open (or the store fenced it):
    /// nothing was written, and the caller closes the activity through the inbox.
    pub(crate) async fn close_with_step(
        self: &Arc<Self>,
        task: &ActivityTask,
        outcome: &ActivityOutcome,
    ) -> Result<bool> {
        let run_id = &task.key.run_id;
        {
            let mut busy = self.busy.lock();
            if busy.contains_key(run_id) {
                return Ok(false);
            }
            busy.insert(run_id.clone(), false);
        }
        let result = self.close_with_cached_machine(task, outcome).await;
        let again = self.busy.lock().remove(run_id) == Some(true);
        if again {
            self.schedule_workflow_task(run_id.clone());
        }
        result
    }

    async fn close_with_cached_machine(
        self: &Arc<Self>,
        task: &ActivityTask,
        outcome: &ActivityOutcome,
    ) -> Result<bool> {
        let run_id = &task.key.run_id;
        let Some(mut machine) = self.cache.lock().as_mut().and_then(|c| c.pop(run_id)) else {
            return Ok(false);
        };
        let run = RunRecord {
            run_id: run_id.clone(),
            workflow_id: task.workflow_id.clone(),
            workflow_type: machine.workflow_type(),
            status: RunStatus::Running,
            created_at: std::time::SystemTime::UNIX_EPOCH,
            closed_at: None,
            next_event_id: machine.next_event_id(),
            held: None,
        };
        let now = self.clock.now();
        let item = InboxItem::ActivityClosed {
            scheduled_event_id: task.scheduled_event_id,
            attempt: task.attempt,
            last_failure: task.last_failure.clone(),
            outcome: outcome.clone(),
        };
        // A workflow that fails here is held by the ordinary step, from the inbox.
        if record_inbox_item(&mut machine, &run, now, item).and_then(|()| machine.flush(now)).is_err() {
            return Ok(false);
        }
        let events = machine.take_new_events();
        let how = StepWrite::CloseActivity { key: task.key.clone(), attempt: task.attempt };
        self.commit_step(&run, events, Vec::new(), Some(machine), how).await
    }

    /// Commits a step (with what `how` adds to its transaction), then carries
    /// out what it asks: activities, timers, cancellations, the cache. False
    /// if the store refused it (fenced); nothing was written then.
    async fn commit_step(
        self: &Arc<Self>,
        run: &RunRecord,
        events: Vec<HistoryEvent>,
        consumed: Vec<i64>,
        machine: Option<WorkflowMachine>,
        how: StepWrite,
    ) -> Result<bool> {
        let effects: Vec<Effect> = events.iter().filter_map(|e| effect_of(run, e, machine.as_ref())).collect();
        // First attempts that have a free slot now start in this step's
        // transaction instead of in one of their own.
        let mut permits = std::collections::HashMap::new();
        if !effects.iter().any(|e| matches!(e, Effect::Closed)) {
            for effect in &effects {
                if let Effect::Dispatch(task) = effect
                    && let Ok(permit) = self.activity_slots.clone().try_acquire_owned()
                {
                    permits.insert(task.key.seq, permit);
                }
            }
        }
        let last_event_id = run.next_event_id + events.len() as u64 - 1;
        let events_tail = events.last().filter(|e| e.attributes.is_close()).cloned();
        let commit = WorkflowTaskCommit {
            run_id: run.run_id.clone(),
            workflow_id: run.workflow_id.clone(),
            first_event_id: run.next_event_id,
            events,
            consumed,
            eager_starts: permits.keys().copied().collect(),
        };
        let committed = match how {
            StepWrite::Step => self.store.commit_workflow_task(commit).await?,
            StepWrite::CreateRun(reuse) => {
                self.store.create_run(run.clone(), RunStart::Step(commit), reuse).await?;
                true
            }
            StepWrite::CloseActivity { key, attempt } => {
                self.store.close_activity_with_step(key, attempt, commit).await?
            }
        };
        if !committed {
            tracing::debug!(run_id = %run.run_id, "the run moved on during the step; retrying it");
            self.evict(&run.run_id);
            return Ok(false);
        }
        if last_event_id >= crate::history::HISTORY_WARN_EVENTS
            && run.next_event_id <= crate::history::HISTORY_WARN_EVENTS
        {
            tracing::warn!(workflow_id = %run.workflow_id, run_id = %run.run_id, events = last_event_id, "history is over 10 000 events; replay slows down");
        }
        let closed = effects.iter().any(|e| matches!(e, Effect::Closed));
        let close_event = if closed { events_tail.clone() } else { None };
        // Cached before any activity starts: an attempt that ends at once
        // finds the workflow in memory (and can close with its step).
        if !closed
            && let Some(machine) = machine
            && let Some(cache) = self.cache.lock().as_mut()
        {
            cache.put(run.run_id.clone(), machine);
        }
        for effect in effects {
            match effect {
                Effect::Dispatch(task) => match permits.remove(&task.key.seq) {
                    Some(permit) => self.start_eager(*task, permit),
                    None => self.start_activity(*task),
                },
                Effect::Arm(timer) => self.arm_timer(timer),
                Effect::Cancel(key) => self.cancel_activity(key),
                Effect::Closed => {}
            }
        }
        if closed {
            self.abandon_attempts(&run.run_id);
            self.notify_closed(&run.run_id, close_event.as_ref());
        }
        Ok(true)
    }

    fn evict(&self, run_id: &str) {
        if let Some(cache) = self.cache.lock().as_mut() {
            cache.pop(run_id);
        }
    }

    pub(crate) fn arm_timer(&self, timer: TimerTask) {
        let at = self.clock.instant_at(timer.fire_at);
        self.timers.push(at, super::TimerAction::Fire(timer));
    }
}

/// Turns one inbox item into events, applied to the machine as they are recorded.
fn record_inbox_item(
    machine: &mut WorkflowMachine,
    run: &RunRecord,
    now: std::time::SystemTime,
    item: InboxItem,
) -> Result<(), MachineError> {
    use EventAttributes as E;
    match item {
        InboxItem::Start { input } => {
            machine.record(
                now,
                E::WorkflowExecutionStarted {
                    workflow_type: run.workflow_type.clone(),
                    workflow_id: run.workflow_id.clone(),
                    run_id: run.run_id.clone(),
                    input,
                },
            )?;
        }
        InboxItem::ActivityClosed { scheduled_event_id, attempt, last_failure, outcome } => {
            let started_event_id = if attempt > 0 {
                machine.record(
                    now,
                    E::ActivityTaskStarted { scheduled_event_id, attempt, last_failure: last_failure.clone() },
                )?
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
    }
    Ok(())
}

fn effect_of(run: &RunRecord, event: &HistoryEvent, machine: Option<&WorkflowMachine>) -> Option<Effect> {
    use EventAttributes as E;
    match &event.attributes {
        E::ActivityTaskScheduled { seq, activity_id, activity_type, input, options } => {
            Some(Effect::Dispatch(Box::new(ActivityTask {
                key: ActivityKey { run_id: run.run_id.clone(), seq: *seq },
                workflow_id: run.workflow_id.clone(),
                scheduled_event_id: event.event_id,
                activity_id: activity_id.clone(),
                activity_type: activity_type.clone(),
                input: input.clone(),
                options: options.clone(),
                scheduled_at: event.timestamp,
                attempt: 0,
                running: false,
                retry_at: None,
                last_failure: None,
                heartbeat_details: None,
                cancel_requested: false,
            })))
        }
        E::TimerStarted { seq, duration } => Some(Effect::Arm(TimerTask {
            run_id: run.run_id.clone(),
            seq: *seq,
            started_event_id: event.event_id,
            fire_at: event.timestamp.checked_add(*duration).unwrap_or(event.timestamp + crate::activity::MAX_DURATION),
        })),
        E::ActivityTaskCancelRequested { scheduled_event_id } => {
            let seq = machine?.activity_seq_of(*scheduled_event_id)?;
            Some(Effect::Cancel(ActivityKey { run_id: run.run_id.clone(), seq }))
        }
        e if e.is_close() => Some(Effect::Closed),
        _ => None,
    }
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
    let info =
        WorkflowInfo { workflow_id: workflow_id.clone(), run_id: run_id.clone(), workflow_type: workflow_type.clone() };
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
