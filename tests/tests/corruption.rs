//! A damaged history is detected, not spread: the run is held with a
//! corrupt-history reason, nothing is repaired or deleted, and the other
//! runs keep going.

use std::time::Duration;

use weft::{Engine, RunStatus, WorkflowContext, WorkflowResult, workflow};

#[workflow]
async fn nap(ctx: WorkflowContext, millis: u64) -> WorkflowResult<u64> {
    ctx.sleep(Duration::from_millis(millis)).await?;
    Ok(millis)
}

async fn engine(path: &std::path::Path) -> weft::Result<Engine> {
    Engine::builder().sqlite(path).cache_size(0).register_workflow(nap).build().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_run_is_held_and_the_others_go_on() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("corrupt.db");
    let first = engine(&path).await?;
    let client = first.client();
    client.start_workflow(nap, "healthy", 300).await?;
    client.start_workflow(nap, "damaged", 300).await?;
    for id in ["healthy", "damaged"] {
        while client.describe(id).await?.pending_timers.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let damaged_run = client.describe("damaged").await?.run_id;
    first.shutdown().await;

    // Flip a byte of the damaged run's first event, behind the engine's back.
    let conn = rusqlite::Connection::open(&path).expect("open the store");
    let changed = conn
        .execute(
            "UPDATE events SET data = replace(data, '300', '301') WHERE run_id = ?1 AND event_id = 1",
            [&damaged_run],
        )
        .expect("damage the event");
    assert_eq!(changed, 1);
    drop(conn);

    let second = engine(&path).await?;
    let client = second.client();
    let healthy = client.workflow_handle(nap, "healthy").await?;
    assert_eq!(healthy.result().await?, 300, "the healthy run completes");

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let held = loop {
        if let Some(held) = client.describe("damaged").await?.held {
            break held;
        }
        assert!(std::time::Instant::now() < deadline, "the damaged run was never held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(held.contains("corrupt history") && held.contains("checksum"), "{held}");
    let description = client.describe("damaged").await?;
    assert_eq!(description.status, RunStatus::Running, "not failed, not deleted");
    assert_eq!(description.history_length, 2, "nothing appended to a damaged run");
    let err = client.history("damaged").await.unwrap_err();
    assert!(matches!(err, weft::Error::CorruptHistory { ref workflow_id, .. } if workflow_id == "damaged"), "{err:?}");
    second.shutdown().await;
    Ok(())
}
