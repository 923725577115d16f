//! Heartbeats are throttled: the store sees one write per throttle interval,
//! not one per call; describe shows the last written details.

mod common;

use common::secs;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// Heartbeats 1..=100, one every 100 ms.
#[activity(heartbeat_timeout = "10s")]
async fn chatty(ctx: ActivityContext) -> Result<u32, ActivityError> {
    for i in 1..=100u32 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ctx.heartbeat(&i)?;
    }
    Ok(100)
}

#[workflow]
async fn chatter(ctx: WorkflowContext) -> WorkflowResult<u32> {
    // Heartbeat timeout 10 s: details are written at most every 8 s.
    let options = ActivityOptions::start_to_close(secs(60)).heartbeat_timeout(secs(10));
    Ok(ctx.execute_activity(chatty, (), options).await?)
}

#[tokio::test(start_paused = true)]
async fn heartbeats_are_throttled() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(chatter).register_activity(chatty)).await?;
    let client = env.client();
    let handle = client.start_workflow(chatter, "chatty", ()).await?;
    let details = |d: weft::WorkflowDescription| -> Option<u32> {
        d.pending_activities[0].last_heartbeat_details.as_ref().map(|p| p.decode().unwrap())
    };
    tokio::time::sleep(std::time::Duration::from_millis(5050)).await;
    assert_eq!(details(client.describe("chatty").await?), Some(1), "50 heartbeats, one write");
    tokio::time::sleep(secs(4)).await;
    assert_eq!(details(client.describe("chatty").await?), Some(81), "the first heartbeat after 8 s is written");
    assert_eq!(handle.result().await?, 100);
    env.shutdown().await;
    Ok(())
}

/// Heartbeats the next item to do, and fails at once (no await in between)
/// on its first attempt.
#[activity(heartbeat_timeout = "10s")]
async fn fails_right_after_a_heartbeat(ctx: ActivityContext) -> Result<u32, ActivityError> {
    let start = ctx.last_heartbeat_details::<u32>().transpose()?.unwrap_or(0);
    if ctx.attempt() == 1 {
        ctx.heartbeat(&7)?;
        return Err(ActivityError::new("failed right after heartbeating"));
    }
    Ok(start)
}

#[workflow]
async fn resumes(ctx: WorkflowContext) -> WorkflowResult<u32> {
    let options = ActivityOptions::start_to_close(secs(60)).heartbeat_timeout(secs(10));
    Ok(ctx.execute_activity(fails_right_after_a_heartbeat, (), options).await?)
}

#[tokio::test(start_paused = true)]
async fn the_last_heartbeat_before_a_failure_reaches_the_next_attempt() -> weft::Result<()> {
    let env =
        TestEnv::start(Engine::builder().register_workflow(resumes).register_activity(fails_right_after_a_heartbeat))
            .await?;
    let handle = env.client().start_workflow(resumes, "resume", ()).await?;
    assert_eq!(handle.result().await?, 7);
    env.shutdown().await;
    Ok(())
}
