//! Cancellation: the three cancellation types, and cancelling a workflow.

mod common;

use common::{Journal, event_types, secs};
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, CancellationType, Engine, Error, WorkflowContext,
    WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

/// Runs for an hour unless cancelled; on cancellation it cleans up for 5 s.
#[activity]
async fn patient(ctx: ActivityContext) -> Result<String, ActivityError> {
    JOURNAL.record(&ctx, "started");
    tokio::select! {
        () = ctx.cancelled() => {
            tokio::time::sleep(secs(5)).await;
            JOURNAL.record(&ctx, "saw cancel");
            Err(ActivityError::new("cancelled"))
        }
        () = tokio::time::sleep(secs(3600)) => Ok("finished".to_owned()),
    }
}

/// Starts `patient`, cancels it after 10 s, then reports how long the handle took.
#[workflow]
async fn cancel_after_ten(ctx: WorkflowContext, cancellation_type: u8) -> WorkflowResult<String> {
    let cancellation_type = match cancellation_type {
        0 => CancellationType::TryCancel,
        1 => CancellationType::WaitCancellationCompleted,
        _ => CancellationType::Abandon,
    };
    let options = ActivityOptions::start_to_close(secs(7200)).cancellation_type(cancellation_type);
    let handle = ctx.start_activity(patient, (), options);
    ctx.sleep(secs(10)).await?;
    handle.cancel();
    let asked = ctx.now();
    let outcome = match handle.await {
        Err(ActivityFailure::Canceled { .. }) => "canceled",
        Ok(_) => "completed",
        Err(_) => "failed",
    };
    let waited = ctx.now().duration_since(asked).unwrap_or_default().as_secs();
    // Give the activity time to finish its cleanup before the run closes.
    ctx.sleep(secs(20)).await?;
    Ok(format!("{outcome} after {waited}s"))
}

/// Waits on `patient`; cancelling the workflow cancels it.
#[workflow]
async fn waits_on_activity(ctx: WorkflowContext) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(patient, (), ActivityOptions::start_to_close(secs(7200))).await?)
}

/// Sleeps for an hour.
#[workflow]
async fn sleeps(ctx: WorkflowContext) -> WorkflowResult<()> {
    ctx.sleep(secs(3600)).await?;
    Ok(())
}

async fn env() -> weft::Result<TestEnv> {
    TestEnv::start(
        Engine::builder()
            .register_workflow(cancel_after_ten)
            .register_workflow(waits_on_activity)
            .register_workflow(sleeps)
            .register_activity(patient),
    )
    .await
}

fn notes(workflow_id: &str) -> Vec<String> {
    JOURNAL.entries(workflow_id).into_iter().map(|e| e.note).collect()
}

#[tokio::test(start_paused = true)]
async fn try_cancel_resolves_at_once_and_the_activity_sees_it() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(cancel_after_ten, "try", 0).await?;
    assert_eq!(handle.result().await?, "canceled after 0s");
    assert_eq!(notes("try"), ["started", "saw cancel"]);
    let history = handle.history().await?;
    let types = event_types(&history);
    let requested = types.iter().position(|t| *t == "ActivityTaskCancelRequested").expect("cancel requested");
    let canceled = types.iter().position(|t| *t == "ActivityTaskCanceled").expect("canceled");
    assert!(requested < canceled, "{types:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn wait_cancellation_completed_waits_for_the_activity() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(cancel_after_ten, "wait", 1).await?;
    assert_eq!(handle.result().await?, "canceled after 5s");
    assert_eq!(notes("wait"), ["started", "saw cancel"]);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn abandon_resolves_at_once_and_tells_the_activity_nothing() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(cancel_after_ten, "abandon", 2).await?;
    assert_eq!(handle.result().await?, "canceled after 0s");
    assert_eq!(notes("abandon"), ["started"], "the activity ran on, uncancelled, while the workflow lived");
    let types = event_types(&handle.history().await?);
    assert!(!types.contains(&"ActivityTaskCancelRequested"), "{types:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_workflow_cancels_its_activities() -> weft::Result<()> {
    let env = env().await?;
    let client = env.client();
    let handle = client.start_workflow(waits_on_activity, "cancel-wf", ()).await?;
    while notes("cancel-wf").is_empty() {
        tokio::time::sleep(secs(1)).await;
    }
    client.cancel_workflow("cancel-wf", "no longer needed").await?;
    assert!(matches!(handle.result().await, Err(Error::WorkflowCanceled { .. })));
    let types = event_types(&handle.history().await?);
    assert_eq!(
        types[types.len() - 3..],
        ["WorkflowExecutionCancelRequested", "ActivityTaskCancelRequested", "WorkflowExecutionCanceled"]
    );
    tokio::time::sleep(secs(6)).await;
    assert_eq!(notes("cancel-wf"), ["started", "saw cancel"]);
    let err = client.cancel_workflow("cancel-wf", "again").await.unwrap_err();
    assert!(matches!(err, Error::NotRunning { status: weft::RunStatus::Canceled, .. }), "{err:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_sleeping_workflow_cancels_its_timer() -> weft::Result<()> {
    let env = env().await?;
    let client = env.client();
    let handle = client.start_workflow(sleeps, "sleeper", ()).await?;
    tokio::time::sleep(secs(60)).await;
    client.cancel_workflow("sleeper", "wake up").await?;
    assert!(matches!(handle.result().await, Err(Error::WorkflowCanceled { .. })));
    assert_eq!(
        event_types(&handle.history().await?),
        [
            "WorkflowExecutionStarted",
            "TimerStarted",
            "WorkflowExecutionCancelRequested",
            "TimerCanceled",
            "WorkflowExecutionCanceled"
        ]
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn terminate_ends_the_run_without_running_its_code() -> weft::Result<()> {
    let env = env().await?;
    let client = env.client();
    let handle = client.start_workflow(sleeps, "terminated", ()).await?;
    tokio::time::sleep(secs(1)).await;
    client.terminate_workflow("terminated", "operator said so").await?;
    let err = handle.result().await.unwrap_err();
    assert!(matches!(&err, Error::WorkflowTerminated { reason, .. } if reason == "operator said so"), "{err:?}");
    assert_eq!(
        event_types(&handle.history().await?),
        ["WorkflowExecutionStarted", "TimerStarted", "WorkflowExecutionTerminated"]
    );
    assert!(client.describe("terminated").await?.pending_timers.is_empty());
    env.shutdown().await;
    Ok(())
}
