//! Retention: a closed run is deleted, history and all, once the period has
//! passed since it closed; open runs never are. On virtual time.

use std::time::Duration;

use weft::testing::TestEnv;
use weft::{Engine, Error, ListFilter, RunStatus, WorkflowContext, WorkflowResult, workflow};

const HOUR: Duration = Duration::from_secs(3600);

/// Returns at once.
#[workflow]
async fn quick(_ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    Ok(n)
}

/// Sleeps `hours`, then returns.
#[workflow]
async fn sleepy(ctx: WorkflowContext, hours: u32) -> WorkflowResult<u32> {
    ctx.sleep(HOUR * hours).await?;
    Ok(hours)
}

/// An engine on virtual time that wakes rarely when idle (its lease renewals
/// and fallback polls), so that days pass in few steps.
fn builder() -> weft::EngineBuilder {
    Engine::builder().poll_interval(HOUR).lease(HOUR).register_workflow(quick).register_workflow(sleepy)
}

fn ids(runs: Vec<weft::WorkflowDescription>) -> Vec<String> {
    let mut ids: Vec<String> = runs.into_iter().map(|r| r.workflow_id).collect();
    ids.sort();
    ids
}

#[tokio::test(start_paused = true)]
async fn a_closed_run_is_deleted_once_the_retention_period_has_passed_since_it_closed() -> weft::Result<()> {
    let env = TestEnv::start(builder().retention(24 * HOUR)).await?;
    let client = env.client();
    client.start_workflow(quick, "early", 1).await?.result().await?;
    let long = client.start_workflow(sleepy, "long", 30).await?;
    tokio::time::sleep(12 * HOUR).await;
    client.start_workflow(quick, "later", 2).await?.result().await?;

    // 23 h in: everything is kept.
    tokio::time::sleep(11 * HOUR).await;
    assert_eq!(ids(client.list_workflows(ListFilter::all()).await?), ["early", "later", "long"]);
    // 25 h in (and a sweep later): `early` closed 25 h ago, and is gone.
    tokio::time::sleep(2 * HOUR + Duration::from_secs(60)).await;
    assert!(matches!(client.describe("early").await, Err(Error::WorkflowNotFound { .. })));
    assert!(matches!(client.history("early").await, Err(Error::WorkflowNotFound { .. })));
    assert_eq!(client.describe("long").await?.status, RunStatus::Running, "an open run is kept however old");
    assert_eq!(ids(client.list_workflows(ListFilter::all()).await?), ["later", "long"]);

    // `long` closes at 30 h; at 37 h `later` (closed at 12 h) is gone and `long` is kept.
    assert_eq!(long.result().await?, 30);
    tokio::time::sleep(7 * HOUR).await;
    assert_eq!(ids(client.list_workflows(ListFilter::all()).await?), ["long"]);
    assert_eq!(client.describe("long").await?.status, RunStatus::Completed);
    // The id is free again, as after any close.
    assert_eq!(client.start_workflow(quick, "early", 3).await?.result().await?, 3);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn without_a_retention_period_closed_runs_are_kept() -> weft::Result<()> {
    let env = TestEnv::start(builder()).await?;
    let client = env.client();
    client.start_workflow(quick, "kept", 1).await?.result().await?;
    tokio::time::sleep(24 * 30 * HOUR).await;
    assert_eq!(client.describe("kept").await?.status, RunStatus::Completed);
    env.shutdown().await;
    Ok(())
}
