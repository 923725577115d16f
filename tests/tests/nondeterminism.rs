//! Workflow code that no longer matches its history is caught: the Replayer
//! reports it in a test, and the engine holds the run (not advanced, not
//! failed, not corrupted) until matching code runs it again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::secs;
use weft::testing::{Replayer, TestEnv};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, WorkflowContext, WorkflowResult, activity, workflow,
};

static CHARGE_BLOCKS: AtomicBool = AtomicBool::new(false);

#[activity]
async fn reserve(_ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok("reserved ".to_owned())
}

#[activity]
async fn charge(ctx: ActivityContext) -> Result<String, ActivityError> {
    while ctx.workflow_id() == "held-order" && CHARGE_BLOCKS.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok("charged".to_owned())
}

#[activity]
async fn refund(_ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok("refunded".to_owned())
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(secs(60))
}

/// The original code.
#[workflow(name = "Order")]
async fn order(ctx: WorkflowContext) -> WorkflowResult<String> {
    let a = ctx.execute_activity(reserve, (), options()).await?;
    let b = ctx.execute_activity(charge, (), options()).await?;
    Ok(a + &b)
}

/// Calls another activity type first.
#[workflow(name = "Order")]
async fn other_type(ctx: WorkflowContext) -> WorkflowResult<String> {
    let a = ctx.execute_activity(refund, (), options()).await?;
    let b = ctx.execute_activity(charge, (), options()).await?;
    Ok(a + &b)
}

/// Leaves out the second call.
#[workflow(name = "Order")]
async fn missing_command(ctx: WorkflowContext) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(reserve, (), options()).await?)
}

/// Sleeps between the two calls.
#[workflow(name = "Order")]
async fn extra_command(ctx: WorkflowContext) -> WorkflowResult<String> {
    let a = ctx.execute_activity(reserve, (), options()).await?;
    ctx.sleep(secs(1)).await?;
    let b = ctx.execute_activity(charge, (), options()).await?;
    Ok(a + &b)
}

/// Swaps the two calls.
#[workflow(name = "Order")]
async fn other_order(ctx: WorkflowContext) -> WorkflowResult<String> {
    let b = ctx.execute_activity(charge, (), options()).await?;
    let a = ctx.execute_activity(reserve, (), options()).await?;
    Ok(a + &b)
}

/// Starts the two calls at once.
#[workflow(name = "Order")]
async fn concurrent(ctx: WorkflowContext) -> WorkflowResult<String> {
    let a = ctx.start_activity(reserve, (), options());
    let b = ctx.start_activity(charge, (), options());
    Ok(a.await? + &b.await?)
}

async fn recorded_history() -> weft::Result<Vec<weft::history::HistoryEvent>> {
    let env =
        TestEnv::start(Engine::builder().register_workflow(order).register_activity(reserve).register_activity(charge))
            .await?;
    let handle = env.client().start_workflow(order, "order-1", ()).await?;
    assert_eq!(handle.result().await?, "reserved charged");
    let history = handle.history().await?;
    env.shutdown().await;
    Ok(history)
}

fn non_determinism(result: weft::Result<()>) -> (u64, String, String) {
    match result {
        Err(Error::NonDeterminism { event_id, expected, found, .. }) => (event_id, expected, found),
        other => panic!("expected non-determinism, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_original_code_replays_its_history() -> weft::Result<()> {
    let history = recorded_history().await?;
    Replayer::new().register_workflow(order).replay(&history)
}

#[tokio::test(start_paused = true)]
async fn another_activity_type_is_non_deterministic() -> weft::Result<()> {
    let history = recorded_history().await?;
    let (event_id, expected, found) = non_determinism(Replayer::new().register_workflow(other_type).replay(&history));
    assert_eq!(event_id, 2);
    assert_eq!(expected, "ActivityTaskScheduled(seq 1, type `reserve`)");
    assert_eq!(found, "ScheduleActivityTask(seq 1, type `refund`)");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_missing_command_is_non_deterministic() -> weft::Result<()> {
    let history = recorded_history().await?;
    let (event_id, expected, found) =
        non_determinism(Replayer::new().register_workflow(missing_command).replay(&history));
    assert_eq!(event_id, 5);
    assert_eq!(expected, "ActivityTaskScheduled(seq 2, type `charge`)");
    assert_eq!(found, "CompleteWorkflowExecution");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_extra_command_is_non_deterministic() -> weft::Result<()> {
    let history = recorded_history().await?;
    let (event_id, expected, found) =
        non_determinism(Replayer::new().register_workflow(extra_command).replay(&history));
    assert_eq!(event_id, 5);
    assert_eq!(expected, "ActivityTaskScheduled(seq 2, type `charge`)");
    assert_eq!(found, "StartTimer(seq 2, 1s)");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn another_order_is_non_deterministic() -> weft::Result<()> {
    let history = recorded_history().await?;
    let (event_id, _, found) = non_determinism(Replayer::new().register_workflow(other_order).replay(&history));
    assert_eq!(event_id, 2);
    assert_eq!(found, "ScheduleActivityTask(seq 1, type `charge`)");
    // Issuing the same commands in the same order, only earlier, replays:
    // the history records no step boundaries (see docs/decisions.md).
    Replayer::new().register_workflow(concurrent).replay(&history)
}

#[tokio::test(start_paused = true)]
async fn a_broken_or_foreign_history_is_reported() -> weft::Result<()> {
    let mut history = recorded_history().await?;
    assert!(matches!(
        Replayer::new().replay(&history),
        Err(Error::UnknownWorkflowType { workflow_type }) if workflow_type == "Order"
    ));
    history.remove(3);
    assert!(matches!(Replayer::new().register_workflow(order).replay(&history), Err(Error::CorruptHistory { .. })));
    assert!(matches!(Replayer::new().replay_json("not json"), Err(Error::CorruptHistory { .. })));
    Ok(())
}

async fn engine(
    path: &std::path::Path,
    workflow: impl weft::Workflow<Input = (), Output = String>,
) -> weft::Result<Engine> {
    Engine::builder()
        .sqlite(path)
        .register_workflow(workflow)
        .register_activity(reserve)
        .register_activity(charge)
        .register_activity(refund)
        .build()
        .await
}

/// Engine-level: changed code holds the run; the original code resumes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_deterministic_run_is_held_and_resumes_with_matching_code() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("held.db");

    CHARGE_BLOCKS.store(true, Ordering::SeqCst);
    let first = engine(&path, order).await?;
    let client = first.client();
    client.start_workflow(order, "held-order", ()).await?;
    wait_for(|| async {
        client.describe("held-order").await.map(|d| d.pending_activities.iter().any(|a| a.activity_type == "charge"))
    })
    .await?;
    first.shutdown().await;

    // New code, other order: the retried `charge` completes, the step that
    // would record it finds the mismatch, and the run is held.
    CHARGE_BLOCKS.store(false, Ordering::SeqCst);
    let second = engine(&path, other_order).await?;
    let client = second.client();
    wait_for(|| async { client.describe("held-order").await.map(|d| d.held.is_some()) }).await?;
    let description = client.describe("held-order").await?;
    let held = description.held.expect("held");
    assert!(held.contains("non-determinism at event 2"), "{held}");
    assert_eq!(description.status, weft::RunStatus::Running);
    let length = description.history_length;
    second.shutdown().await;

    // The original code again: the run continues from where it was held.
    let third = engine(&path, order).await?;
    let handle = third.client().workflow_handle(order, "held-order").await?;
    assert_eq!(handle.result().await?, "reserved charged");
    let description = third.client().describe("held-order").await?;
    assert!(description.held.is_none());
    assert!(description.history_length > length);
    Replayer::new().register_workflow(order).replay(&handle.history().await?)?;
    third.shutdown().await;
    Ok(())
}

async fn wait_for<F, Fut>(mut condition: F) -> weft::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = weft::Result<bool>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition().await? {
        assert!(std::time::Instant::now() < deadline, "condition not reached in 10 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}
