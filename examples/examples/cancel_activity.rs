//! Cancelling activities: `start_activity`, `ActivityHandle::cancel`, and the
//! three cancellation types; then cancelling a whole workflow.
//!
//! ```text
//! cargo run -p weft-examples --example cancel_activity
//! ```

use std::time::{Duration, Instant, SystemTime};

use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, CancellationType, Engine, Error, WorkflowContext,
    WorkflowResult, activity, workflow,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Works for a minute unless cancelled; when cancelled it cleans up for 300 ms.
#[activity]
pub async fn long_job(ctx: ActivityContext, label: String) -> Result<String, ActivityError> {
    let started = Instant::now();
    tokio::select! {
        () = ctx.cancelled() => {
            println!("    [{label}] the activity saw the cancellation after {:?}; cleaning up", started.elapsed());
            tokio::time::sleep(ms(300)).await;
            println!("    [{label}] the activity finished cleaning up after {:?}", started.elapsed());
            Err(ActivityError::new("cancelled"))
        }
        () = tokio::time::sleep(Duration::from_secs(60)) => Ok("finished".to_owned()),
    }
}

/// Starts `long_job`, cancels it after 200 ms, and reports when the handle resolved.
#[workflow]
pub async fn cancels_its_activity(ctx: WorkflowContext, cancellation_type: String) -> WorkflowResult<String> {
    let kind = match cancellation_type.as_str() {
        "TryCancel" => CancellationType::TryCancel,
        "WaitCancellationCompleted" => CancellationType::WaitCancellationCompleted,
        _ => CancellationType::Abandon,
    };
    let options = ActivityOptions::start_to_close(Duration::from_secs(120)).cancellation_type(kind);
    let handle = ctx.start_activity(long_job, cancellation_type, options);
    ctx.sleep(ms(200)).await?;
    let asked = ctx.now();
    handle.cancel();
    let outcome = match handle.await {
        Err(ActivityFailure::Canceled { .. }) => "Canceled".to_owned(),
        other => format!("{other:?}"),
    };
    let waited = ctx.now().duration_since(asked).unwrap_or_default();
    // Stay open a little, so the activity's cleanup is recorded in history.
    ctx.sleep(ms(500)).await?;
    Ok(format!("the workflow saw {outcome} {waited:?} after cancel()"))
}

/// Waits on `long_job`; cancelling the workflow cancels the activity too.
#[workflow]
pub async fn waits(ctx: WorkflowContext) -> WorkflowResult<String> {
    Ok(ctx
        .execute_activity(long_job, "workflow".to_owned(), ActivityOptions::start_to_close(Duration::from_secs(120)))
        .await?)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-cancel_activity.db");
    println!("store: {}", store.display());
    let engine = Engine::builder()
        .sqlite(&store)
        .register_workflow(cancels_its_activity)
        .register_workflow(waits)
        .register_activity(long_job)
        .build()
        .await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    for kind in ["TryCancel", "WaitCancellationCompleted", "Abandon"] {
        println!("\n{kind}:");
        let handle = client.start_workflow(cancels_its_activity, format!("{kind}-{run}"), kind.to_owned()).await?;
        println!("  => {}", handle.result().await?);
        let events: Vec<&str> =
            handle.history().await?.iter().map(|e| e.event_type()).filter(|t| t.starts_with("ActivityTask")).collect();
        println!("  activity events: {}", events.join(", "));
    }

    println!("\ncancelling a whole workflow:");
    let handle = client.start_workflow(waits, format!("waits-{run}"), ()).await?;
    tokio::time::sleep(ms(200)).await;
    client.cancel_workflow(handle.workflow_id(), "the customer changed their mind").await?;
    match handle.result().await {
        Err(Error::WorkflowCanceled { .. }) => println!("  => the workflow ended as cancelled"),
        other => println!("  => unexpected: {other:?}"),
    }
    for event in handle.history().await? {
        println!("{event}");
    }
    tokio::time::sleep(ms(400)).await;
    engine.shutdown().await;
    Ok(())
}
