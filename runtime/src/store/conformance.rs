//! The store contract as tests: every [`Store`] runs this one suite.
//!
//! `store_conformance!(open)` expands to one `#[tokio::test]` per test below,
//! where `open` is an `async fn() -> Option<Box<dyn Store>>` giving a fresh
//! store (`None`: the store is not available here, and the test is skipped).
//! The tests use the trait only, and may share one store (a PostgreSQL schema)
//! with each other: every id, queue and type is random per test. A test of
//! something only an exclusive store allows ([`Store::expire_all`]) is
//! skipped on a shared one. Times are virtual: each test has its own base.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::activity::ActivityOptions;
use crate::history::{EventAttributes, Failure, HistoryEvent, Payload};
use crate::{Error, Result};

/// Expands to the suite's tests, each on a store from `$open`.
macro_rules! store_conformance {
    ($open:path) => {
        $crate::store::conformance::store_conformance!(@tests $open;
            create_run_refuses_an_open_id_and_follows_each_reuse_policy,
            a_commit_is_fenced_on_its_token_and_the_next_event_id,
            an_unleased_commit_is_refused_while_the_task_is_leased,
            a_claimed_task_is_taken_over_only_after_its_lease_ends,
            a_run_sticky_to_a_live_worker_goes_to_others_only_once_it_is_gone,
            workflow_tasks_and_activities_are_claimed_by_queue_and_type,
            an_activity_claim_starts_the_next_attempt_once,
            an_expired_attempt_is_claimed_after_its_deadline_and_fences_out_its_holder,
            a_heartbeat_moves_the_attempt_s_deadlines,
            a_retry_queues_the_activity_again_at_its_retry_time,
            a_restart_starts_the_next_attempt_in_the_retry_s_write,
            a_close_goes_to_the_inbox_and_makes_the_run_claimable,
            a_close_carries_the_start_of_the_attempt_that_ran,
            a_queued_activity_is_cancelled_only_while_no_attempt_runs,
            timers_fire_through_claims_only_when_due_and_once,
            an_eager_activity_runs_under_its_lease_and_its_delivery_is_fenced,
            closing_a_run_removes_its_rows,
            next_due_is_the_earliest_of_each_kind,
            expire_all_ends_every_lease_of_the_previous_process,
            the_inbox_takes_items_for_open_runs_only_and_keeps_their_order,
            history_returns_the_events_after_an_id,
            workers_register_heartbeat_and_leave,
            list_runs_filters_by_status_and_type_newest_first,
            list_runs_pages_by_position_and_filters_by_id_prefix,
            release_hold_and_targeted_claims,
            a_step_s_replies_are_kept_by_request_id,
            continuing_as_new_closes_the_run_and_opens_the_next_in_one_commit,
            a_step_starts_cancels_and_hears_from_its_children,
            a_closing_parent_applies_each_child_s_close_policy,
            closed_runs_are_deleted_after_their_retention_with_everything_theirs
        );
    };
    (@tests $open:path; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let Some(store) = $open().await else {
                    eprintln!("skipped: {}: the store is not available", stringify!($test));
                    return;
                };
                $crate::store::conformance::$test(store).await.unwrap();
            }
        )*
    };
}
pub(crate) use store_conformance;

/// A random name, so that tests on one shared store never see each other's rows.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn payload(json: &str) -> Payload {
    Payload::from_json(json.to_owned()).unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// One test's store, queue, types and virtual time.
struct Env {
    store: Box<dyn Store>,
    queue: String,
    workflow_type: String,
    activity_type: String,
    t0: SystemTime,
}

impl Env {
    fn new(store: Box<dyn Store>) -> Self {
        Self::at(store, SystemTime::UNIX_EPOCH + secs(1_000_000_000))
    }

    fn at(store: Box<dyn Store>, t0: SystemTime) -> Self {
        Env { store, queue: unique("q"), workflow_type: unique("wf"), activity_type: unique("act"), t0 }
    }

    fn at_s(&self, s: u64) -> SystemTime {
        self.t0 + secs(s)
    }

    /// A worker polling this test's queue, for its types.
    fn worker(&self, name: &str) -> Arc<WorkerInfo> {
        Arc::new(WorkerInfo {
            worker_id: unique(name),
            host: "host".into(),
            pid: 1,
            task_queues: vec![self.queue.clone()],
            workflow_types: vec![self.workflow_type.clone()],
            activity_types: vec![self.activity_type.clone()],
            started_at: self.t0,
        })
    }

    fn run(&self) -> RunRecord {
        RunRecord::new(unique("run"), unique("wf-id"), self.workflow_type.clone(), self.queue.clone(), self.t0)
    }

    /// A run record of workflow id `workflow_id`.
    fn run_with_id(&self, workflow_id: &str) -> RunRecord {
        RunRecord { workflow_id: workflow_id.to_owned(), ..self.run() }
    }

    /// Creates a run with `Start` in its inbox; its id.
    async fn start(&self) -> Result<String> {
        let run = self.run();
        let run_id = run.run_id.clone();
        let start =
            RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
        self.store.create_run(run, start, WorkflowIdReusePolicy::default()).await?;
        Ok(run_id)
    }

    /// Creates a run whose first step (events 1 to `events`) is committed with it.
    async fn start_with(&self, events: u64, edit: impl FnOnce(&mut StepCommit)) -> Result<String> {
        let run = self.run();
        let run_id = run.run_id.clone();
        let mut step = self.step(&run_id, StepFence::Unleased, 1, events, "first-worker");
        edit(&mut step);
        self.store.create_run(run, RunStart::Step(step), WorkflowIdReusePolicy::default()).await?;
        Ok(run_id)
    }

    /// A step adding events `first..first + events`, changing no rows.
    fn step(&self, run_id: &str, fence: StepFence, first: u64, events: u64, worker_id: &str) -> StepCommit {
        StepCommit {
            run_id: run_id.to_owned(),
            fence,
            first_event_id: first,
            events: (first..first + events)
                .map(|id| HistoryEvent::new(id, self.t0, EventAttributes::TimerFired { started_event_id: id }))
                .collect(),
            consumed: vec![],
            delivered: None,
            new_activities: vec![],
            cancel_activities: vec![],
            new_timers: vec![],
            cancel_timers: vec![],
            close: None,
            worker_id: worker_id.to_owned(),
            replies: Vec::new(),
            signals_out: Vec::new(),
            continued: None,
            children_out: Vec::new(),
            cancel_children: Vec::new(),
            to_parent: None,
            may_have_children: false,
        }
    }

    /// A queued activity row (attempt 0) of `run_id`, scheduled at `t0`.
    fn activity(&self, run_id: &str, seq: u32, limits: AttemptLimits) -> ActivityTask {
        let queued_expiry = limits.schedule_to_start.map(|s| self.t0 + s);
        ActivityTask {
            key: ActivityKey { run_id: run_id.to_owned(), seq },
            workflow_id: "wf".into(),
            task_queue: self.queue.clone(),
            scheduled_event_id: u64::from(seq) + 1,
            activity_id: seq.to_string(),
            activity_type: self.activity_type.clone(),
            input: payload("\"in\""),
            options: ActivityOptions::start_to_close(limits.start_to_close),
            limits,
            scheduled_at: self.t0,
            attempt: 0,
            running: false,
            ready_at: self.t0,
            started_at: None,
            attempt_deadline: None,
            heartbeat_deadline: None,
            expires_at: queued_expiry,
            lease: None,
            last_failure: None,
            heartbeat_details: None,
            cancel_requested: false,
        }
    }

    /// A run with one queued activity (seq 1, event 2) under `limits`.
    async fn run_with_activity(&self, limits: AttemptLimits) -> Result<ActivityKey> {
        let mut activity = None;
        let run_id = self
            .start_with(2, |step| {
                let a = self.activity(&step.run_id, 1, limits);
                activity = Some(a.key.clone());
                step.new_activities.push(a);
            })
            .await?;
        let key = activity.unwrap();
        assert_eq!(key.run_id, run_id);
        Ok(key)
    }

    /// A step closing `run_id` at `first` with `status`: it claims the run's
    /// task and consumes its inbox, as a close must (see [`INBOX_GREW`]).
    async fn closing(&self, run_id: &str, first: u64, status: RunStatus) -> Result<StepCommit> {
        let worker = self.worker("closer");
        let task = self.store.claim_workflow_task(worker.clone(), run_id.to_owned(), self.t0, secs(10)).await?;
        let (fence, consumed) = match task {
            Some(task) => (StepFence::Leased { token: task.lease.token }, task.inbox.iter().map(|e| e.id).collect()),
            None => (StepFence::Unleased, Vec::new()),
        };
        let mut step = self.step(run_id, fence, first, 1, &worker.worker_id);
        step.consumed = consumed;
        step.close = Some((status, self.at_s(1)));
        Ok(step)
    }

    /// The items in `run_id`'s inbox (claimed and released again), oldest first.
    async fn inbox(&self, run_id: &str) -> Result<Vec<InboxItem>> {
        let worker = self.worker("reader");
        let Some(task) = self.store.claim_workflow_task(worker, run_id.to_owned(), self.t0, secs(10)).await? else {
            return Ok(Vec::new());
        };
        self.store.release_workflow_task(run_id.to_owned(), task.lease.token).await?;
        Ok(task.inbox.into_iter().map(|e| e.item).collect())
    }

    /// A child of `parent` (a run of this test) started at event `initiated_event_id`.
    fn child(&self, workflow_id: &str, initiated_event_id: u64, policy: ParentClosePolicy) -> ChildStart {
        ChildStart {
            initiated_event_id,
            run: self.run_with_id(workflow_id),
            start: InboxItem::Start { input: payload("7"), signal: None, attributes: Default::default() },
            reuse: WorkflowIdReusePolicy::AllowDuplicate,
            parent_close_policy: policy,
        }
    }

    async fn claim(&self, worker: &Arc<WorkerInfo>, now: SystemTime) -> Result<Vec<WorkflowTask>> {
        self.store.claim_workflow_tasks(worker.clone(), now, secs(10), 100).await
    }

    async fn claim_activities(&self, worker: &Arc<WorkerInfo>, now: SystemTime) -> Result<Vec<ActivityTask>> {
        self.store.claim_activity_tasks(worker.clone(), now, 100).await
    }

    async fn pending(&self, run_id: &str) -> Result<(Vec<ActivityTask>, Vec<TimerTask>)> {
        self.store.pending(run_id.to_owned()).await
    }

    async fn history_len(&self, run_id: &str) -> Result<usize> {
        Ok(self.store.history(run_id.to_owned(), "wf".into(), 0).await?.len())
    }
}

fn limits(start_to_close: u64) -> AttemptLimits {
    AttemptLimits {
        start_to_close: secs(start_to_close),
        heartbeat: None,
        schedule_to_start: None,
        close_deadline: None,
    }
}

fn fence(task: &ActivityTask) -> ActivityFence {
    ActivityFence { key: task.key.clone(), attempt: task.attempt, token: task.lease.as_ref().unwrap().token }
}

fn completed() -> ActivityUpdate {
    ActivityUpdate::Close { last_failure: None, outcome: ActivityOutcome::Completed { result: payload("\"ok\"") } }
}

fn assert_stale<T: std::fmt::Debug>(result: Result<T>) {
    assert!(matches!(result, Err(Error::StaleTask { .. })), "expected StaleTask, got {result:?}");
}

fn ids(tasks: &[WorkflowTask]) -> Vec<&str> {
    tasks.iter().map(|t| t.run.run_id.as_str()).collect()
}

pub(crate) async fn create_run_refuses_an_open_id_and_follows_each_reuse_policy(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let start =
        || RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
    let first = env.run();
    let workflow_id = first.workflow_id.clone();
    let again = |status_hint: &str| RunRecord { run_id: unique(status_hint), ..first.clone() };
    env.store.create_run(first.clone(), start(), WorkflowIdReusePolicy::AllowDuplicate).await?;
    let err = env.store.create_run(again("r2"), start(), WorkflowIdReusePolicy::AllowDuplicate).await.unwrap_err();
    assert!(matches!(&err, Error::AlreadyStarted { run_id, .. } if *run_id == first.run_id), "{err:?}");
    let stored = env.store.run(first.run_id.clone()).await?.unwrap();
    assert_eq!((stored.workflow_id.as_str(), stored.task_queue.as_str()), (workflow_id.as_str(), env.queue.as_str()));
    assert_eq!((stored.status, stored.next_event_id, stored.lease.is_none()), (RunStatus::Running, 1, true));

    // Closed completed: only AllowDuplicate starts again.
    let close =
        async |run_id: &str, status| env.store.commit_workflow_task(env.closing(run_id, 1, status).await?).await;
    close(&first.run_id, RunStatus::Completed).await?;
    for reuse in [WorkflowIdReusePolicy::AllowDuplicateFailedOnly, WorkflowIdReusePolicy::RejectDuplicate] {
        let err = env.store.create_run(again("r"), start(), reuse).await.unwrap_err();
        assert!(matches!(err, Error::AlreadyStarted { .. }), "{reuse:?}: {err:?}");
    }
    let second = again("r3");
    env.store.create_run(second.clone(), start(), WorkflowIdReusePolicy::AllowDuplicate).await?;
    assert_eq!(env.store.latest_run(workflow_id.clone()).await?.unwrap().run_id, second.run_id);
    // Closed failed: AllowDuplicateFailedOnly starts again, RejectDuplicate does not.
    close(&second.run_id, RunStatus::Failed).await?;
    let err = env.store.create_run(again("r"), start(), WorkflowIdReusePolicy::RejectDuplicate).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyStarted { .. }), "{err:?}");
    let third = again("r4");
    env.store.create_run(third.clone(), start(), WorkflowIdReusePolicy::AllowDuplicateFailedOnly).await?;
    assert_eq!(env.store.latest_run(workflow_id).await?.unwrap().run_id, third.run_id);
    Ok(())
}

pub(crate) async fn a_commit_is_fenced_on_its_token_and_the_next_event_id(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let run_id = env.start().await?;
    let worker = env.worker("w");
    let [task] = &env.claim(&worker, env.t0).await?[..] else { panic!("one task") };
    assert_eq!(task.lease.owner, worker.worker_id);
    assert_eq!(task.run.lease.as_ref(), Some(&task.lease));
    let token = task.lease.token;
    let consumed: Vec<i64> = task.inbox.iter().map(|e| e.id).collect();

    let mut wrong_token = env.step(&run_id, StepFence::Leased { token: token.wrapping_add(1) }, 1, 1, "w");
    wrong_token.consumed = consumed.clone();
    assert_stale(env.store.commit_workflow_task(wrong_token).await);
    let mut wrong_event = env.step(&run_id, StepFence::Leased { token }, 2, 1, "w");
    wrong_event.consumed = consumed.clone();
    assert_stale(env.store.commit_workflow_task(wrong_event).await);
    assert_eq!(env.history_len(&run_id).await?, 0, "nothing written");
    assert_eq!(env.store.run(run_id.clone()).await?.unwrap().lease.map(|l| l.token), Some(token));

    let mut step = env.step(&run_id, StepFence::Leased { token }, 1, 2, &worker.worker_id);
    step.consumed = consumed;
    assert!(!env.store.commit_workflow_task(step).await?, "nothing arrived during the step");
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.next_event_id, run.lease, run.sticky), (3, None, Some(worker.worker_id.clone())));
    assert_eq!(env.history_len(&run_id).await?, 2);

    // An item that arrives while a step runs: the commit says the task is ready again.
    assert!(env.store.add_to_inbox(run_id.clone(), InboxItem::CancelRequested { reason: "a".into() }).await?);
    let [task] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("ready") };
    assert!(env.store.add_to_inbox(run_id.clone(), InboxItem::CancelRequested { reason: "b".into() }).await?);
    let mut step = env.step(&run_id, StepFence::Leased { token: task.lease.token }, 3, 1, &worker.worker_id);
    step.consumed = task.inbox.iter().map(|e| e.id).collect();
    assert!(env.store.commit_workflow_task(step).await?, "the second item is still in the inbox");
    let [task] = &env.claim(&worker, env.at_s(2)).await?[..] else { panic!("claimable again") };
    assert_eq!(task.inbox.len(), 1);
    // A hold leaves the run sticky to no worker: the one that held it cannot run it.
    assert_eq!(env.store.run(run_id.clone()).await?.unwrap().sticky, Some(worker.worker_id.clone()));
    env.store.hold_run(run_id.clone(), Some(task.lease.token), Some("panic".into()), env.at_s(3)).await?;
    assert_eq!(env.store.run(run_id.clone()).await?.unwrap().sticky, None);
    assert!(env.claim(&worker, env.at_s(1)).await?.is_empty(), "leased (until 12 s)");
    // The token's lease ended with the commit.
    assert_stale(env.store.commit_workflow_task(env.step(&run_id, StepFence::Leased { token }, 3, 1, "w")).await);
    Ok(())
}

pub(crate) async fn an_unleased_commit_is_refused_while_the_task_is_leased(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let run_id = env.start().await?;
    let worker = env.worker("w");
    let tasks = env.claim(&worker, env.t0).await?;
    assert_eq!(tasks.len(), 1);
    assert_stale(env.store.commit_workflow_task(env.step(&run_id, StepFence::Unleased, 1, 1, "w")).await);
    // A lease that ended (at 10 s) but was not taken again still blocks it,
    // whatever the step's time.
    let mut late = env.step(&run_id, StepFence::Unleased, 1, 1, "w");
    for event in &mut late.events {
        event.timestamp = env.at_s(20);
    }
    assert_stale(env.store.commit_workflow_task(late).await);
    assert_eq!(env.history_len(&run_id).await?, 0);
    env.store.release_workflow_task(run_id.clone(), tasks[0].lease.token).await?;
    env.store.commit_workflow_task(env.step(&run_id, StepFence::Unleased, 1, 1, "w")).await?;
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.next_event_id, run.lease), (2, None), "an unleased commit leaves the task unleased");
    Ok(())
}

pub(crate) async fn a_claimed_task_is_taken_over_only_after_its_lease_ends(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let run_id = env.start().await?;
    let (a, b) = (env.worker("a"), env.worker("b"));
    let first = env.store.claim_workflow_tasks(a.clone(), env.t0, secs(10), 10).await?;
    assert_eq!(ids(&first), [run_id.as_str()]);
    assert_eq!(first[0].lease.deadline, env.at_s(10));
    assert!(env.claim(&b, env.at_s(9)).await?.is_empty(), "leased");
    let taken = env.claim(&b, env.at_s(10)).await?;
    assert_eq!(ids(&taken), [run_id.as_str()]);
    assert_eq!(taken[0].lease.owner, b.worker_id);
    assert_ne!(taken[0].lease.token, first[0].lease.token, "a claim gives a new token");
    assert_eq!(taken[0].inbox.len(), 1, "the inbox is still there");
    let consumed = vec![taken[0].inbox[0].id];
    let mut late = env.step(&run_id, StepFence::Leased { token: first[0].lease.token }, 1, 1, &a.worker_id);
    late.consumed = consumed.clone();
    assert_stale(env.store.commit_workflow_task(late).await);
    assert_stale(env.store.release_workflow_task(run_id.clone(), first[0].lease.token).await);
    assert_eq!(env.history_len(&run_id).await?, 0);
    let mut step = env.step(&run_id, StepFence::Leased { token: taken[0].lease.token }, 1, 1, &b.worker_id);
    step.consumed = consumed;
    env.store.commit_workflow_task(step).await?;
    assert_eq!(env.history_len(&run_id).await?, 1);
    Ok(())
}

pub(crate) async fn a_run_sticky_to_a_live_worker_goes_to_others_only_once_it_is_gone(
    store: Box<dyn Store>,
) -> Result<()> {
    let env = Env::new(store);
    let (a, b, other) = (env.worker("a"), env.worker("b"), env.worker("other"));
    env.store.register_worker(a.clone(), env.at_s(60)).await?;
    env.store.register_worker(b.clone(), env.at_s(30)).await?;
    // `sticky_a` is sticky to a, `sticky_b` to b (both live); `loose` to no one.
    let sticky_a = env.start_with(1, |s| s.worker_id = a.worker_id.clone()).await?;
    let sticky_b = env.start_with(1, |s| s.worker_id = b.worker_id.clone()).await?;
    for run_id in [&sticky_a, &sticky_b] {
        assert!(env.store.add_to_inbox(run_id.clone(), InboxItem::CancelRequested { reason: "x".into() }).await?);
    }
    assert!(env.claim(&other, env.at_s(1)).await?.is_empty(), "sticky to live workers");
    let loose = env.start().await?;
    // Sticky-to-self first.
    let mine = env.store.claim_workflow_tasks(a.clone(), env.at_s(1), secs(1), 1).await?;
    assert_eq!(ids(&mine), [sticky_a.as_str()]);
    env.store.release_workflow_task(sticky_a.clone(), mine[0].lease.token).await?;
    let [task] = &env.claim(&other, env.at_s(2)).await?[..] else { panic!("the loose run only") };
    assert_eq!(task.run.run_id, loose);
    let mut step = env.step(&loose, StepFence::Leased { token: task.lease.token }, 1, 1, &other.worker_id);
    step.consumed = task.inbox.iter().map(|e| e.id).collect();
    env.store.commit_workflow_task(step).await?;
    // b's row expires: its run is anyone's.
    assert!(env.claim(&other, env.at_s(29)).await?.is_empty());
    let got = env.claim(&other, env.at_s(30)).await?;
    assert_eq!(ids(&got), [sticky_b.as_str()]);
    // a leaves: its run is anyone's at once.
    env.store.unregister_worker(a.worker_id.clone()).await?;
    let got = env.claim(&other, env.at_s(31)).await?;
    assert_eq!(ids(&got), [sticky_a.as_str()]);
    Ok(())
}

pub(crate) async fn workflow_tasks_and_activities_are_claimed_by_queue_and_type(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(limits(10)).await?;
    let run_id = env.start().await?;
    let worker = env.worker("w");
    let mut other_queue = (*worker).clone();
    other_queue.task_queues = vec![unique("q")];
    let mut other_types = (*worker).clone();
    other_types.workflow_types = vec![unique("wf")];
    other_types.activity_types = vec![unique("act")];
    for w in [other_queue, other_types] {
        let w = Arc::new(w);
        assert!(env.claim(&w, env.at_s(1)).await?.is_empty());
        assert!(env.claim_activities(&w, env.at_s(1)).await?.is_empty());
    }
    assert_eq!(ids(&env.claim(&worker, env.at_s(1)).await?), [run_id.as_str()]);
    let claimed = env.claim_activities(&worker, env.at_s(1)).await?;
    assert_eq!(claimed.iter().map(|a| &a.key).collect::<Vec<_>>(), [&key]);
    Ok(())
}

pub(crate) async fn an_activity_claim_starts_the_next_attempt_once(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(limits(10)).await?;
    let worker = env.worker("w");
    let (queued, _) = env.pending(&key.run_id).await?;
    assert!(matches!(&queued[..], [a] if a.attempt == 0 && !a.running && a.lease.is_none()));
    let [task] = &env.claim_activities(&worker, env.at_s(1)).await?[..] else { panic!("one activity") };
    assert_eq!((task.attempt, task.running, task.started_at), (1, true, Some(env.at_s(1))));
    assert_eq!(
        (task.attempt_deadline, task.heartbeat_deadline, task.expires_at),
        (Some(env.at_s(11)), None, Some(env.at_s(11)))
    );
    let lease = task.lease.as_ref().unwrap();
    assert_eq!((lease.owner.as_str(), lease.deadline), (worker.worker_id.as_str(), env.at_s(11)));
    assert_eq!((task.input.as_json(), task.activity_type.as_str()), ("\"in\"", env.activity_type.as_str()));
    assert!(env.claim_activities(&worker, env.at_s(2)).await?.is_empty(), "claimed once");
    assert!(
        env.claim_activities(&env.worker("other"), env.at_s(20)).await?.is_empty(),
        "a running attempt is not queued"
    );
    let (pending, _) = env.pending(&key.run_id).await?;
    assert_eq!(pending[0].lease, task.lease);
    Ok(())
}

pub(crate) async fn an_expired_attempt_is_claimed_after_its_deadline_and_fences_out_its_holder(
    store: Box<dyn Store>,
) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(limits(10)).await?;
    let worker = env.worker("w");
    let [task] = &env.claim_activities(&worker, env.t0).await?[..] else { panic!("one activity") };
    let timer_outer = env.worker("timeouts");
    let expired = |now| env.store.claim_expired_activities(timer_outer.worker_id.clone(), now, secs(5), 10);
    assert!(expired(env.at_s(9)).await?.is_empty());
    let [taken] = &expired(env.at_s(10)).await?[..] else { panic!("one expired") };
    assert_eq!((&taken.key, taken.attempt, taken.running), (&key, 1, true), "the attempt is kept");
    assert_eq!((taken.attempt_deadline, taken.started_at), (Some(env.at_s(10)), Some(env.t0)), "its deadlines too");
    let lease = taken.lease.as_ref().unwrap();
    assert_eq!((lease.owner.as_str(), lease.deadline), (timer_outer.worker_id.as_str(), env.at_s(15)));
    assert!(expired(env.at_s(11)).await?.is_empty(), "leased to the claimer");
    // The first holder's writes are stale and change nothing.
    let at = env.at_s(11);
    assert_stale(env.store.update_activity(fence(task), ActivityUpdate::Heartbeat { at, details: None }).await);
    let failure = Failure::new("E", "late");
    let retry = ActivityUpdate::Retry { retry_at: at, failure, heartbeat_details: None };
    assert_stale(env.store.update_activity(fence(task), retry).await);
    assert_stale(env.store.update_activity(fence(task), completed()).await);
    let (pending, _) = env.pending(&key.run_id).await?;
    assert_eq!(pending[0].lease, taken.lease);
    // Its lease ends without a write: another worker claims it again.
    let again = env.store.claim_expired_activities(unique("w"), env.at_s(15), secs(5), 10).await?;
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].lease.as_ref().unwrap().token, lease.token);
    let timed_out = ActivityUpdate::Close {
        last_failure: None,
        outcome: ActivityOutcome::TimedOut {
            timeout_type: crate::activity::TimeoutType::StartToClose,
            last_failure: None,
        },
    };
    env.store.update_activity(fence(&again[0]), timed_out).await?;
    assert!(env.pending(&key.run_id).await?.0.is_empty());
    Ok(())
}

pub(crate) async fn a_heartbeat_moves_the_attempt_s_deadlines(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(AttemptLimits { heartbeat: Some(secs(10)), ..limits(60) }).await?;
    let worker = env.worker("w");
    let [task] = &env.claim_activities(&worker, env.t0).await?[..] else { panic!("one activity") };
    assert_eq!((task.heartbeat_deadline, task.expires_at), (Some(env.at_s(10)), Some(env.at_s(10))));
    let details = Some(payload("\"halfway\""));
    let cancel_requested =
        env.store.update_activity(fence(task), ActivityUpdate::Heartbeat { at: env.at_s(5), details }).await?;
    assert!(!cancel_requested, "no cancellation was requested");
    let (pending, _) = env.pending(&key.run_id).await?;
    let row = &pending[0];
    assert_eq!((row.heartbeat_deadline, row.expires_at), (Some(env.at_s(15)), Some(env.at_s(15))));
    assert_eq!(row.lease.as_ref().unwrap().deadline, env.at_s(15));
    assert_eq!(row.heartbeat_details.as_ref().map(Payload::as_json), Some("\"halfway\""));
    let expired = |now| env.store.claim_expired_activities(unique("t"), now, secs(5), 10);
    assert!(expired(env.at_s(12)).await?.is_empty(), "the heartbeat moved the expiry");
    // Bounded by the attempt's deadline.
    env.store.update_activity(fence(task), ActivityUpdate::Heartbeat { at: env.at_s(55), details: None }).await?;
    let (pending, _) = env.pending(&key.run_id).await?;
    assert_eq!((pending[0].heartbeat_deadline, pending[0].expires_at), (Some(env.at_s(60)), Some(env.at_s(60))));
    // A step requests the activity's cancellation: the next heartbeat says so.
    let mut step = env.step(&key.run_id, StepFence::Unleased, 3, 1, "w");
    step.cancel_activities = vec![2];
    env.store.commit_workflow_task(step).await?;
    let at = env.at_s(56);
    assert!(env.store.update_activity(fence(task), ActivityUpdate::Heartbeat { at, details: None }).await?);
    assert_eq!(expired(env.at_s(60)).await?.len(), 1);
    Ok(())
}

pub(crate) async fn a_retry_queues_the_activity_again_at_its_retry_time(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(AttemptLimits { schedule_to_start: Some(secs(100)), ..limits(10) }).await?;
    let worker = env.worker("w");
    let [task] = &env.claim_activities(&worker, env.t0).await?[..] else { panic!("one activity") };
    let retry = ActivityUpdate::Retry {
        retry_at: env.at_s(30),
        failure: Failure::new("E", "boom"),
        heartbeat_details: Some(payload("7")),
    };
    env.store.update_activity(fence(task), retry).await?;
    let (pending, _) = env.pending(&key.run_id).await?;
    let row = &pending[0];
    assert_eq!((row.attempt, row.running, row.lease.is_none()), (1, false, true));
    assert_eq!((row.ready_at, row.expires_at), (env.at_s(30), Some(env.at_s(130))));
    assert_eq!(row.last_failure.as_ref().map(|f| &*f.message), Some("boom"));
    assert_eq!(row.heartbeat_details.as_ref().map(Payload::as_json), Some("7"));
    assert!(env.claim_activities(&worker, env.at_s(29)).await?.is_empty(), "in backoff");
    let [second] = &env.claim_activities(&worker, env.at_s(30)).await?[..] else { panic!("claimable") };
    assert_eq!((second.attempt, second.started_at), (2, Some(env.at_s(30))));
    assert_stale(env.store.update_activity(fence(task), completed()).await);
    Ok(())
}

pub(crate) async fn a_restart_starts_the_next_attempt_in_the_retry_s_write(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(AttemptLimits { heartbeat: Some(secs(4)), ..limits(10) }).await?;
    let worker = env.worker("w");
    let [task] = &env.claim_activities(&worker, env.t0).await?[..] else { panic!("one activity") };
    // The first holder's process is gone: another worker times its attempt out, and restarts it.
    let restarter = env.worker("r");
    let [taken] = &env.store.claim_expired_activities(restarter.worker_id.clone(), env.at_s(4), secs(5), 10).await?[..]
    else {
        panic!("one expired")
    };
    let mut next = taken.clone();
    let started = next.start_attempt(&restarter.worker_id, 77, env.at_s(6));
    let restart = |fence: ActivityFence, started: &AttemptStart| {
        let update = ActivityUpdate::Restart {
            failure: Failure::new("WorkerCrashed", "gone"),
            heartbeat_details: Some(payload("3")),
            next: started.clone(),
        };
        env.store.update_activity(fence, update)
    };
    assert_stale(restart(fence(task), &started).await);
    assert!(!restart(fence(taken), &started).await?, "no cancellation was requested");
    let (pending, _) = env.pending(&key.run_id).await?;
    let row = &pending[0];
    assert_eq!((row.attempt, row.running, row.started_at), (2, true, Some(env.at_s(6))));
    assert_eq!((row.attempt_deadline, row.heartbeat_deadline), (Some(env.at_s(16)), Some(env.at_s(10))));
    assert_eq!((row.expires_at, row.lease.clone()), (Some(env.at_s(10)), next.lease.clone()));
    assert_eq!(row.lease.as_ref().map(|l| (l.token, l.deadline)), Some((77, env.at_s(10))));
    assert_eq!(row.last_failure.as_ref().map(|f| &*f.message), Some("gone"));
    assert_eq!(row.heartbeat_details.as_ref().map(Payload::as_json), Some("3"));
    // Running under the new lease: not claimable, not expired before its deadline, and fenced.
    assert!(env.claim_activities(&worker, env.at_s(7)).await?.is_empty(), "running");
    let expired = |now| env.store.claim_expired_activities(unique("t"), now, secs(5), 10);
    assert!(expired(env.at_s(9)).await?.is_empty(), "not expired before its heartbeat deadline");
    assert_stale(restart(fence(taken), &started).await);
    env.store.update_activity(fence(&next), ActivityUpdate::Heartbeat { at: env.at_s(8), details: None }).await?;
    // A cancellation requested meanwhile: the next restart says so.
    let mut step = env.step(&key.run_id, StepFence::Unleased, 3, 1, "w");
    step.cancel_activities = vec![u64::from(key.seq) + 1]; // its scheduled event
    env.store.commit_workflow_task(step).await?;
    let mut third = next.clone();
    let third_started = third.start_attempt(&restarter.worker_id, 78, env.at_s(9));
    assert!(restart(fence(&next), &third_started).await?, "the cancellation was requested");
    assert_eq!(env.pending(&key.run_id).await?.0[0].attempt, 3);
    env.store.update_activity(fence(&third), completed()).await?;
    assert!(env.pending(&key.run_id).await?.0.is_empty());
    Ok(())
}

pub(crate) async fn a_close_goes_to_the_inbox_and_makes_the_run_claimable(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let key = env.run_with_activity(limits(10)).await?;
    let worker = env.worker("w");
    assert!(env.claim(&worker, env.t0).await?.is_empty());
    let [task] = &env.claim_activities(&worker, env.t0).await?[..] else { panic!("one activity") };
    env.store.update_activity(fence(task), completed()).await?;
    assert!(env.pending(&key.run_id).await?.0.is_empty());
    let [wt] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("the run is ready") };
    assert!(
        matches!(
            &wt.inbox[..],
            [InboxEntry { item: InboxItem::ActivityClosed { scheduled_event_id: 2, attempt: 1, outcome: ActivityOutcome::Completed { result }, .. }, .. }]
                if result.as_json() == "\"ok\""
        ),
        "{:?}",
        wt.inbox
    );
    assert_stale(env.store.update_activity(fence(task), completed()).await);
    Ok(())
}

pub(crate) async fn a_close_carries_the_start_of_the_attempt_that_ran(store: Box<dyn Store>) -> Result<()> {
    use crate::activity::TimeoutType;
    /// The one item in the run's inbox, a close: its attempt and start.
    async fn closed(env: &Env, run_id: &str) -> Result<(u32, Option<SystemTime>)> {
        match &env.inbox(run_id).await?[..] {
            [InboxItem::ActivityClosed { attempt, started_at, .. }] => Ok((*attempt, *started_at)),
            other => panic!("expected one close, got {other:?}"),
        }
    }
    let env = Env::new(store);
    let worker = env.worker("w");
    let timed_out = |timeout_type| ActivityUpdate::Close {
        last_failure: None,
        outcome: ActivityOutcome::TimedOut { timeout_type, last_failure: None },
    };
    let expired = |now| env.store.claim_expired_activities(unique("t"), now, secs(5), 10);

    // Completed: the attempt a worker claimed at 3 s.
    let key = env.run_with_activity(limits(10)).await?;
    let [task] = &env.claim_activities(&worker, env.at_s(3)).await?[..] else { panic!("one activity") };
    env.store.update_activity(fence(task), completed()).await?;
    assert_eq!(closed(&env, &key.run_id).await?, (1, Some(env.at_s(3))));

    // The running attempt timed out (start-to-close, by another worker): its start still.
    let key = env.run_with_activity(limits(10)).await?;
    env.claim_activities(&worker, env.at_s(3)).await?;
    let [taken] = &expired(env.at_s(13)).await?[..] else { panic!("one expired") };
    env.store.update_activity(fence(taken), timed_out(TimeoutType::StartToClose)).await?;
    assert_eq!(closed(&env, &key.run_id).await?, (1, Some(env.at_s(3))));

    // Schedule-to-close before any attempt started: no start.
    let close_deadline = AttemptLimits { close_deadline: Some(env.at_s(5)), ..limits(10) };
    let mut key = None;
    let run_id = env
        .start_with(2, |s| {
            let mut a = env.activity(&s.run_id, 1, close_deadline);
            a.expires_at = ActivityTask::queued_expiry(&close_deadline, env.t0);
            key = Some(a.key.clone());
            s.new_activities.push(a);
        })
        .await?;
    let [taken] = &expired(env.at_s(5)).await?[..] else { panic!("one expired") };
    assert_eq!(Some(&taken.key), key.as_ref());
    env.store.update_activity(fence(taken), timed_out(TimeoutType::ScheduleToClose)).await?;
    assert_eq!(closed(&env, &run_id).await?, (0, None));

    // Schedule-to-close in a retry's backoff: attempt 1 ran, but none runs at the close.
    let close_deadline = AttemptLimits { close_deadline: Some(env.at_s(50)), ..limits(10) };
    let key = env.run_with_activity(close_deadline).await?;
    let [task] = &env.claim_activities(&worker, env.at_s(1)).await?[..] else { panic!("one activity") };
    let retry =
        ActivityUpdate::Retry { retry_at: env.at_s(100), failure: Failure::new("E", "boom"), heartbeat_details: None };
    env.store.update_activity(fence(task), retry).await?;
    let [taken] = &expired(env.at_s(50)).await?[..] else { panic!("one expired") };
    env.store.update_activity(fence(taken), timed_out(TimeoutType::ScheduleToClose)).await?;
    assert_eq!(closed(&env, &key.run_id).await?, (1, None));

    // An eager attempt (started by the step that scheduled it, under its lease)
    // closed through the inbox: the start its step gave it.
    let run_id = env
        .start_with(2, |s| {
            let mut a = env.activity(&s.run_id, 1, limits(10));
            a.start_attempt(&worker.worker_id, 42, env.at_s(2));
            s.new_activities.push(a);
            s.worker_id = worker.worker_id.clone();
        })
        .await?;
    let eager = ActivityFence { key: ActivityKey { run_id: run_id.clone(), seq: 1 }, attempt: 1, token: 42 };
    env.store.update_activity(eager, completed()).await?;
    assert_eq!(closed(&env, &run_id).await?, (1, Some(env.at_s(2))));
    Ok(())
}

pub(crate) async fn a_queued_activity_is_cancelled_only_while_no_attempt_runs(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let mut keys = vec![];
    let run_id = env
        .start_with(3, |s| {
            for seq in [1, 2] {
                let a = env.activity(&s.run_id, seq, limits(10));
                keys.push(a.key.clone());
                s.new_activities.push(a);
            }
        })
        .await?;
    let claimed = env.store.claim_activity_tasks(worker.clone(), env.t0, 1).await?;
    assert_eq!(claimed.len(), 1);
    let (running, queued) = if claimed[0].key == keys[0] { (&keys[0], &keys[1]) } else { (&keys[1], &keys[0]) };
    assert!(!env.store.cancel_queued_activity(running.clone()).await?, "an attempt runs");
    assert!(env.store.cancel_queued_activity(queued.clone()).await?);
    assert!(!env.store.cancel_queued_activity(queued.clone()).await?, "gone");
    let [wt] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("the run is ready") };
    assert_eq!(wt.run.run_id, run_id);
    assert!(matches!(
        &wt.inbox[..],
        [InboxEntry {
            item: InboxItem::ActivityClosed { attempt: 0, outcome: ActivityOutcome::Canceled, started_at: None, .. },
            ..
        }]
    ));
    assert_eq!(env.pending(&run_id).await?.0.len(), 1);
    Ok(())
}

pub(crate) async fn timers_fire_through_claims_only_when_due_and_once(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let run_id = env
        .start_with(3, |s| {
            for (seq, started_event_id) in [(1, 2), (2, 3)] {
                let fire_at = env.at_s(10 * u64::from(seq));
                s.new_timers.push(TimerTask { run_id: s.run_id.clone(), seq, started_event_id, fire_at });
            }
        })
        .await?;
    assert_eq!(env.pending(&run_id).await?.1.len(), 2);
    assert!(env.claim(&worker, env.at_s(9)).await?.is_empty());
    let mut other_queue = (*worker).clone();
    other_queue.task_queues = vec![unique("q")];
    assert!(env.claim(&Arc::new(other_queue), env.at_s(10)).await?.is_empty(), "another queue's timers stay");
    assert_eq!(env.pending(&run_id).await?.1.len(), 2);
    let [task] = &env.claim(&worker, env.at_s(10)).await?[..] else { panic!("the timer fired") };
    assert!(matches!(&task.inbox[..], [InboxEntry { item: InboxItem::TimerFired { started_event_id: 2 }, .. }]));
    let timers = env.pending(&run_id).await?.1;
    assert_eq!(timers.iter().map(|t| (t.seq, t.fire_at)).collect::<Vec<_>>(), [(2, env.at_s(20))]);
    let mut step = env.step(&run_id, StepFence::Leased { token: task.lease.token }, 4, 1, &worker.worker_id);
    step.consumed = vec![task.inbox[0].id];
    env.store.commit_workflow_task(step).await?;
    assert!(env.claim(&worker, env.at_s(15)).await?.is_empty(), "fired once");
    // Delivered by a step instead: the row goes, once.
    let mut step = env.step(&run_id, StepFence::Unleased, 5, 1, &worker.worker_id);
    step.delivered = Some(Delivery::TimerFired { seq: 2 });
    env.store.commit_workflow_task(step).await?;
    assert!(env.pending(&run_id).await?.1.is_empty());
    let mut again = env.step(&run_id, StepFence::Unleased, 6, 1, &worker.worker_id);
    again.delivered = Some(Delivery::TimerFired { seq: 2 });
    assert_stale(env.store.commit_workflow_task(again).await);
    assert!(env.claim(&worker, env.at_s(30)).await?.is_empty());
    assert_eq!(env.history_len(&run_id).await?, 5);
    Ok(())
}

pub(crate) async fn an_eager_activity_runs_under_its_lease_and_its_delivery_is_fenced(
    store: Box<dyn Store>,
) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let lease = Lease { owner: worker.worker_id.clone(), token: 42, deadline: env.at_s(10) };
    let run_id = env
        .start_with(2, |s| {
            let mut a = env.activity(&s.run_id, 1, limits(10));
            a.attempt = 1;
            a.running = true;
            a.started_at = Some(env.t0);
            a.attempt_deadline = Some(env.at_s(10));
            a.expires_at = Some(env.at_s(10));
            a.lease = Some(lease.clone());
            s.new_activities.push(a);
            s.worker_id = worker.worker_id.clone();
        })
        .await?;
    let (pending, _) = env.pending(&run_id).await?;
    assert!(matches!(&pending[..], [a] if a.running && a.attempt == 1 && a.lease.as_ref() == Some(&lease)));
    assert!(env.claim_activities(&env.worker("other"), env.at_s(1)).await?.is_empty());
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.next_event_id, run.sticky.as_deref()), (3, Some(worker.worker_id.as_str())));
    let delivery = |token| {
        let mut step = env.step(&run_id, StepFence::Unleased, 3, 2, &worker.worker_id);
        let key = ActivityKey { run_id: run_id.clone(), seq: 1 };
        step.delivered = Some(Delivery::ActivityClosed(ActivityFence { key, attempt: 1, token }));
        step
    };
    assert_stale(env.store.commit_workflow_task(delivery(41)).await);
    assert_eq!(env.history_len(&run_id).await?, 2);
    env.store.commit_workflow_task(delivery(42)).await?;
    assert!(env.pending(&run_id).await?.0.is_empty());
    assert_eq!(env.history_len(&run_id).await?, 4);
    Ok(())
}

pub(crate) async fn closing_a_run_removes_its_rows(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let run_id = env
        .start_with(3, |s| {
            s.new_activities.push(env.activity(&s.run_id, 1, limits(10)));
            s.new_timers.push(TimerTask {
                run_id: s.run_id.clone(),
                seq: 2,
                started_event_id: 3,
                fire_at: env.at_s(5),
            });
        })
        .await?;
    assert!(env.store.add_to_inbox(run_id.clone(), InboxItem::CancelRequested { reason: "r".into() }).await?);
    // A close that did not see an inbox item is refused: the item would be lost.
    let mut step = env.step(&run_id, StepFence::Unleased, 4, 1, &worker.worker_id);
    step.close = Some((RunStatus::Canceled, env.at_s(2)));
    match env.store.commit_workflow_task(step).await {
        Err(Error::StaleTask { reason, .. }) => assert_eq!(reason, super::INBOX_GREW),
        other => panic!("expected a refused close, got {other:?}"),
    }
    assert_eq!(env.history_len(&run_id).await?, 3, "nothing written");
    let [task] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("the item makes the run ready") };
    let mut step = env.step(&run_id, StepFence::Leased { token: task.lease.token }, 4, 1, &worker.worker_id);
    step.consumed = task.inbox.iter().map(|e| e.id).collect();
    step.close = Some((RunStatus::Canceled, env.at_s(2)));
    assert!(!env.store.commit_workflow_task(step).await?, "a closed run's inbox is removed");
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.status, run.closed_at, run.lease), (RunStatus::Canceled, Some(env.at_s(2)), None));
    let (activities, timers) = env.pending(&run_id).await?;
    assert!(activities.is_empty() && timers.is_empty());
    assert!(env.claim(&worker, env.at_s(10)).await?.is_empty(), "no inbox, no timer fires");
    assert!(env.claim_activities(&worker, env.at_s(10)).await?.is_empty());
    assert!(!env.store.add_to_inbox(run_id.clone(), InboxItem::Terminate { reason: "t".into() }).await?);
    assert_stale(env.store.commit_workflow_task(env.step(&run_id, StepFence::Unleased, 5, 1, "w")).await);
    Ok(())
}

pub(crate) async fn next_due_is_the_earliest_of_each_kind(store: Box<dyn Store>) -> Result<()> {
    // Far past every other test's times, whose rows a shared store holds too.
    let env = Env::at(store, SystemTime::UNIX_EPOCH + secs(8_000_000_000));
    let worker = env.worker("w");
    assert_eq!(env.store.next_due(worker.clone(), env.t0).await?, None);
    // A worker's expiry at 20, a lease's end at 30, an activity ready at 40,
    // a timer at 50, that activity's expiry at 60.
    env.store.register_worker(env.worker("other"), env.at_s(20)).await?;
    let leased = env.start().await?;
    let claimed = env.store.claim_workflow_tasks(worker.clone(), env.t0, secs(30), 10).await?;
    assert_eq!(ids(&claimed), [leased.as_str()]);
    env.start_with(3, |s| {
        let mut a = env.activity(&s.run_id, 1, AttemptLimits { schedule_to_start: Some(secs(20)), ..limits(10) });
        a.ready_at = env.at_s(40);
        a.expires_at = Some(env.at_s(60));
        s.new_activities.push(a);
        s.new_timers.push(TimerTask { run_id: s.run_id.clone(), seq: 2, started_event_id: 3, fire_at: env.at_s(50) });
    })
    .await?;
    for (now, due) in [(0, Some(20)), (20, Some(30)), (30, Some(40)), (40, Some(50)), (50, Some(60)), (60, None)] {
        let found = env.store.next_due(worker.clone(), env.at_s(now)).await?;
        assert_eq!(found, due.map(|s| env.at_s(s)), "next due after {now}");
    }
    Ok(())
}

pub(crate) async fn expire_all_ends_every_lease_of_the_previous_process(store: Box<dyn Store>) -> Result<()> {
    if !store.exclusive() {
        eprintln!("skipped: expire_all is for exclusive stores");
        return Ok(());
    }
    let env = Env::new(store);
    let (old, new) = (env.worker("old"), env.worker("new"));
    env.store.register_worker(old.clone(), env.at_s(600)).await?;
    let key = env.run_with_activity(limits(60)).await?;
    let run_id = env.start().await?;
    assert_eq!(env.store.claim_workflow_tasks(old.clone(), env.t0, secs(600), 10).await?.len(), 1);
    assert_eq!(env.claim_activities(&old, env.t0).await?.len(), 1);
    env.store.expire_all(env.at_s(1)).await?;
    assert!(env.store.list_workers().await?.is_empty());
    assert_eq!(ids(&env.claim(&new, env.at_s(1)).await?), [run_id.as_str()]);
    let expired = env.store.claim_expired_activities(new.worker_id.clone(), env.at_s(1), secs(5), 10).await?;
    assert_eq!(expired.iter().map(|a| &a.key).collect::<Vec<_>>(), [&key]);
    assert_eq!((expired[0].attempt, expired[0].attempt_deadline), (1, Some(env.at_s(60))), "deadlines kept");
    Ok(())
}

pub(crate) async fn the_inbox_takes_items_for_open_runs_only_and_keeps_their_order(
    store: Box<dyn Store>,
) -> Result<()> {
    let env = Env::new(store);
    assert!(!env.store.add_to_inbox(unique("missing"), InboxItem::Terminate { reason: "t".into() }).await?);
    let runs = [env.start().await?, env.start().await?];
    for i in 0..3 {
        for run_id in &runs {
            let item = InboxItem::CancelRequested { reason: format!("{i}") };
            assert!(env.store.add_to_inbox(run_id.clone(), item).await?);
        }
    }
    let tasks = env.claim(&env.worker("w"), env.t0).await?;
    assert_eq!(tasks.len(), 2);
    let mut all_ids = vec![];
    for task in &tasks {
        let reasons: Vec<String> = task
            .inbox
            .iter()
            .map(|e| match &e.item {
                InboxItem::Start { .. } => "start".into(),
                InboxItem::CancelRequested { reason } => reason.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(reasons, ["start", "0", "1", "2"]);
        assert!(task.inbox.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        all_ids.extend(task.inbox.iter().map(|e| e.id));
    }
    let count = all_ids.len();
    all_ids.sort();
    all_ids.dedup();
    assert_eq!(all_ids.len(), count, "ids are unique");
    Ok(())
}

pub(crate) async fn history_returns_the_events_after_an_id(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let run_id = env.start_with(3, |_| {}).await?;
    env.store.commit_workflow_task(env.step(&run_id, StepFence::Unleased, 4, 2, "w")).await?;
    let events = env.store.history(run_id.clone(), "wf".into(), 0).await?;
    assert_eq!(events.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let after = env.store.history(run_id.clone(), "wf".into(), 3).await?;
    assert_eq!(after.iter().map(|e| e.event_id).collect::<Vec<_>>(), [4, 5]);
    assert!(env.store.history(unique("missing"), "wf".into(), 0).await?.is_empty());
    Ok(())
}

pub(crate) async fn workers_register_heartbeat_and_leave(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let (a, b) = (env.worker("a"), env.worker("b"));
    env.store.register_worker(a.clone(), env.at_s(10)).await?;
    env.store.register_worker(b.clone(), env.at_s(20)).await?;
    let ours = || async {
        let mut workers: Vec<(String, SystemTime)> = env
            .store
            .list_workers()
            .await?
            .into_iter()
            .filter(|w| w.info.worker_id == a.worker_id || w.info.worker_id == b.worker_id)
            .map(|w| {
                assert_eq!(w.info.task_queues, std::slice::from_ref(&env.queue));
                assert_eq!(w.info.activity_types, std::slice::from_ref(&env.activity_type));
                (w.info.worker_id, w.expires_at)
            })
            .collect();
        workers.sort();
        Ok::<_, Error>(workers)
    };
    let mut expected = vec![(a.worker_id.clone(), env.at_s(10)), (b.worker_id.clone(), env.at_s(20))];
    expected.sort();
    assert_eq!(ours().await?, expected);
    // A heartbeat extends the worker and the leases of the tasks it holds, expired ones included.
    let run_id = env.start().await?;
    assert_eq!(env.store.claim_workflow_tasks(a.clone(), env.t0, secs(5), 10).await?.len(), 1);
    env.store.heartbeat_worker(a.worker_id.clone(), env.at_s(40), env.at_s(30)).await?;
    assert_eq!(env.store.run(run_id.clone()).await?.unwrap().lease.unwrap().deadline, env.at_s(30));
    assert!(env.claim(&b, env.at_s(29)).await?.is_empty());
    assert!(ours().await?.contains(&(a.worker_id.clone(), env.at_s(40))));
    // Leaving releases them.
    env.store.unregister_worker(a.worker_id.clone()).await?;
    assert_eq!(ours().await?, [(b.worker_id.clone(), env.at_s(20))]);
    assert_eq!(env.store.run(run_id.clone()).await?.unwrap().lease, None);
    assert_eq!(ids(&env.claim(&b, env.at_s(1)).await?), [run_id.as_str()]);
    Ok(())
}

pub(crate) async fn list_runs_filters_by_status_and_type_newest_first(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let mut made = vec![];
    for i in 0..3 {
        let run = RunRecord { created_at: env.at_s(i), ..env.run() };
        made.push(run.run_id.clone());
        let start =
            RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
        env.store.create_run(run, start, WorkflowIdReusePolicy::default()).await?;
    }
    env.store.commit_workflow_task(env.closing(&made[0], 1, RunStatus::Completed).await?).await?;
    let list = |status, limit| {
        env.store.list_runs(RunFilter {
            status,
            workflow_type: Some(env.workflow_type.clone()),
            limit,
            ..Default::default()
        })
    };
    let ids = |runs: Vec<ListedRun>| runs.into_iter().map(|r| r.run.run_id).collect::<Vec<_>>();
    assert_eq!(ids(list(None, None).await?), [made[2].clone(), made[1].clone(), made[0].clone()]);
    assert_eq!(ids(list(Some(RunStatus::Running), None).await?), [made[2].clone(), made[1].clone()]);
    let done = list(Some(RunStatus::Completed), None).await?;
    assert_eq!(
        done.iter().map(|r| (&r.run.run_id, r.run.status)).collect::<Vec<_>>(),
        [(&made[0], RunStatus::Completed)]
    );
    assert_eq!(list(None, Some(1)).await?.len(), 1);
    Ok(())
}

pub(crate) async fn list_runs_pages_by_position_and_filters_by_id_prefix(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let prefix = unique("page");
    // Seven runs; three share a creation time, so the store's insertion order breaks the tie.
    let mut made = vec![];
    for (i, at) in [0, 1, 1, 1, 2, 3, 4].into_iter().enumerate() {
        let family = if i % 2 == 0 { "even" } else { "odd" };
        let run = RunRecord { created_at: env.at_s(at), ..env.run_with_id(&format!("{prefix}-{family}-{i}")) };
        made.push(run.run_id.clone());
        let start =
            RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
        env.store.create_run(run, start, WorkflowIdReusePolicy::default()).await?;
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let filter = |after, limit| RunFilter {
        workflow_type: Some(env.workflow_type.clone()),
        after,
        limit: Some(limit),
        ..RunFilter::default()
    };
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = env.store.list_runs(filter(after, 2)).await?;
        if seen.is_empty() {
            // A run created after the first page is newer: no later page lists it.
            let late = RunRecord { created_at: env.at_s(9), ..env.run_with_id(&format!("{prefix}-late")) };
            let start =
                RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
            env.store.create_run(late, start, WorkflowIdReusePolicy::default()).await?;
        }
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        seen.extend(page.into_iter().map(|r| r.run.run_id));
    }
    assert_eq!(seen, newest_first, "every run once, newest first, across pages");

    let by_prefix = |p: String| RunFilter {
        workflow_type: Some(env.workflow_type.clone()),
        workflow_id_prefix: Some(p),
        ..RunFilter::default()
    };
    let odd: Vec<String> =
        env.store.list_runs(by_prefix(format!("{prefix}-odd"))).await?.into_iter().map(|r| r.run.run_id).collect();
    assert_eq!(odd, [made[5].clone(), made[3].clone(), made[1].clone()]);
    assert!(env.store.list_runs(by_prefix(format!("{prefix}-odd-9"))).await?.is_empty());
    assert_eq!(env.store.list_runs(by_prefix(prefix.clone())).await?.len(), 8);

    // Counts by status (a held run counts as running, and as held), by prefix.
    env.store.commit_workflow_task(env.closing(&made[0], 1, RunStatus::Completed).await?).await?;
    env.store.commit_workflow_task(env.closing(&made[2], 1, RunStatus::Failed).await?).await?;
    env.store.hold_run(made[1].clone(), None, Some("non-determinism".into()), env.at_s(5)).await?;
    let mut counts = env.store.count_runs(by_prefix(prefix.clone())).await?;
    counts.by_status.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        counts,
        RunCounts {
            by_status: vec![(RunStatus::Completed, 1), (RunStatus::Failed, 1), (RunStatus::Running, 6)],
            held: 1
        }
    );
    let even = env.store.count_runs(by_prefix(format!("{prefix}-even"))).await?;
    assert_eq!((even.by_status.iter().map(|(_, n)| n).sum::<u64>(), even.held), (4, 0));
    Ok(())
}

pub(crate) async fn release_hold_and_targeted_claims(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let run_id = env.start().await?;
    let worker = env.worker("w");
    let other = env.worker("x");
    let claim_one =
        |worker: &Arc<WorkerInfo>, now| env.store.claim_workflow_task(worker.clone(), run_id.clone(), now, secs(10));
    let [task] = &env.claim(&worker, env.t0).await?[..] else { panic!("one task") };
    assert!(claim_one(&other, env.at_s(1)).await?.is_none(), "leased");
    assert_stale(env.store.release_workflow_task(run_id.clone(), task.lease.token.wrapping_add(1)).await);
    env.store.release_workflow_task(run_id.clone(), task.lease.token).await?;
    // Held (fenced on the token, which it releases): not claimable, even
    // targeted, by workers that started before the hold.
    let [task] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("ready again") };
    assert_eq!(task.inbox.len(), 1);
    let hold = |token, reason: &str| env.store.hold_run(run_id.clone(), token, Some(reason.into()), env.at_s(2));
    assert_stale(hold(Some(task.lease.token.wrapping_add(1)), "x").await);
    hold(Some(task.lease.token), "non-determinism").await?;
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.held.as_deref(), run.lease, run.held_at), (Some("non-determinism"), None, Some(env.at_s(2))));
    assert!(env.claim(&worker, env.at_s(3)).await?.is_empty());
    assert!(claim_one(&other, env.at_s(3)).await?.is_none());
    // A worker started after the hold may run other code: it claims the run.
    let newer = Arc::new(WorkerInfo { started_at: env.at_s(4), ..(*env.worker("newer")).clone() });
    let [task] = &env.claim(&newer, env.at_s(5)).await?[..] else { panic!("claimable by a newer worker") };
    env.store.release_workflow_task(run_id.clone(), task.lease.token).await?;
    env.store.hold_run(run_id.clone(), None, None, env.at_s(5)).await?;
    // A targeted claim ignores queue, type and sticky worker.
    let targeted = claim_one(&other, env.at_s(6)).await?.expect("claimable");
    assert_eq!((targeted.run.run_id.as_str(), targeted.inbox.len()), (run_id.as_str(), 1));
    assert!(claim_one(&worker, env.at_s(7)).await?.is_none(), "leased");
    // Its holder may claim it again (a retried step): under a new token.
    let again = claim_one(&other, env.at_s(7)).await?.expect("the holder claims again");
    assert_ne!(again.lease.token, targeted.lease.token);
    assert_stale(env.store.release_workflow_task(run_id.clone(), targeted.lease.token).await);
    // A step clears a hold made while it ran.
    env.store.hold_run(run_id.clone(), None, Some("panic".into()), env.at_s(8)).await?;
    let mut step = env.step(&run_id, StepFence::Leased { token: again.lease.token }, 1, 1, &other.worker_id);
    step.consumed = again.inbox.iter().map(|e| e.id).collect();
    assert!(!env.store.commit_workflow_task(step).await?);
    let run = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!((run.held, run.held_at), (None, None));
    assert!(env.store.claim_workflow_task(env.worker("z"), unique("missing"), env.t0, secs(1)).await?.is_none());
    Ok(())
}

pub(crate) async fn a_step_s_replies_are_kept_by_request_id(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let run_id = env.start_with(1, |_| {}).await?;
    assert!(env.store.reply(run_id.clone(), "q1".into()).await?.is_none());
    let item = InboxItem::Query { query_name: "status".into(), input: payload("null"), request_id: "q1".into() };
    assert!(env.store.add_to_inbox(run_id.clone(), item).await?);
    let [task] = &env.claim(&worker, env.at_s(1)).await?[..] else { panic!("a query makes the run ready") };
    // A step with replies and no events (a query, a rejected update).
    let mut step = env.step(&run_id, StepFence::Leased { token: task.lease.token }, 2, 0, &worker.worker_id);
    step.consumed = task.inbox.iter().map(|e| e.id).collect();
    step.replies = vec![
        Reply { request_id: "q1".into(), body: ReplyBody::QueryAnswered { answer: payload("\"open\"") } },
        Reply { request_id: "u1".into(), body: ReplyBody::UpdateRejected { failure: Failure::new("Invalid", "no") } },
    ];
    assert!(!env.store.commit_workflow_task(step).await?);
    assert_eq!(env.history_len(&run_id).await?, 1, "replies are not history");
    match env.store.reply(run_id.clone(), "q1".into()).await? {
        Some(ReplyBody::QueryAnswered { answer }) => assert_eq!(answer.as_json(), "\"open\""),
        other => panic!("{other:?}"),
    }
    match env.store.reply(run_id.clone(), "u1".into()).await? {
        Some(ReplyBody::UpdateRejected { failure }) => assert_eq!(failure.error_type(), "Invalid"),
        other => panic!("{other:?}"),
    }
    assert!(env.store.reply("another run".into(), "q1".into()).await?.is_none());
    Ok(())
}

pub(crate) async fn continuing_as_new_closes_the_run_and_opens_the_next_in_one_commit(
    store: Box<dyn Store>,
) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let run_id = env.start_with(1, |_| {}).await?;
    let first = env.store.run(run_id.clone()).await?.unwrap();
    let mut next = env.run();
    next.workflow_id = first.workflow_id.clone();
    let attributes = StartAttributes {
        continued_from_run_id: Some(run_id.clone()),
        parent: None,
        run_timeout: Some(secs(30)),
        execution_timeout: None,
        execution_expires_at: Some(env.at_s(100)),
    };
    let start = InboxItem::Start { input: payload("2"), signal: None, attributes: attributes.clone() };
    let continued = || Some(NewRun { run: next.clone(), start: start.clone() });

    // A refused step opens nothing.
    let mut stale = env.step(&run_id, StepFence::Unleased, 5, 1, &worker.worker_id);
    stale.close = Some((RunStatus::ContinuedAsNew, env.at_s(1)));
    stale.continued = continued();
    assert_stale(env.store.commit_workflow_task(stale).await);
    assert!(env.store.run(next.run_id.clone()).await?.is_none());

    let mut step = env.closing(&run_id, 2, RunStatus::ContinuedAsNew).await?;
    step.continued = continued();
    assert!(!env.store.commit_workflow_task(step).await?);
    let closed = env.store.run(run_id.clone()).await?.unwrap();
    assert_eq!(closed.status, RunStatus::ContinuedAsNew);
    let latest = env.store.latest_run(first.workflow_id.clone()).await?.unwrap();
    assert_eq!(
        (latest.run_id.as_str(), latest.status, latest.next_event_id),
        (next.run_id.as_str(), RunStatus::Running, 1)
    );
    // The id stays taken: by the new run.
    let again = env
        .store
        .create_run(
            env.run_with_id(&first.workflow_id),
            RunStart::Inbox(start.clone()),
            WorkflowIdReusePolicy::AllowDuplicate,
        )
        .await;
    assert!(matches!(&again, Err(Error::AlreadyStarted { run_id, .. }) if *run_id == next.run_id), "{again:?}");
    // The new run is claimable, its start as given.
    let [task] = &env.claim(&worker, env.at_s(2)).await?[..] else { panic!("the new run is ready") };
    assert_eq!(task.run.run_id, next.run_id);
    let [InboxEntry { item: InboxItem::Start { input, attributes: got, .. }, .. }] = &task.inbox[..] else {
        panic!("{:?}", task.inbox)
    };
    assert_eq!((input, got), (&payload("2"), &attributes));
    Ok(())
}

pub(crate) async fn a_step_starts_cancels_and_hears_from_its_children(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let holder = env.start().await?;
    let taken = env.store.run(holder.clone()).await?.unwrap().workflow_id;
    let parent = env.start_with(1, |_| {}).await?;
    let worker = env.worker("w");
    // Two children: one new id, one held by an open run.
    let fresh = unique("child");
    let mut step = env.step(&parent, StepFence::Unleased, 2, 2, &worker.worker_id);
    step.children_out =
        vec![env.child(&fresh, 2, ParentClosePolicy::Terminate), env.child(&taken, 3, ParentClosePolicy::Terminate)];
    let child_run = step.children_out[0].run.run_id.clone();
    let refused_run = step.children_out[1].run.run_id.clone();
    assert!(env.store.commit_workflow_task(step).await?, "the parent hears of its children at once");
    assert!(env.store.run(refused_run).await?.is_none(), "nothing started under a held id");
    let child = env.store.run(child_run.clone()).await?.unwrap();
    assert_eq!((child.workflow_id.as_str(), child.status), (fresh.as_str(), RunStatus::Running));
    assert!(matches!(&env.inbox(&child_run).await?[..], [InboxItem::Start { .. }]));
    let told = env.inbox(&parent).await?;
    let [
        InboxItem::ChildStarted { initiated_event_id: 2, outcome: Ok(started) },
        InboxItem::ChildStarted { initiated_event_id: 3, outcome: Err((existing, status)) },
    ] = &told[..]
    else {
        panic!("{told:?}")
    };
    assert_eq!((started, existing, status.as_str()), (&child_run, &holder, "running"));

    // The parent asks the child to cancel.
    let task = env.store.claim_workflow_task(worker.clone(), parent.clone(), env.t0, secs(10)).await?.unwrap();
    let mut step = env.step(&parent, StepFence::Leased { token: task.lease.token }, 4, 1, &worker.worker_id);
    step.consumed = task.inbox.iter().map(|e| e.id).collect();
    step.cancel_children = vec![2, 3];
    assert!(!env.store.commit_workflow_task(step).await?);
    let items = env.inbox(&child_run).await?;
    assert!(
        matches!(&items[..], [InboxItem::Start { .. }, InboxItem::CancelRequested { reason }] if reason == CHILD_CANCEL_REASON),
        "{items:?}"
    );
    assert_eq!(env.inbox(&holder).await?.len(), 1, "the id's other run is not the child");

    // The child closes: the parent is told, with the child's outcome.
    let mut close = env.closing(&child_run, 1, RunStatus::Completed).await?;
    close.to_parent = Some(ChildOutcome::Completed { result: payload("14") });
    env.store.commit_workflow_task(close).await?;
    let told = env.inbox(&parent).await?;
    assert!(
        matches!(&told[..], [InboxItem::ChildClosed { initiated_event_id: 2, outcome: ChildOutcome::Completed { result } }] if *result == payload("14")),
        "{told:?}"
    );
    let claimable = env.claim(&worker, env.t0).await?;
    assert!(claimable.iter().any(|t| t.run.run_id == parent), "the parent is ready");
    Ok(())
}

pub(crate) async fn a_closing_parent_applies_each_child_s_close_policy(store: Box<dyn Store>) -> Result<()> {
    let env = Env::new(store);
    let worker = env.worker("w");
    let parent = env.start_with(1, |_| {}).await?;
    let policies = [ParentClosePolicy::Terminate, ParentClosePolicy::RequestCancel, ParentClosePolicy::Abandon];
    let mut step = env.step(&parent, StepFence::Unleased, 2, 3, &worker.worker_id);
    step.children_out =
        policies.iter().enumerate().map(|(i, p)| env.child(&unique("child"), 2 + i as u64, *p)).collect();
    let children: Vec<String> = step.children_out.iter().map(|c| c.run.run_id.clone()).collect();
    env.store.commit_workflow_task(step).await?;
    // The third child continues as new: its next run keeps the parent.
    let next = env.run_with_id(&env.store.run(children[2].clone()).await?.unwrap().workflow_id);
    let mut can = env.closing(&children[2], 1, RunStatus::ContinuedAsNew).await?;
    can.continued = Some(NewRun {
        run: next.clone(),
        start: InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() },
    });
    can.to_parent = Some(ChildOutcome::Canceled);
    env.store.commit_workflow_task(can).await?;
    assert!(
        !env.inbox(&parent).await?.iter().any(|i| matches!(i, InboxItem::ChildClosed { .. })),
        "a child that continues as new has not closed for its parent"
    );

    let mut close = env.closing(&parent, 5, RunStatus::Completed).await?;
    close.may_have_children = true;
    env.store.commit_workflow_task(close).await?;
    let last = |items: Vec<InboxItem>| items.into_iter().last();
    assert!(
        matches!(last(env.inbox(&children[0]).await?), Some(InboxItem::Terminate { reason }) if reason.contains("terminate"))
    );
    assert!(matches!(last(env.inbox(&children[1]).await?), Some(InboxItem::CancelRequested { .. })));
    assert!(matches!(last(env.inbox(&next.run_id).await?), Some(InboxItem::Start { .. })), "abandoned: untouched");

    // The continued run's close reaches the (closed) parent's inbox no more.
    let mut close = env.closing(&next.run_id, 1, RunStatus::Completed).await?;
    close.to_parent = Some(ChildOutcome::Completed { result: payload("1") });
    env.store.commit_workflow_task(close).await?;
    assert!(env.inbox(&parent).await?.is_empty());
    Ok(())
}

pub(crate) async fn closed_runs_are_deleted_after_their_retention_with_everything_theirs(
    store: Box<dyn Store>,
) -> Result<()> {
    // Long before every other test's runs, so that a shared store's other runs are never old enough.
    let env = Env::at(store, SystemTime::UNIX_EPOCH + secs(1_000));
    let worker = env.worker("w");
    let closed_at = |s: u64, step: &mut StepCommit| step.close = step.close.map(|(status, _)| (status, env.at_s(s)));
    let old = env.start_with(3, |_| {}).await?;
    let mut close = env.closing(&old, 4, RunStatus::Failed).await?;
    closed_at(10, &mut close);
    env.store.commit_workflow_task(close).await?;
    let recent = env.start().await?;
    let mut close = env.closing(&recent, 1, RunStatus::Completed).await?;
    closed_at(100, &mut close);
    env.store.commit_workflow_task(close).await?;
    let open = env.start().await?;
    // A parent that closed long ago, abandoning a child that still runs.
    let parent = env.start_with(1, |_| {}).await?;
    let mut step = env.step(&parent, StepFence::Unleased, 2, 1, &worker.worker_id);
    step.children_out = vec![env.child(&unique("child"), 2, ParentClosePolicy::Abandon)];
    let child = step.children_out[0].run.run_id.clone();
    env.store.commit_workflow_task(step).await?;
    let mut close = env.closing(&parent, 3, RunStatus::Completed).await?;
    closed_at(10, &mut close);
    env.store.commit_workflow_task(close).await?;
    assert_eq!(env.history_len(&old).await?, 4);

    assert_eq!(env.store.delete_closed_runs(env.at_s(50), 1).await?, 1, "at most `limit` at a time");
    while env.store.delete_closed_runs(env.at_s(50), 100).await? > 0 {}
    for gone in [&old, &parent] {
        assert!(env.store.run(gone.clone()).await?.is_none(), "{gone} is deleted");
        assert_eq!(env.history_len(gone).await?, 0, "{gone}'s events are deleted");
    }
    assert_eq!(env.store.run(recent.clone()).await?.map(|r| r.status), Some(RunStatus::Completed), "closed later");
    for running in [&open, &child] {
        assert_eq!(env.store.run(running.clone()).await?.map(|r| r.status), Some(RunStatus::Running));
    }
    assert_eq!(env.history_len(&recent).await?, 1);

    // The child closes with no parent left to hear it.
    let mut close = env.closing(&child, 1, RunStatus::Completed).await?;
    close.to_parent = Some(ChildOutcome::Completed { result: payload("1") });
    closed_at(150, &mut close);
    env.store.commit_workflow_task(close).await?;
    while env.store.delete_closed_runs(env.at_s(200), 100).await? > 0 {}
    for gone in [&recent, &child] {
        assert!(env.store.run(gone.clone()).await?.is_none(), "{gone} is deleted");
    }
    assert!(env.store.run(open).await?.is_some(), "an open run is never deleted");
    Ok(())
}
