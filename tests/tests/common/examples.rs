//! Every example's workflows, run to their end on one engine: the golden
//! histories record them, and the cache test runs them with and without cache.

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/hello_activity.rs"]
pub mod hello_activity;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/activity_timeouts_retries.rs"]
pub mod activity_timeouts_retries;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/cancel_activity.rs"]
pub mod cancel_activity;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/heartbeat_progress.rs"]
pub mod heartbeat_progress;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/shared_activities.rs"]
pub mod shared_activities;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/durable_timer.rs"]
pub mod durable_timer;

use std::sync::Arc;

use activity_timeouts_retries as timeouts;
use weft::history::HistoryEvent;
use weft::testing::Replayer;
use weft::{Client, EngineBuilder, Workflow};

/// Registers every example workflow and activity.
pub fn register(builder: EngineBuilder) -> EngineBuilder {
    builder
        .max_concurrent_activities(1)
        .register_workflow(hello_activity::your_workflow)
        .register_activity(hello_activity::your_activity)
        .register_workflow(timeouts::start_to_close)
        .register_workflow(timeouts::schedule_to_close)
        .register_workflow(timeouts::schedule_to_start)
        .register_workflow(timeouts::heartbeat)
        .register_activity(timeouts::hangs_at_first)
        .register_activity(timeouts::always_fails)
        .register_activity(timeouts::takes)
        .register_activity(timeouts::goes_quiet)
        .register_workflow(cancel_activity::cancels_its_activity)
        .register_workflow(cancel_activity::waits)
        .register_activity(cancel_activity::long_job)
        .register_workflow(heartbeat_progress::batch)
        .register_activity(heartbeat_progress::process_items)
        .register_workflow(shared_activities::checkout)
        .register_workflow(shared_activities::audit)
        .register_activities(Arc::new(shared_activities::Payments::new(4)))
        .register_workflow(durable_timer::reminder)
        .register_activity(durable_timer::send_reminder)
}

/// A replayer that knows every example workflow.
pub fn replayer() -> Replayer {
    Replayer::new()
        .register_workflow(hello_activity::your_workflow)
        .register_workflow(timeouts::start_to_close)
        .register_workflow(timeouts::schedule_to_close)
        .register_workflow(timeouts::schedule_to_start)
        .register_workflow(timeouts::heartbeat)
        .register_workflow(cancel_activity::cancels_its_activity)
        .register_workflow(cancel_activity::waits)
        .register_workflow(heartbeat_progress::batch)
        .register_workflow(shared_activities::checkout)
        .register_workflow(shared_activities::audit)
        .register_workflow(durable_timer::reminder)
}

async fn run<W: Workflow>(
    client: &Client,
    name: &str,
    workflow: W,
    input: W::Input,
) -> weft::Result<(String, String, Vec<HistoryEvent>)> {
    let handle = client.start_workflow(workflow, name, input).await?;
    let result = match handle.result().await {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string().replace(handle.run_id(), "RUN"),
    };
    Ok((name.to_owned(), result, handle.history().await?))
}

/// Runs every example workflow to its end: `(name, result, history)`.
pub async fn run_all(client: &Client) -> weft::Result<Vec<(String, String, Vec<HistoryEvent>)>> {
    let mut runs = vec![
        run(client, "hello_activity", hello_activity::your_workflow, "World".to_owned()).await?,
        run(client, "start_to_close", timeouts::start_to_close, ()).await?,
        run(client, "schedule_to_close", timeouts::schedule_to_close, ()).await?,
        run(client, "schedule_to_start", timeouts::schedule_to_start, ()).await?,
        run(client, "heartbeat_timeout", timeouts::heartbeat, ()).await?,
        run(client, "heartbeat_progress", heartbeat_progress::batch, 10).await?,
        run(client, "shared_activities", shared_activities::checkout, ("ada".to_owned(), 250)).await?,
        run(client, "shared_activities_declined", shared_activities::checkout, ("bob".to_owned(), 50_000)).await?,
        run(client, "shared_activities_audit", shared_activities::audit, ()).await?,
        run(client, "durable_timer", durable_timer::reminder, ("ada".to_owned(), 60_000)).await?,
    ];
    for kind in ["TryCancel", "WaitCancellationCompleted", "Abandon"] {
        runs.push(run(client, kind, cancel_activity::cancels_its_activity, kind.to_owned()).await?);
    }
    let waits = client.start_workflow(cancel_activity::waits, "cancel_workflow", ()).await?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    client.cancel_workflow("cancel_workflow", "golden").await?;
    let result =
        waits.result().await.map_or_else(|e| e.to_string().replace(waits.run_id(), "RUN"), |_| "ok".to_owned());
    runs.push(("cancel_workflow".to_owned(), result, waits.history().await?));
    Ok(runs)
}
