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

static HELD_ATTEMPTS: AtomicUsize = AtomicUsize::new(0);
static HELD_BLOCKS: AtomicBool = AtomicBool::new(true);

#[activity]
async fn held(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    HELD_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    while HELD_BLOCKS.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(n)
}

#[workflow]
async fn one_held(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    Ok(ctx.execute_activity(held, n, ActivityOptions::start_to_close(Duration::from_secs(60))).await?)
}

async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// An attempt the previous process left running is retried at once: in a
/// free slot its retry starts the next attempt in the same write (no claim);
/// without one it waits in the store, and is claimed when a slot frees up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_attempts_restart_in_free_slots_and_the_others_wait_for_one() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("slots.db");
    let engine = |slots| {
        Engine::builder()
            .sqlite(&path)
            .register_workflow(one_held)
            .register_activity(held)
            .max_concurrent_activities(slots)
            .build()
    };

    let first_engine = engine(2).await?;
    for id in ["held-1", "held-2"] {
        first_engine.client().start_workflow(one_held, id, 7).await?;
    }
    wait_for("the first attempts never started", || HELD_ATTEMPTS.load(Ordering::SeqCst) == 2).await;
    first_engine.shutdown().await;

    let second_engine = engine(1).await?;
    wait_for("no interrupted attempt restarted", || HELD_ATTEMPTS.load(Ordering::SeqCst) == 3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(HELD_ATTEMPTS.load(Ordering::SeqCst), 3, "one slot: the other attempt waits");
    let stats = second_engine.worker_stats();
    assert_eq!((stats.expired_attempts_claimed, stats.activity_attempts_claimed), (2, 0), "{stats:?}");

    HELD_BLOCKS.store(false, Ordering::SeqCst);
    for id in ["held-1", "held-2"] {
        let handle = second_engine.client().workflow_handle(one_held, id).await?;
        assert_eq!(handle.result().await?, 7);
        let restarted = handle.history().await?.iter().find_map(|e| match e.attributes() {
            EventAttributes::ActivityTaskStarted { attempt, last_failure, .. } => {
                Some((*attempt, last_failure.as_ref().map(|f| f.error_type().to_owned())))
            }
            _ => None,
        });
        assert_eq!(restarted, Some((2, Some("WorkerCrashed".to_owned()))), "{id}");
    }
    assert_eq!(HELD_ATTEMPTS.load(Ordering::SeqCst), 4);
    let stats = second_engine.worker_stats();
    assert_eq!(stats.activity_attempts_claimed, 1, "the second waited in the store for the slot: {stats:?}");
    second_engine.shutdown().await;
    Ok(())
}
