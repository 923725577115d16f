//! Workflow timeouts: a run timeout per run, an execution timeout across a
//! continue-as-new chain; the run closes as `WorkflowExecutionTimedOut`
//! with its pending activities and timers cancelled. On virtual time.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{event_types, secs};
use weft::history::{EventAttributes, WorkflowTimeout};
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, RunStatus, WorkflowContext, WorkflowOptions,
    WorkflowResult, activity, workflow,
};

static FINISHED: AtomicU32 = AtomicU32::new(0);

/// Sleeps for `seconds`, then counts itself finished.
#[activity]
async fn nap(_ctx: ActivityContext, seconds: u64) -> Result<(), ActivityError> {
    tokio::time::sleep(secs(seconds)).await;
    FINISHED.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// An activity of `activity` seconds and a timer of `timer` seconds, at once.
#[workflow]
async fn busy(ctx: WorkflowContext, activity: u64, timer: u64) -> WorkflowResult<String> {
    let nap = ctx.start_activity(nap, activity, ActivityOptions::start_to_close(secs(activity + 10)));
    ctx.sleep(secs(timer)).await?;
    nap.await?;
    Ok("done".to_owned())
}

/// Sleeps `seconds` per run, `runs` runs.
#[workflow]
async fn chain(ctx: WorkflowContext, runs: u32, seconds: u64) -> WorkflowResult<u32> {
    ctx.sleep(secs(seconds)).await?;
    if runs > 1 {
        return ctx.continue_as_new(chain, (runs - 1, seconds));
    }
    Ok(runs)
}

fn builder() -> weft::EngineBuilder {
    Engine::builder().register_workflow(busy).register_workflow(chain).register_activity(nap)
}

#[tokio::test(start_paused = true)]
async fn a_run_timeout_closes_the_run_and_cancels_what_it_waits_on() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let started = env.now();
    let options = WorkflowOptions::new("busy-60").run_timeout(secs(60));
    let handle = client.start_workflow_with(busy, options, (600, 3600)).await?;
    let description = client.describe("busy-60").await?;
    assert_eq!(description.timeout_at, Some(started + secs(60)), "describe shows when it times out");
    assert_eq!(description.pending_timers.len(), 1, "the timeout is not one of the workflow's timers");

    let err = handle.result().await.unwrap_err();
    assert!(
        matches!(&err, Error::WorkflowTimedOut { workflow_id, timeout: WorkflowTimeout::Run, .. } if workflow_id == "busy-60"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("workflow `busy-60` (run {}) timed out: its run timeout ran out", handle.run_id())
    );
    assert_eq!(env.now().duration_since(started).unwrap(), secs(60), "at the timeout, not later");
    let history = handle.history().await?;
    assert_eq!(
        event_types(&history),
        ["WorkflowExecutionStarted", "ActivityTaskScheduled", "TimerStarted", "WorkflowExecutionTimedOut"]
    );
    let EventAttributes::WorkflowExecutionStarted { run_timeout, execution_timeout, .. } = history[0].attributes()
    else {
        unreachable!()
    };
    assert_eq!((*run_timeout, *execution_timeout), (Some(secs(60)), None));
    let description = client.describe("busy-60").await?;
    assert_eq!(description.status, RunStatus::TimedOut);
    assert!(description.pending_activities.is_empty() && description.pending_timers.is_empty(), "{description:?}");
    // The abandoned attempt's result, should it come, changes nothing.
    tokio::time::sleep(secs(3600)).await;
    assert_eq!(handle.history().await?.len(), 4);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_run_that_ends_in_time_is_not_timed_out() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let options = WorkflowOptions::new("busy-quick").run_timeout(secs(60)).execution_timeout(secs(60));
    let handle = env.client().start_workflow_with(busy, options, (5, 10)).await?;
    assert_eq!(handle.result().await?, "done");
    tokio::time::sleep(secs(120)).await;
    assert_eq!(env.client().describe("busy-quick").await?.status, RunStatus::Completed);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn each_run_of_a_chain_gets_the_whole_run_timeout() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    // Five runs of 10 s, each under a 15 s run timeout: 50 s in all.
    let options = WorkflowOptions::new("chain-run").run_timeout(secs(15));
    let handle = env.client().start_workflow_with(chain, options, (5, 10)).await?;
    assert_eq!(handle.result().await?, 1);
    // A run of 20 s under it times out, in its own run.
    let options = WorkflowOptions::new("chain-slow").run_timeout(secs(15));
    let handle = env.client().start_workflow_with(chain, options, (3, 20)).await?;
    let err = handle.result().await.unwrap_err();
    assert!(matches!(err, Error::WorkflowTimedOut { timeout: WorkflowTimeout::Run, .. }), "{err:?}");
    assert!(err.to_string().contains(handle.run_id()), "the first run timed out: {err}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_execution_timeout_spans_the_chain() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let started = env.now();
    // Runs of 10 s; the execution timeout of 35 s ends the fourth.
    let options = WorkflowOptions::new("chain-exec").execution_timeout(secs(35)).run_timeout(secs(3600));
    let handle = env.client().start_workflow_with(chain, options, (10, 10)).await?;
    let err = handle.result().await.unwrap_err();
    let Error::WorkflowTimedOut { run_id, timeout: WorkflowTimeout::Execution, .. } = &err else { panic!("{err:?}") };
    assert_ne!(run_id, handle.run_id(), "a later run of the chain timed out");
    assert_eq!(env.now().duration_since(started).unwrap(), secs(35));
    let last = env.client().workflow_handle_for_run(chain, "chain-exec", run_id).await?.history().await?;
    let EventAttributes::WorkflowExecutionStarted {
        execution_timeout,
        execution_expires_at,
        continued_from_run_id,
        ..
    } = last[0].attributes()
    else {
        unreachable!()
    };
    assert_eq!(*execution_timeout, Some(secs(35)));
    assert_eq!(*execution_expires_at, Some(started + secs(35)), "carried over from the first run");
    assert!(continued_from_run_id.is_some());
    assert_eq!(
        event_types(&last),
        ["WorkflowExecutionStarted", "TimerStarted", "WorkflowExecutionTimedOut"],
        "the fourth run, cut short"
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_survives_a_restart() -> weft::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.db");
    let env = TestEnv::start_on_file(builder(), &path).await?;
    let started = env.now();
    let options = WorkflowOptions::new("busy-restart").run_timeout(secs(60));
    env.client().start_workflow_with(busy, options, (600, 3600)).await?;
    tokio::time::sleep(secs(10)).await;
    env.shutdown().await;

    let env = TestEnv::start_on_file(builder(), &path).await?;
    let handle = env.client().workflow_handle(busy, "busy-restart").await?;
    let err = handle.result().await.unwrap_err();
    assert!(matches!(err, Error::WorkflowTimedOut { timeout: WorkflowTimeout::Run, .. }), "{err:?}");
    // Virtual time runs on from the restart: the deadline is the recorded one.
    let closed = handle.history().await?.last().unwrap().timestamp();
    assert!(closed >= started + secs(60) && closed < started + secs(60) + Duration::from_secs(5), "{closed:?}");
    env.shutdown().await;
    Ok(())
}
