//! A workflow that is not in memory is rebuilt by replaying its history:
//! completed activities are not run again, and the workflow continues.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use weft::history::EventAttributes;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

static FIRST_RUNS: AtomicUsize = AtomicUsize::new(0);
static SECOND_ATTEMPTS: AtomicUsize = AtomicUsize::new(0);
static SECOND_BLOCKS: AtomicBool = AtomicBool::new(true);

#[activity]
async fn first(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    FIRST_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(n + 1)
}

#[activity]
async fn second(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    SECOND_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    if SECOND_BLOCKS.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    Ok(n * 10)
}

#[workflow]
async fn two_steps(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(60));
    let a = ctx.execute_activity(first, n, options.clone()).await?;
    let b = ctx.execute_activity(second, a, options).await?;
    Ok(b)
}

async fn engine(path: &std::path::Path) -> weft::Result<Engine> {
    Engine::builder()
        .sqlite(path)
        .register_workflow(two_steps)
        .register_activity(first)
        .register_activity(second)
        .build()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_replays_history_without_rerunning_completed_activities() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("restart.db");

    let first_engine = engine(&path).await?;
    let handle = first_engine.client().start_workflow(two_steps, "restart-1", 1).await?;
    let run_id = handle.run_id().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while SECOND_ATTEMPTS.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the second activity never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The process "dies" while the second activity runs.
    first_engine.shutdown().await;
    assert!(matches!(handle.result().await, Err(weft::Error::Shutdown)));

    SECOND_BLOCKS.store(false, Ordering::SeqCst);
    let second_engine = engine(&path).await?;
    let handle = second_engine.client().workflow_handle(two_steps, "restart-1").await?;
    assert_eq!(handle.run_id(), run_id);
    assert_eq!(handle.result().await?, 20);
    assert_eq!(FIRST_RUNS.load(Ordering::SeqCst), 1, "the completed activity ran again");
    assert_eq!(SECOND_ATTEMPTS.load(Ordering::SeqCst), 2, "the interrupted attempt is retried once");

    let history = handle.history().await?;
    let ids: Vec<u64> = history.iter().map(|e| e.event_id()).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
    let attempts: Vec<u32> = history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::ActivityTaskStarted { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2], "the second activity closed on its second attempt");
    second_engine.shutdown().await;
    Ok(())
}
