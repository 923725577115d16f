//! Versioning: `ctx.patched` and `ctx.deprecate_patch` let a workflow's code
//! change while runs of the old code are open. Old histories replay on the
//! old branch, new runs take the new one and record a `MarkerRecorded`, a
//! deprecated marker lets the call go, and a patch removed too early is
//! non-determinism. Each engine-level test runs with the workflow cache off
//! (every step replays) and on.

mod common;

use common::{event_types, secs};
use weft::history::{EventAttributes, HistoryEvent, Marker};
use weft::testing::{Replayer, TestEnv};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, EngineBuilder, Error, WorkflowContext, WorkflowResult,
    activity, workflow,
};

#[activity(start_to_close_timeout = "10s")]
async fn old_step(_ctx: ActivityContext, n: u32) -> Result<String, ActivityError> {
    Ok(format!("old {n}"))
}

#[activity(start_to_close_timeout = "10s")]
async fn new_step(_ctx: ActivityContext, n: u32) -> Result<String, ActivityError> {
    Ok(format!("new {n}"))
}

fn options() -> ActivityOptions<weft::activity::Defaulted> {
    ActivityOptions::defaults()
}

/// Version 1: one step, a timer, another step.
#[workflow(name = "Flow")]
async fn v1(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    let a = ctx.execute_activity(old_step, n, options()).await?;
    ctx.sleep(secs(60)).await?;
    let b = ctx.execute_activity(old_step, n + 1, options()).await?;
    Ok(format!("{a}, {b}"))
}

/// Version 2: the first step patched; asked again after the timer (the
/// answer is the run's, whether the timer fired live or on replay).
#[workflow(name = "Flow")]
async fn v2(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    let a = if ctx.patched("first") {
        ctx.execute_activity(new_step, n, options()).await?
    } else {
        ctx.execute_activity(old_step, n, options()).await?
    };
    ctx.sleep(secs(60)).await?;
    let again = ctx.patched("first");
    let b = ctx.execute_activity(old_step, n + 1, options()).await?;
    Ok(format!("{a}, {b}, patched again: {again}"))
}

/// Version 3: the patch deprecated, the old branch gone.
#[workflow(name = "Flow")]
async fn v3(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    ctx.deprecate_patch("first");
    let a = ctx.execute_activity(new_step, n, options()).await?;
    ctx.sleep(secs(60)).await?;
    let b = ctx.execute_activity(old_step, n + 1, options()).await?;
    Ok(format!("{a}, {b}, patched again: true"))
}

/// Version 4: the call removed.
#[workflow(name = "Flow")]
async fn v4(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    let a = ctx.execute_activity(new_step, n, options()).await?;
    ctx.sleep(secs(60)).await?;
    let b = ctx.execute_activity(old_step, n + 1, options()).await?;
    Ok(format!("{a}, {b}, patched again: true"))
}

/// Version 1 of a second workflow: a timer, then a step.
#[workflow(name = "Late")]
async fn late_v1(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    ctx.sleep(secs(60)).await?;
    Ok(ctx.execute_activity(old_step, n, options()).await?)
}

/// Version 2: the step after the timer patched. A run of version 1 that is
/// still in its timer gets there live, after its replay: the new branch.
#[workflow(name = "Late")]
async fn late_v2(ctx: WorkflowContext, n: u32) -> WorkflowResult<String> {
    ctx.sleep(secs(60)).await?;
    if ctx.patched("late") {
        Ok(ctx.execute_activity(new_step, n, options()).await?)
    } else {
        Ok(ctx.execute_activity(old_step, n, options()).await?)
    }
}

fn builder(cache_size: usize) -> EngineBuilder {
    Engine::builder().cache_size(cache_size).register_activity(old_step).register_activity(new_step)
}

/// Runs `workflow` to its end on a fresh engine: its result and history.
async fn record<W>(workflow: W, cache_size: usize) -> weft::Result<(String, Vec<HistoryEvent>)>
where
    W: weft::Workflow<Input = u32, Output = String> + Copy,
{
    let env = TestEnv::start(builder(cache_size).register_workflow(workflow)).await?;
    let handle = env.client().start_workflow(workflow, "flow", 1).await?;
    let result = ended(handle.result()).await?;
    let history = handle.history().await?;
    env.shutdown().await;
    Ok((result, history))
}

fn markers(history: &[HistoryEvent]) -> Vec<(u64, Marker)> {
    history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::MarkerRecorded { marker } => Some((e.event_id(), marker.clone())),
            _ => None,
        })
        .collect()
}

fn patch(id: &str, deprecated: bool) -> Marker {
    Marker::Patch { patch_id: id.to_owned(), deprecated }
}

fn replay<W: weft::Workflow>(workflow: W, history: &[HistoryEvent]) -> weft::Result<()> {
    Replayer::new().register_workflow(workflow).replay(history)
}

fn non_determinism(result: weft::Result<()>) -> (u64, String, String) {
    match result {
        Err(Error::NonDeterminism { event_id, expected, found, .. }) => (event_id, expected, found),
        other => panic!("expected non-determinism, got {other:?}"),
    }
}

/// A run's result, awaited for an hour of virtual time at most: a held run never ends.
async fn ended<T>(result: impl Future<Output = weft::Result<T>>) -> weft::Result<T> {
    tokio::time::timeout(secs(3_600), result).await.expect("the run did not end (held?)")
}

const CACHES: [usize; 2] = [0, 10_000];

#[tokio::test(start_paused = true)]
async fn a_history_of_the_old_code_replays_on_the_old_branch() -> weft::Result<()> {
    let (result, old) = record(v1, 0).await?;
    assert_eq!(result, "old 1, old 2");
    assert!(markers(&old).is_empty());
    replay(v2, &old)?;
    // Not by chance: code that takes the new branch does not replay it.
    let (event_id, expected, found) = non_determinism(replay(v4, &old));
    assert_eq!(event_id, 2);
    assert_eq!(expected, "ActivityTaskScheduled(seq 1, type `old_step`)");
    assert_eq!(found, "ScheduleActivityTask(seq 1, type `new_step`)");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn new_runs_take_the_new_branch_and_record_the_marker_once() -> weft::Result<()> {
    for cache_size in CACHES {
        let (result, history) = record(v2, cache_size).await?;
        assert_eq!(result, "new 1, old 2, patched again: true", "cache {cache_size}");
        // Asked twice, recorded once: before the command of its branch.
        assert_eq!(markers(&history), [(2, patch("first", false))], "cache {cache_size}");
        assert_eq!(event_types(&history)[..3], ["WorkflowExecutionStarted", "MarkerRecorded", "ActivityTaskScheduled"]);
        replay(v2, &history)?;
    }
    Ok(())
}

/// An old run stopped on its timer, continued by version 2: replay takes
/// the old branch, the rest runs live and the answer stays the run's.
#[tokio::test(start_paused = true)]
async fn an_old_run_continues_live_on_the_new_code() -> weft::Result<()> {
    for cache_size in CACHES {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("versioning.db");
        let first =
            TestEnv::start_on_file(builder(cache_size).register_workflow(v1).register_workflow(late_v1), &store)
                .await?;
        first.client().start_workflow(v1, "flow", 1).await?;
        first.client().start_workflow(late_v1, "late", 1).await?;
        tokio::time::sleep(secs(10)).await;
        assert_eq!(first.client().describe("flow").await?.pending_timers.len(), 1);
        assert_eq!(first.client().describe("late").await?.pending_timers.len(), 1);
        first.shutdown().await;

        let second =
            TestEnv::start_on_file(builder(cache_size).register_workflow(v2).register_workflow(late_v2), &store)
                .await?;
        let client = second.client();
        let flow = client.workflow_handle(v2, "flow").await?;
        assert_eq!(ended(flow.result()).await?, "old 1, old 2, patched again: false", "cache {cache_size}");
        let history = flow.history().await?;
        assert!(markers(&history).is_empty(), "cache {cache_size}: {history:#?}");
        replay(v2, &history)?;

        // Replay ended before its `patched` call: that call is live.
        let late = client.workflow_handle(late_v2, "late").await?;
        assert_eq!(ended(late.result()).await?, "new 1", "cache {cache_size}");
        let history = late.history().await?;
        assert_eq!(markers(&history), [(4, patch("late", false))], "cache {cache_size}");
        replay(late_v2, &history)?;
        second.shutdown().await;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_deprecated_patch_replays_marked_histories_and_then_lets_the_call_go() -> weft::Result<()> {
    let (_, patched) = record(v2, 0).await?;
    for cache_size in CACHES {
        let (result, deprecated) = record(v3, cache_size).await?;
        assert_eq!(result, "new 1, old 2, patched again: true");
        assert_eq!(markers(&deprecated), [(2, patch("first", true))], "cache {cache_size}");
        // deprecate_patch replays the histories of version 2 and its own.
        replay(v3, &patched)?;
        replay(v3, &deprecated)?;
        // Code with the call removed replays a deprecated marker (skipped)...
        replay(v4, &deprecated)?;
        // ... and version 2 (rolled back to) replays it as its marker.
        replay(v2, &deprecated)?;
        let (_, removed) = record(v4, cache_size).await?;
        assert!(markers(&removed).is_empty());
        // A history without the marker: deprecate_patch records nothing on replay.
        replay(v3, &removed)?;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn removing_a_patch_too_early_is_non_determinism() -> weft::Result<()> {
    let (_, patched) = record(v2, 0).await?;
    let (event_id, expected, found) = non_determinism(replay(v4, &patched));
    assert_eq!(event_id, 2);
    assert_eq!(expected, "MarkerRecorded(patch `first`)");
    assert_eq!(found, "ScheduleActivityTask(seq 1, type `new_step`)");
    // Deprecating too early (a run without the marker is open) is, too.
    let (_, old) = record(v1, 0).await?;
    let (event_id, _, found) = non_determinism(replay(v3, &old));
    assert_eq!((event_id, found.as_str()), (2, "ScheduleActivityTask(seq 1, type `new_step`)"));
    Ok(())
}

/// Engine-level: a run whose history has the marker, resumed by code
/// without the call, is held with the non-determinism (with either cache).
#[tokio::test(start_paused = true)]
async fn an_engine_holds_a_run_whose_patch_was_removed() -> weft::Result<()> {
    for cache_size in CACHES {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("held.db");
        let first = TestEnv::start_on_file(builder(cache_size).register_workflow(v2), &store).await?;
        first.client().start_workflow(v2, "flow", 1).await?;
        tokio::time::sleep(secs(10)).await;
        first.shutdown().await;

        let second = TestEnv::start_on_file(builder(cache_size).register_workflow(v4), &store).await?;
        let client = second.client();
        tokio::time::sleep(secs(120)).await;
        let description = client.describe("flow").await?;
        let held = description.held.unwrap_or_else(|| panic!("cache {cache_size}: not held"));
        assert!(held.contains("non-determinism at event 2: history has MarkerRecorded(patch `first`)"), "{held}");
        assert_eq!(description.status, weft::RunStatus::Running);
        second.shutdown().await;
    }
    Ok(())
}
