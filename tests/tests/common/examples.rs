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

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/order_approval.rs"]
pub mod order_approval;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/job_progress.rs"]
pub mod job_progress;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/shopping_cart.rs"]
pub mod shopping_cart;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/child_workflows.rs"]
pub mod child_workflows;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/stream_batches.rs"]
pub mod stream_batches;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/workflow_timeouts.rs"]
pub mod workflow_timeouts;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/local_activity.rs"]
pub mod local_activity;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/examples/versioning.rs"]
pub mod versioning;

use std::sync::Arc;

use std::time::Duration;

use activity_timeouts_retries as timeouts;
use weft::history::HistoryEvent;
use weft::testing::Replayer;
use weft::{Client, EngineBuilder, Error, UpdateOptions, Workflow, WorkflowHandle};

/// Registers every example workflow and activity.
pub fn register(builder: EngineBuilder) -> EngineBuilder {
    let builder = builder
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
        .register_workflow(order_approval::Order::run)
        .register_activity(order_approval::ship_order)
        .register_workflow(job_progress::Job::run)
        .register_activity(job_progress::process_chunk)
        .register_workflow(shopping_cart::Cart::run)
        .register_activity(shopping_cart::charge_card)
        .register_workflow(versioning::v2::shipment)
        .register_activity(versioning::print_label)
        .register_activity(versioning::print_eco_label)
        .register_activity(versioning::ship)
        .register_workflow(local_activity::quote_and_charge)
        .register_activity(local_activity::look_up_price)
        .register_activity(local_activity::charge);
    let builder = child_workflows::register(builder);
    let builder = stream_batches::register(builder);
    workflow_timeouts::register(builder)
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
        .register_workflow(order_approval::Order::run)
        .register_workflow(job_progress::Job::run)
        .register_workflow(shopping_cart::Cart::run)
        .register_workflow(child_workflows::order)
        .register_workflow(child_workflows::payment)
        .register_workflow(child_workflows::shipping)
        .register_workflow(child_workflows::receipt)
        .register_workflow(child_workflows::reship)
        .register_workflow(stream_batches::consume)
        .register_workflow(workflow_timeouts::poll_for_reply)
        .register_workflow(local_activity::quote_and_charge)
        .register_workflow(versioning::v2::shipment)
}

async fn run<W: Workflow>(
    client: &Client,
    name: &str,
    workflow: W,
    input: W::Input,
) -> weft::Result<(String, String, Vec<HistoryEvent>)> {
    let handle = client.start_workflow(workflow, name, input).await?;
    finish(name, handle).await
}

/// Waits for the run's end: `(name, result, history)`.
async fn finish<W: Workflow>(
    name: &str,
    handle: WorkflowHandle<W>,
) -> weft::Result<(String, String, Vec<HistoryEvent>)> {
    let result = match handle.result().await {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string().replace(handle.run_id(), "RUN"),
    };
    Ok((name.to_owned(), result, handle.history().await?))
}

/// The examples driven by signals, queries and updates, each with the
/// calls its `main` makes (update ids given, so runs compare event for event).
async fn run_messages(client: &Client) -> weft::Result<Vec<(String, String, Vec<HistoryEvent>)>> {
    use order_approval::{Approval, Order, OrderInput, OrderStatus};
    use shopping_cart::{Cart, Item};
    let mut runs = Vec::new();

    let input = OrderInput { customer: "ada".into(), total_cents: 4_250, approve_within_ms: 3_600_000 };
    let order = client.start_workflow(Order::run, "order_approval", input).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(client.query(&order, Order::status).await?, OrderStatus::AwaitingApproval);
    client.signal(&order, Order::approve, Approval { by: "grace".into() }).await?;
    runs.push(finish("order_approval", order).await?);
    let input = OrderInput { customer: "bob".into(), total_cents: 999, approve_within_ms: 600_000 };
    runs.push(run(client, "order_approval_expired", Order::run, input).await?);

    let input = job_progress::JobInput { chunks: 4, chunk_ms: 1_000 };
    let job = client.start_workflow(job_progress::Job::run, "job_progress", input).await?;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let progress = client.query(&job, job_progress::Job::progress).await?;
    assert!(progress.done > 0 && progress.done < 4, "{progress:?}");
    runs.push(finish("job_progress", job).await?);

    let cart = client.start_workflow(Cart::run, "shopping_cart", "ada".to_owned()).await?;
    let id = |id: &str| UpdateOptions::new().update_id(id);
    client.update_with(&cart, Cart::add_item, Item::new("tea", 2, 450), id("add-tea")).await?;
    client.update_with(&cart, Cart::add_item, Item::new("mug", 1, 1200), id("add-mug")).await?;
    assert_eq!(client.update_with(&cart, Cart::add_item, Item::new("mug", 1, 1200), id("add-mug")).await?, 2);
    let rejected = client.update_with(&cart, Cart::add_item, Item::new("spoon", 0, 300), id("add-spoon")).await;
    assert!(matches!(rejected, Err(Error::UpdateRejected { .. })), "{rejected:?}");
    let failed = client.update_with(&cart, Cart::remove_item, "biscuits".to_owned(), id("remove-biscuits")).await;
    assert!(matches!(failed, Err(Error::UpdateFailed { .. })), "{failed:?}");
    client.update_with(&cart, Cart::checkout, (), id("checkout")).await?;
    runs.push(finish("shopping_cart", cart).await?);
    Ok(runs)
}

/// The child-workflow, continue-as-new and timeout examples, as their `main`s run them.
async fn run_lifecycle(client: &Client) -> weft::Result<Vec<(String, String, Vec<HistoryEvent>)>> {
    use child_workflows as family;
    let mut runs = vec![run(client, "child_workflows", family::order, ("order-1".to_owned(), 4_250)).await?];
    let receipt = client.workflow_handle(family::receipt, "order-1-receipt").await?;
    runs.push(finish("child_workflows_receipt", receipt).await?);
    client.start_workflow(family::shipping, "busy", "first".to_owned()).await?;
    runs.push(run(client, "child_workflows_id_in_use", family::reship, "busy".to_owned()).await?);
    let start = stream_batches::Progress { stop_after: Some(150), ..Default::default() };
    runs.push(run(client, "stream_batches", stream_batches::consume, start).await?);
    let options = weft::WorkflowOptions::new("workflow_timeouts").run_timeout(Duration::from_millis(300));
    let slow = client.start_workflow_with(workflow_timeouts::poll_for_reply, options, (1, 2_000)).await?;
    runs.push(finish("workflow_timeouts", slow).await?);
    Ok(runs)
}

/// The runs of example code that was replaced since (the `versioning`
/// example's version 1), on an engine registered with [`register_old_code`]:
/// their histories must replay against the current code.
pub async fn run_old_code(client: &Client) -> weft::Result<Vec<(String, String, Vec<HistoryEvent>)>> {
    Ok(vec![run(client, "versioning_v1", versioning::v1::shipment, "order 1".to_owned()).await?])
}

/// Registers the replaced example code [`run_old_code`] runs.
pub fn register_old_code(builder: EngineBuilder) -> EngineBuilder {
    versioning::register_activities(builder.register_workflow(versioning::v1::shipment))
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
        run(client, "local_activity", local_activity::quote_and_charge, ("ada".to_owned(), "tea".to_owned())).await?,
        run(client, "versioning", versioning::v2::shipment, "order 1".to_owned()).await?,
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
    runs.extend(run_messages(client).await?);
    runs.extend(run_lifecycle(client).await?);
    Ok(runs)
}
