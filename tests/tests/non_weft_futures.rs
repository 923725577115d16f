//! A workflow that waits on a future weft did not give it (a tokio sleep, a
//! channel nobody sends on) would wait forever: the engine holds the run and
//! says why (issue 11, item 5). Waiting on weft's own futures is not held.

mod common;

use std::time::Duration;

use common::secs;
use tokio::time::sleep;
use weft::testing::{Replayer, TestEnv};
use weft::{Engine, Error, RunStatus, WorkflowContext, WorkflowResult, workflow};

/// Sleeps on tokio's clock, imported (the compile-time check is told to look away).
#[workflow]
async fn tokio_sleeper(ctx: WorkflowContext) -> WorkflowResult<()> {
    #[nondeterministic]
    sleep(Duration::from_millis(10)).await;
    let _ = ctx;
    Ok(())
}

/// Awaits a tokio oneshot that never fires (the compile-time check is told to look away).
#[workflow]
async fn oneshot_waiter(ctx: WorkflowContext) -> WorkflowResult<()> {
    ctx.sleep(secs(1)).await?;
    #[nondeterministic]
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let _ = rx.await;
    drop(tx);
    Ok(())
}

/// A tokio oneshot that is sent on before it is awaited: ready at once, fine.
#[workflow]
async fn ready_oneshot(ctx: WorkflowContext) -> WorkflowResult<u32> {
    #[nondeterministic]
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _ = tx.send(7);
    let n = rx.await.unwrap_or(0);
    ctx.sleep(secs(1)).await?;
    Ok(n)
}

/// Weft's own timers, alone and two at once.
#[workflow]
async fn weft_sleeper(ctx: WorkflowContext) -> WorkflowResult<u32> {
    ctx.sleep(secs(3600)).await?;
    let (a, b) = futures_lite::future::zip(ctx.sleep(secs(1)), ctx.sleep(secs(2))).await;
    a?;
    b?;
    Ok(3)
}

async fn env() -> weft::Result<TestEnv> {
    TestEnv::start(
        Engine::builder()
            .register_workflow(tokio_sleeper)
            .register_workflow(oneshot_waiter)
            .register_workflow(ready_oneshot)
            .register_workflow(weft_sleeper),
    )
    .await
}

/// The hold reason, once the run is held (virtual time runs meanwhile).
async fn held(env: &TestEnv, workflow_id: &str) -> weft::Result<Option<String>> {
    for _ in 0..1000 {
        let description = env.client().describe(workflow_id).await?;
        if description.held.is_some() {
            assert_eq!(description.status, RunStatus::Running, "held, not failed");
            return Ok(description.held);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(None)
}

fn assert_names_the_causes(reason: &str) {
    for cause in ["tokio::time::sleep", "channel", "ctx.sleep", "ctx.execute_activity"] {
        assert!(reason.contains(cause), "the reason names {cause}: {reason}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_workflow_awaiting_a_tokio_sleep_is_held_with_the_likely_causes() -> weft::Result<()> {
    let env = env().await?;
    env.client().start_workflow(tokio_sleeper, "tokio-sleep", ()).await?;
    let reason = held(&env, "tokio-sleep").await?.expect("the run is held");
    assert!(reason.contains("waiting on a future that weft did not give it"), "{reason}");
    assert_names_the_causes(&reason);
    let description = env.client().describe("tokio-sleep").await?;
    assert!(description.pending_timers.is_empty() && description.pending_activities.is_empty());
    // The step that would have recorded the start did not commit.
    assert_eq!(description.history_length, 0);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_workflow_awaiting_a_tokio_oneshot_that_never_fires_is_held() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(oneshot_waiter, "oneshot", ()).await?;
    let reason = held(&env, "oneshot").await?.expect("the run is held");
    assert_names_the_causes(&reason);
    // Held at the step after its timer fired: that step did not commit.
    let types: Vec<_> = handle.history().await?.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["WorkflowExecutionStarted", "TimerStarted"]);

    // The replayer reports the same on the history with the fire it would have recorded.
    let history = handle.history().await?;
    let timestamp = serde_json::to_string(&serde_json::to_value(&history[1]).expect("JSON")["timestamp"]).unwrap();
    let recorded = serde_json::to_string(&history).expect("JSON");
    let fired = format!(
        r#"{{"event_id":3,"timestamp":{timestamp},"event_type":"TimerFired","attributes":{{"started_event_id":2}}}}"#
    );
    let json = format!("{},{fired}]", recorded.trim_end_matches(']'));
    let replayed = Replayer::new().register_workflow(oneshot_waiter).replay_json(&json);
    assert!(
        matches!(&replayed, Err(Error::WorkflowStalled { message, .. }) if message.contains("tokio")),
        "{replayed:?}"
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_workflow_awaiting_weft_timers_or_a_ready_future_is_not_held() -> weft::Result<()> {
    let env = env().await?;
    let sleeper = env.client().start_workflow(weft_sleeper, "weft-sleep", ()).await?;
    let ready = env.client().start_workflow(ready_oneshot, "ready", ()).await?;
    tokio::time::sleep(secs(60)).await;
    let description = env.client().describe("weft-sleep").await?;
    assert_eq!(description.held, None);
    assert_eq!(description.pending_timers.len(), 1);
    assert_eq!(sleeper.result().await?, 3);
    assert_eq!(ready.result().await?, 7);
    assert_eq!(env.client().describe("weft-sleep").await?.held, None);
    env.shutdown().await;
    Ok(())
}
