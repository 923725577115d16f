//! Child workflows: typed start and result, the events on both sides, a
//! failure's cause, an id in use, another task queue, cancellation, signals,
//! parent close policies, timeouts and continue-as-new. On virtual time,
//! replayed, with and without the cache.

mod common;

use common::{event_types, find, secs};
use weft::history::{EventAttributes, ParentClosePolicy, ParentExecution, WorkflowTimeout};
use weft::testing::{Replayer, TestEnv};
use weft::workflow::{ChildWorkflowFailure, ChildWorkflowOptions};
use weft::{Engine, Error, RunStatus, WorkflowContext, WorkflowError, WorkflowResult, workflow};

/// Doubles its input after a second; fails on 13.
#[workflow]
async fn double(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
    ctx.sleep(secs(1)).await?;
    if n == 13 {
        return Err(WorkflowError::new("unlucky").with_type("Unlucky"));
    }
    Ok(n * 2)
}

/// Sleeps for `seconds` (cancellable), then says so.
#[workflow]
async fn sleeper(ctx: WorkflowContext, seconds: u64) -> WorkflowResult<String> {
    ctx.sleep(secs(seconds)).await?;
    Ok(format!("slept {seconds}s"))
}

/// Counts down by continuing as new, then returns 0.
#[workflow]
async fn countdown(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    if n > 0 {
        ctx.sleep(secs(1)).await?;
        return ctx.continue_as_new(countdown, n - 1);
    }
    Ok(n)
}

/// Runs `double` as a child on `n`, `?`-ing its failure.
#[workflow]
async fn parent(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
    Ok(ctx.execute_child_workflow(double, n, ChildWorkflowOptions::new(format!("double-{n}"))).await?)
}

/// Two children at once, on different queues, then their sum.
#[workflow]
async fn fan_out(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let a = ctx.start_child_workflow(double, 1, ChildWorkflowOptions::new("fan-a")).await?;
    let b = ctx.start_child_workflow(double, 2, ChildWorkflowOptions::new("fan-b").task_queue("elsewhere")).await?;
    Ok(a.await? + b.await?)
}

/// Starts a child under an id given, reports how the start went.
#[workflow]
async fn start_as(ctx: WorkflowContext, id: String) -> WorkflowResult<String> {
    match ctx.start_child_workflow(sleeper, 1, ChildWorkflowOptions::new(id)).await {
        Ok(child) => Ok(child.await?),
        Err(e @ ChildWorkflowFailure::AlreadyStarted { .. }) => Ok(format!("refused: {e}")),
        Err(e) => Err(e.into()),
    }
}

/// Starts a child under an id given that must never have run before.
#[workflow]
async fn start_once(ctx: WorkflowContext, id: String) -> WorkflowResult<String> {
    let options = ChildWorkflowOptions::new(id).id_reuse_policy(weft::WorkflowIdReusePolicy::RejectDuplicate);
    match ctx.execute_child_workflow(sleeper, 1, options).await {
        Err(e @ ChildWorkflowFailure::AlreadyStarted { .. }) => Ok(format!("refused: {e}")),
        other => Ok(other?),
    }
}

/// Starts a long child with `policy` and returns without waiting for it.
#[workflow]
async fn leaves_child(ctx: WorkflowContext, policy: u8) -> WorkflowResult<String> {
    let policy = match policy {
        0 => ParentClosePolicy::Terminate,
        1 => ParentClosePolicy::RequestCancel,
        _ => ParentClosePolicy::Abandon,
    };
    let options = ChildWorkflowOptions::new(format!("left-{policy:?}")).parent_close_policy(policy);
    let child = ctx.start_child_workflow(sleeper, 3600, options).await?;
    Ok(child.run_id().to_owned())
}

/// Starts a long child, cancels it after 10 s, reports its end.
#[workflow]
async fn cancels_child(ctx: WorkflowContext) -> WorkflowResult<String> {
    let child = ctx.start_child_workflow(sleeper, 3600, ChildWorkflowOptions::new("to-cancel")).await?;
    ctx.sleep(secs(10)).await?;
    child.cancel();
    Ok(match child.await {
        Err(ChildWorkflowFailure::Canceled { workflow_id, .. }) => format!("{workflow_id} cancelled"),
        other => format!("unexpected: {other:?}"),
    })
}

/// Waits on a long child (cancelled with the parent, or terminated with it).
#[workflow]
async fn waits_on_child(ctx: WorkflowContext) -> WorkflowResult<String> {
    Ok(ctx.execute_child_workflow(sleeper, 3600, ChildWorkflowOptions::new("waited-on")).await?)
}

/// A child under a run timeout shorter than its work.
#[workflow]
async fn child_times_out(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options = ChildWorkflowOptions::new("slow-child").run_timeout(secs(30));
    Ok(match ctx.execute_child_workflow(sleeper, 60, options).await {
        Err(ChildWorkflowFailure::TimedOut { timeout: WorkflowTimeout::Run, .. }) => "timed out".to_owned(),
        other => format!("unexpected: {other:?}"),
    })
}

/// A child that continues as new three times.
#[workflow]
async fn child_chain(ctx: WorkflowContext) -> WorkflowResult<u32> {
    Ok(ctx.execute_child_workflow(countdown, 3, ChildWorkflowOptions::new("countdown")).await?)
}

/// A child that waits for a go-ahead signal, then returns who gave it.
#[derive(Debug, Default)]
pub struct Gate {
    opened_by: Option<String>,
}

#[workflow]
impl Gate {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.opened_by.is_some()).await?;
        Ok(ctx.state(|s| s.opened_by.clone().unwrap_or_default()))
    }

    #[signal]
    pub fn open(&mut self, by: String) {
        self.opened_by = Some(by);
    }
}

/// Starts a gate, signals it through the child's handle, waits for it.
#[workflow]
async fn opens_gate(ctx: WorkflowContext) -> WorkflowResult<String> {
    let gate = ctx.start_child_workflow(Gate::run, (), ChildWorkflowOptions::new("gate")).await?;
    ctx.sleep(secs(5)).await?;
    gate.signal(Gate::open, "the parent".to_owned()).await?;
    Ok(gate.await?)
}

fn builder() -> weft::EngineBuilder {
    Engine::builder()
        .register_workflow(Gate::run)
        .register_workflow(opens_gate)
        .task_queue(weft::DEFAULT_TASK_QUEUE)
        .task_queue("elsewhere")
        .register_workflow(double)
        .register_workflow(sleeper)
        .register_workflow(countdown)
        .register_workflow(parent)
        .register_workflow(fan_out)
        .register_workflow(start_as)
        .register_workflow(start_once)
        .register_workflow(leaves_child)
        .register_workflow(cancels_child)
        .register_workflow(waits_on_child)
        .register_workflow(child_times_out)
        .register_workflow(child_chain)
}

fn replayer() -> Replayer {
    Replayer::new()
        .register_workflow(double)
        .register_workflow(sleeper)
        .register_workflow(parent)
        .register_workflow(fan_out)
        .register_workflow(cancels_child)
}

#[tokio::test(start_paused = true)]
async fn a_child_s_result_is_the_parent_s_and_both_histories_say_so() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let handle = client.start_workflow(parent, "parent-21", 21).await?;
    assert_eq!(handle.result().await?, 42);
    let history = handle.history().await?;
    assert_eq!(
        event_types(&history),
        [
            "WorkflowExecutionStarted",
            "StartChildWorkflowExecutionInitiated",
            "ChildWorkflowExecutionStarted",
            "ChildWorkflowExecutionCompleted",
            "WorkflowExecutionCompleted"
        ]
    );
    let child_run = find(&history, |a| match a {
        EventAttributes::ChildWorkflowExecutionStarted { initiated_event_id: 2, run_id } => Some(run_id.clone()),
        _ => None,
    })
    .expect("the child's run id");
    let child = client.workflow_handle_for_run(double, "double-21", &child_run).await?;
    let started = child.history().await?;
    let EventAttributes::WorkflowExecutionStarted { parent, .. } = started[0].attributes() else { unreachable!() };
    let expected = ParentExecution {
        workflow_id: "parent-21".to_owned(),
        run_id: handle.run_id().to_owned(),
        initiated_event_id: 2,
    };
    assert_eq!(parent.as_ref(), Some(&expected), "the child's history records its parent");
    replayer().replay(&history)?;
    replayer().replay(&started)?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_child_s_failure_reaches_the_parent_with_its_cause() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(parent, "parent-13", 13).await?;
    let err = handle.result().await.unwrap_err();
    let Error::WorkflowFailed { failure, .. } = &err else { panic!("{err:?}") };
    assert_eq!(failure.error_type(), "ChildWorkflowFailure", "{failure:?}");
    assert!(failure.message().contains("double-13"), "{failure:?}");
    let cause = failure.cause().expect("the child's failure is the cause");
    assert_eq!((cause.error_type(), cause.message()), ("Unlucky", "unlucky"));
    let history = handle.history().await?;
    assert!(event_types(&history).contains(&"ChildWorkflowExecutionFailed"));
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn children_run_at_once_and_on_their_own_task_queue() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let started = env.now();
    let handle = env.client().start_workflow(fan_out, "fan", ()).await?;
    assert_eq!(handle.result().await?, 6);
    assert_eq!(env.now().duration_since(started).unwrap(), secs(1), "both children slept at once");
    let listed = env.client().list_workflows(weft::ListFilter::all()).await?;
    assert!(listed.iter().any(|d| d.workflow_id == "fan-b" && d.status == RunStatus::Completed));
    let history = handle.history().await?;
    let queues: Vec<String> = history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::StartChildWorkflowExecutionInitiated { task_queue, .. } => Some(task_queue.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(queues, [weft::DEFAULT_TASK_QUEUE, "elsewhere"]);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_child_id_in_use_is_a_typed_failure_and_starts_nothing() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let holder = client.start_workflow(sleeper, "taken", 3600).await?;
    let handle = client.start_workflow(start_as, "starter", "taken".to_owned()).await?;
    let outcome = handle.result().await?;
    assert!(outcome.starts_with("refused: child workflow `taken` (sleeper) did not start"), "{outcome}");
    assert!(outcome.contains(holder.run_id()), "names the run that holds the id: {outcome}");
    assert!(event_types(&handle.history().await?).contains(&"StartChildWorkflowExecutionFailed"));
    assert_eq!(client.describe("taken").await?.run_id, holder.run_id(), "the holder is untouched");
    // A closed id is taken again.
    client.terminate_workflow("taken", "done").await?;
    assert!(matches!(holder.result().await, Err(Error::WorkflowTerminated { .. })));
    let again = client.start_workflow(start_as, "starter-2", "taken".to_owned()).await?;
    assert_eq!(again.result().await?, "slept 1s");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_child_with_a_bad_id_is_rejected_and_starts_nothing() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    for (parent_id, id) in [("empty-id", String::new()), ("long-id", "x".repeat(1001))] {
        let outcome = env.client().start_workflow(start_as, parent_id, id).await?.result().await.unwrap_err();
        let Error::WorkflowFailed { failure, .. } = &outcome else { panic!("{outcome:?}") };
        assert!(failure.message().contains("invalid workflow id: it is"), "{failure:?}");
        let types = event_types(&env.client().history(parent_id).await?);
        assert!(!types.contains(&"StartChildWorkflowExecutionInitiated"), "{types:?}");
    }
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_child_s_id_reuse_policy_refuses_a_closed_id() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let first = client.start_workflow(start_once, "once-1", "only-once".to_owned()).await?;
    assert_eq!(first.result().await?, "slept 1s");
    let again = client.start_workflow(start_once, "once-2", "only-once".to_owned()).await?.result().await?;
    assert!(
        again.starts_with("refused:") && again.contains("reuse policy refuses a new run (its last run is completed)"),
        "{again}"
    );
    let listed = client.list_workflows(weft::ListFilter::all()).await?;
    assert_eq!(listed.iter().filter(|d| d.workflow_id == "only-once").count(), 1, "no second run");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn each_parent_close_policy_does_what_it_says() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    for (policy, id) in [(0, "left-Terminate"), (1, "left-RequestCancel"), (2, "left-Abandon")] {
        let handle = client.start_workflow(leaves_child, format!("leaver-{policy}"), policy).await?;
        let child_run = handle.result().await?;
        let child = client.workflow_handle_for_run(sleeper, id, &child_run).await?;
        let outcome = tokio::time::timeout(secs(7200), child.result()).await.expect("the child ends");
        match policy {
            0 => assert!(
                matches!(&outcome, Err(Error::WorkflowTerminated { reason, .. }) if reason.contains("parent close policy: terminate")),
                "{outcome:?}"
            ),
            1 => assert!(matches!(&outcome, Err(Error::WorkflowCanceled { .. })), "{outcome:?}"),
            _ => assert_eq!(outcome?, "slept 3600s", "an abandoned child runs on"),
        }
    }
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_parent_cancels_its_child_and_sees_it_cancelled() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(cancels_child, "canceller", ()).await?;
    assert_eq!(handle.result().await?, "to-cancel cancelled");
    let types = event_types(&handle.history().await?);
    assert!(
        types.contains(&"ChildWorkflowExecutionCancelRequested") && types.contains(&"ChildWorkflowExecutionCanceled")
    );
    replayer().replay(&handle.history().await?)?;
    assert_eq!(env.client().describe("to-cancel").await?.status, RunStatus::Canceled);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn cancelling_or_terminating_a_parent_reaches_its_child() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let handle = client.start_workflow(waits_on_child, "cancelled-parent", ()).await?;
    tokio::time::sleep(secs(5)).await;
    client.cancel_workflow("cancelled-parent", "stop").await?;
    let err = handle.result().await.unwrap_err();
    assert!(matches!(err, Error::WorkflowCanceled { .. }), "{err:?}");
    assert_eq!(client.describe("waited-on").await?.status, RunStatus::Canceled, "the child was cancelled first");

    let handle = client.start_workflow(waits_on_child, "terminated-parent", ()).await?;
    tokio::time::sleep(secs(5)).await;
    client.terminate_workflow("terminated-parent", "stop").await?;
    assert!(matches!(handle.result().await, Err(Error::WorkflowTerminated { .. })));
    tokio::time::sleep(secs(1)).await;
    let child = client.describe("waited-on").await?;
    assert_eq!(child.status, RunStatus::Terminated, "the default policy terminates the child: {child:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_child_s_timeout_and_a_child_s_chain_reach_the_parent() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(child_times_out, "timeouts", ()).await?;
    assert_eq!(handle.result().await?, "timed out");
    assert!(event_types(&handle.history().await?).contains(&"ChildWorkflowExecutionTimedOut"));
    let handle = env.client().start_workflow(child_chain, "chains", ()).await?;
    assert_eq!(handle.result().await?, 0, "the last run of the child's chain answers");
    let types = event_types(&handle.history().await?);
    assert_eq!(types.iter().filter(|t| **t == "ChildWorkflowExecutionCompleted").count(), 1, "{types:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_parent_signals_its_child_through_the_handle() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(opens_gate, "gatekeeper", ()).await?;
    assert_eq!(handle.result().await?, "the parent");
    let types = event_types(&handle.history().await?);
    assert!(
        types.contains(&"SignalExternalWorkflowExecutionInitiated")
            && types.contains(&"ExternalWorkflowExecutionSignaled"),
        "{types:?}"
    );
    let child = env.client().history("gate").await?;
    assert!(event_types(&child).contains(&"WorkflowExecutionSignaled"));
    Replayer::new().register_workflow(opens_gate).replay(&handle.history().await?)?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_cache_does_not_change_what_parents_record() -> weft::Result<()> {
    let mut seen = Vec::new();
    for cache in [0, 100] {
        let env = TestEnv::start(builder().cache_size(cache)).await?;
        let mut histories = Vec::new();
        let handle = env.client().start_workflow(fan_out, "fan", ()).await?;
        handle.result().await?;
        histories.push(event_types(&handle.history().await?).join(","));
        let handle = env.client().start_workflow(cancels_child, "canceller", ()).await?;
        handle.result().await?;
        histories.push(event_types(&handle.history().await?).join(","));
        seen.push(histories);
        env.shutdown().await;
    }
    assert_eq!(seen[0], seen[1]);
    Ok(())
}

/// Children on PostgreSQL (when `WEFT_TEST_POSTGRES` names a server): the
/// starts, cancellations, closes and close policies go through the batched commit.
#[tokio::test]
async fn children_run_on_postgres() -> weft::Result<()> {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return Ok(());
    };
    let schema = format!("weft_children_{}", std::process::id());
    let engine = builder().postgres(&url).postgres_schema(&schema).build().await?;
    let client = engine.client();
    let mut handles = Vec::new();
    for i in 0..10 {
        handles.push(client.start_workflow(parent, format!("pg-parent-{i}"), i).await?);
    }
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.result().await?, i as u64 * 2);
    }
    let fan = client.start_workflow(fan_out, "pg-fan", ()).await?;
    assert_eq!(fan.result().await?, 6);
    let holder = client.start_workflow(sleeper, "pg-taken", 3600).await?;
    let refused = client.start_workflow(start_as, "pg-starter", "pg-taken".to_owned()).await?.result().await?;
    assert!(refused.starts_with("refused:") && refused.contains(holder.run_id()), "{refused}");
    let leaver = client.start_workflow(leaves_child, "pg-leaver", 0).await?;
    let child_run = leaver.result().await?;
    let child = client.workflow_handle_for_run(sleeper, "left-Terminate", &child_run).await?;
    assert!(matches!(child.result().await, Err(Error::WorkflowTerminated { .. })));
    let err = client.start_workflow(parent, "pg-parent-13", 13).await?.result().await.unwrap_err();
    assert!(matches!(&err, Error::WorkflowFailed { failure, .. } if failure.cause().is_some()), "{err:?}");
    client.start_workflow(start_once, "pg-once-1", "pg-only-once".to_owned()).await?.result().await?;
    let again = client.start_workflow(start_once, "pg-once-2", "pg-only-once".to_owned()).await?.result().await?;
    assert!(again.contains("its last run is completed"), "{again}");
    engine.shutdown().await;
    Ok(())
}

/// A child on another task queue runs on that queue's worker (on
/// PostgreSQL, two engines: the parent's polls the default queue only).
#[tokio::test]
async fn a_child_on_another_task_queue_runs_on_that_queue_s_worker() -> weft::Result<()> {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return Ok(());
    };
    let schema = format!("weft_child_queue_{}", std::process::id());
    let on = |builder: weft::EngineBuilder| builder.postgres(&url).postgres_schema(&schema);
    let parents = on(Engine::builder().register_workflow(fan_out).register_workflow(double)).build().await?;
    let handle = parents.client().start_workflow(fan_out, "pg-queues", ()).await?;
    // Without a worker on `elsewhere`, child b waits once created: not one step taken.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Err(Error::WorkflowNotFound { .. }) = parents.client().describe("fan-b").await {
        assert!(std::time::Instant::now() < deadline, "child b was not created");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waiting = parents.client().describe("fan-b").await?;
    assert_eq!((waiting.status, waiting.history_length), (RunStatus::Running, 0), "{waiting:?}");
    let elsewhere = on(Engine::builder().task_queue("elsewhere").register_workflow(double)).build().await?;
    assert_eq!(handle.result().await?, 6);
    assert_eq!(parents.client().describe("fan-b").await?.status, RunStatus::Completed);
    elsewhere.shutdown().await;
    parents.shutdown().await;
    Ok(())
}
