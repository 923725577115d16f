//! Continue-as-new: a run closes and a new run of the same workflow id
//! starts with a fresh history; the runs are chained and `result()`
//! follows the chain. On virtual time, with and without the workflow cache,
//! and across an engine restart on a file.

mod common;

use std::time::Duration;

use common::{event_types, find, secs};
use weft::history::{EventAttributes, HistoryEvent, MAX_HISTORY_BYTES};
use weft::testing::{Replayer, TestEnv};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Client, Engine, Error, ListFilter, RunStatus, WorkflowContext,
    WorkflowResult, activity, workflow,
};

#[activity]
async fn add(_ctx: ActivityContext, a: u64, b: u64) -> Result<u64, ActivityError> {
    Ok(a + b)
}

/// Sums `0..total` in batches of `batch`, one run per batch: each run adds
/// its batch with one activity per item, waits a second, and continues as
/// new with the running sum.
#[workflow]
async fn summer(ctx: WorkflowContext, next: u64, total: u64, sum: u64) -> WorkflowResult<u64> {
    let options = ActivityOptions::start_to_close(secs(10));
    let mut sum = sum;
    let end = (next + 3).min(total);
    for i in next..end {
        sum = ctx.execute_activity(add, (sum, i), options.clone()).await?;
    }
    ctx.sleep(secs(1)).await?;
    if end < total {
        return ctx.continue_as_new(summer, (end, total, sum));
    }
    Ok(sum)
}

/// Continues as `summer` (another workflow type) with a fresh start.
#[workflow]
async fn hand_over(ctx: WorkflowContext, total: u64) -> WorkflowResult<u64> {
    ctx.continue_as_new(summer, (0, total, 0))
}

/// Leaves a timer and an activity pending, then continues as new once.
#[workflow]
async fn leaves_work(ctx: WorkflowContext, round: u32) -> WorkflowResult<u32> {
    if round == 0 {
        let _timer = ctx.sleep(secs(3600));
        let _slow = ctx.start_activity(add, (1, 1), ActivityOptions::start_to_close(secs(10)));
        return ctx.continue_as_new(leaves_work, 1);
    }
    Ok(round)
}

fn builder() -> weft::EngineBuilder {
    Engine::builder()
        .register_workflow(summer)
        .register_workflow(hand_over)
        .register_workflow(leaves_work)
        .register_activity(add)
}

/// The histories of every run of `workflow_id`, oldest first, walked back
/// from the newest run along `continued_from_run_id`.
async fn chain(client: &Client, workflow_id: &str) -> weft::Result<Vec<Vec<HistoryEvent>>> {
    let mut runs = Vec::new();
    let mut run_id = client.describe(workflow_id).await?.run_id;
    loop {
        let history = client.workflow_handle_for_run(summer, workflow_id, &run_id).await?.history().await?;
        let previous = find(&history, |a| match a {
            EventAttributes::WorkflowExecutionStarted { continued_from_run_id, .. } => {
                Some(continued_from_run_id.clone())
            }
            _ => None,
        })
        .flatten();
        runs.push(history);
        match previous {
            Some(previous) => run_id = previous,
            None => break,
        }
    }
    runs.reverse();
    Ok(runs)
}

#[tokio::test(start_paused = true)]
async fn a_chain_of_runs_ends_with_the_last_runs_result() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    let handle = client.start_workflow(summer, "sum-10", (0, 10, 0)).await?;
    let first_run = handle.run_id().to_owned();
    assert_eq!(handle.result().await?, 45, "the first run's handle follows the chain");

    let runs = chain(&client, "sum-10").await?;
    assert_eq!(runs.len(), 4, "10 items in batches of 3");
    let EventAttributes::WorkflowExecutionStarted { run_id, continued_from_run_id, .. } = runs[0][0].attributes()
    else {
        panic!("{:?}", runs[0][0]);
    };
    assert_eq!((run_id.as_str(), continued_from_run_id), (first_run.as_str(), &None));
    for (i, pair) in runs.windows(2).enumerate() {
        let closed = pair[0].last().unwrap().attributes();
        let EventAttributes::WorkflowExecutionContinuedAsNew { new_run_id, workflow_type, input } = closed else {
            panic!("run {i} ends with {closed:?}");
        };
        assert_eq!(workflow_type, "summer");
        let EventAttributes::WorkflowExecutionStarted { run_id, continued_from_run_id, input: next_input, .. } =
            pair[1][0].attributes()
        else {
            panic!("run {} starts with {:?}", i + 1, pair[1][0]);
        };
        assert_eq!(run_id, new_run_id);
        assert_eq!(next_input, input);
        let EventAttributes::WorkflowExecutionStarted { run_id: previous, .. } = pair[0][0].attributes() else {
            unreachable!()
        };
        assert_eq!(continued_from_run_id.as_deref(), Some(previous.as_str()));
        assert_eq!(pair[1][0].event_id(), 1, "each run has a fresh history");
    }
    // Every run's history is short: its own batch only.
    assert!(runs.iter().all(|h| h.len() <= 3 + 3 * 3 + 2 + 1), "{:?}", runs.iter().map(Vec::len).collect::<Vec<_>>());
    assert_eq!(event_types(runs.last().unwrap()).last(), Some(&"WorkflowExecutionCompleted"));

    let listed = client.list_workflows(ListFilter::all()).await?;
    let statuses: Vec<RunStatus> = listed.iter().filter(|d| d.workflow_id == "sum-10").map(|d| d.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == RunStatus::ContinuedAsNew).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == RunStatus::Completed).count(), 1, "{statuses:?}");
    assert_eq!(client.describe("sum-10").await?.status, RunStatus::Completed, "describe shows the newest run");

    // Every run replays against the code.
    let replayer = Replayer::new().register_workflow(summer);
    for history in &runs {
        replayer.replay(history)?;
    }
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_cache_does_not_change_a_chain() -> weft::Result<()> {
    let mut seen = Vec::new();
    for cache in [0, 100] {
        let env = TestEnv::start(builder().cache_size(cache)).await?;
        let handle = env.client().start_workflow(summer, "sum-7", (0, 7, 0)).await?;
        assert_eq!(handle.result().await?, 21);
        let runs = chain(&env.client(), "sum-7").await?;
        seen.push(runs.iter().map(|h| event_types(h).join(",")).collect::<Vec<_>>());
        env.shutdown().await;
    }
    assert_eq!(seen[0], seen[1], "cache 0 and cache 100 record the same chain");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_run_can_continue_as_another_workflow_type() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(hand_over, "hand-over", 4).await?;
    // The handle is typed by `hand_over`, whose output type `summer` shares.
    assert_eq!(handle.result().await?, 6);
    assert_eq!(env.client().describe("hand-over").await?.workflow_type, "summer");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn what_a_run_left_pending_does_not_follow_it() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(leaves_work, "leaves", 0).await?;
    assert_eq!(handle.result().await?, 1);
    let first = env.client().workflow_handle_for_run(leaves_work, "leaves", handle.run_id()).await?;
    let types = event_types(&first.history().await?);
    // The timer, dropped as the body returns, is cancelled; the activity is left behind with the run.
    assert_eq!(
        types,
        [
            "WorkflowExecutionStarted",
            "TimerStarted",
            "ActivityTaskScheduled",
            "TimerCanceled",
            "WorkflowExecutionContinuedAsNew"
        ]
    );
    let last = env.client().describe("leaves").await?;
    assert!(last.pending_timers.is_empty() && last.pending_activities.is_empty(), "{last:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_handle_for_a_run_of_another_workflow_id_is_not_found() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let handle = env.client().start_workflow(summer, "one", (0, 1, 0)).await?;
    let err = env.client().workflow_handle_for_run(summer, "another", handle.run_id()).await.unwrap_err();
    assert!(matches!(&err, Error::WorkflowNotFound { workflow_id } if workflow_id == "another"), "{err:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_chain_goes_on_after_a_restart() -> weft::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.db");
    let env = TestEnv::start_on_file(builder(), &path).await?;
    let handle = env.client().start_workflow(summer, "sum-restart", (0, 9, 0)).await?;
    let run_id = handle.run_id().to_owned();
    // Into the second run, then stop.
    while env.client().describe("sum-restart").await?.run_id == run_id {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.shutdown().await;

    let env = TestEnv::start_on_file(builder(), &path).await?;
    let handle = env.client().workflow_handle_for_run(summer, "sum-restart", &run_id).await?;
    assert_eq!(handle.result().await?, 36);
    assert_eq!(chain(&env.client(), "sum-restart").await?.len(), 3);
    env.shutdown().await;
    Ok(())
}

/// Returns a result of `bytes` bytes.
#[activity]
async fn blob(_ctx: ActivityContext, bytes: usize) -> Result<String, ActivityError> {
    Ok("x".repeat(bytes))
}

/// Gathers blobs for ever: its history's payloads outgrow the limit.
#[workflow]
async fn hoarder(ctx: WorkflowContext) -> WorkflowResult<()> {
    loop {
        ctx.execute_activity(blob, 2_000_000, ActivityOptions::start_to_close(secs(10))).await?;
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_past_the_history_size_limit_is_terminated_with_the_fix_in_the_reason() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(hoarder).register_activity(blob)).await?;
    let handle = env.client().start_workflow(hoarder, "hoarder", ()).await?;
    let err = handle.result().await.unwrap_err();
    let Error::WorkflowTerminated { reason, .. } = &err else { panic!("{err:?}") };
    assert!(reason.contains(&MAX_HISTORY_BYTES.to_string()) && reason.contains("continue_as_new"), "{reason}");
    let history = handle.history().await?;
    let completed = history.iter().filter(|e| e.event_type() == "ActivityTaskCompleted").count() as u64;
    assert_eq!(completed, MAX_HISTORY_BYTES / 2_000_002, "the step that went past the limit was not recorded");
    env.shutdown().await;
    Ok(())
}

/// The same chain on PostgreSQL (when `WEFT_TEST_POSTGRES` names a server):
/// the close and the next run's creation share the step's batched commit.
#[tokio::test]
async fn a_chain_runs_on_postgres() -> weft::Result<()> {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return Ok(());
    };
    let schema = format!("weft_can_{}", std::process::id());
    let engine = builder().postgres(&url).postgres_schema(&schema).build().await?;
    let client = engine.client();
    let mut started = Vec::new();
    for i in 0..20 {
        started.push(client.start_workflow(summer, format!("pg-sum-{i}"), (0, 10, 0)).await?);
    }
    for handle in started {
        assert_eq!(handle.result().await?, 45);
    }
    assert_eq!(chain(&client, "pg-sum-0").await?.len(), 4);
    engine.shutdown().await;
    Ok(())
}
