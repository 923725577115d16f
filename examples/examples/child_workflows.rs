//! Child workflows: an order workflow starts a payment child and a shipping
//! child at once, waits for both, and leaves a receipt child running on its
//! own (parent close policy: abandon). A second order reuses a child id
//! that is still in use, and gets a typed failure instead of a duplicate.
//!
//! `ctx.start_child_workflow(stub, input, ChildWorkflowOptions::new(id))`
//! creates the child's run in the same transaction as the step that starts
//! it, and resolves to a handle once it exists; the handle is a future of
//! the child's result, typed by the child's stub, and can signal and cancel
//! it. The parent's history records `StartChildWorkflowExecutionInitiated`,
//! `ChildWorkflowExecutionStarted` and the child's close; the child's
//! `WorkflowExecutionStarted` names its parent.
//!
//! ```text
//! cargo run -p weft-examples --example child_workflows
//! ```

use std::time::{Duration, SystemTime};

use weft::history::ParentClosePolicy;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, ChildWorkflowFailure, ChildWorkflowOptions, Engine,
    WorkflowContext, WorkflowResult, activity, workflow,
};

/// Charges a card (here: says so).
#[activity(start_to_close_timeout = "10s")]
pub async fn charge_order(_ctx: ActivityContext, order: String, cents: u64) -> Result<String, ActivityError> {
    Ok(format!("charged {cents} cents for {order}"))
}

/// Books a parcel (here: says so).
#[activity(start_to_close_timeout = "10s")]
pub async fn book_parcel(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    Ok(format!("parcel booked for {order}"))
}

/// The payment child.
#[workflow]
pub async fn payment(ctx: WorkflowContext, order: String, cents: u64) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(charge_order, (order, cents), ActivityOptions::defaults()).await?)
}

/// The shipping child: waits a moment for the warehouse, then books.
#[workflow]
pub async fn shipping(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_millis(200)).await?;
    Ok(ctx.execute_activity(book_parcel, order, ActivityOptions::defaults()).await?)
}

/// The receipt child: sent a while after the order closed.
#[workflow]
pub async fn receipt(ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_millis(300)).await?;
    Ok(format!("receipt sent for {order}"))
}

/// Payment and shipping at once, then the receipt, abandoned to run on.
#[workflow]
pub async fn order(ctx: WorkflowContext, order: String, cents: u64) -> WorkflowResult<Vec<String>> {
    let pay =
        ctx.start_child_workflow(payment, (order.clone(), cents), ChildWorkflowOptions::new(format!("{order}-pay")));
    let ship = ctx.start_child_workflow(shipping, order.clone(), ChildWorkflowOptions::new(format!("{order}-ship")));
    let (pay, ship) = (pay.await?, ship.await?);
    let done = vec![pay.await?, ship.await?];
    let receipt_options =
        ChildWorkflowOptions::new(format!("{order}-receipt")).parent_close_policy(ParentClosePolicy::Abandon);
    // Not awaited: it runs on after the order closes.
    let _receipt = ctx.start_child_workflow(receipt, order, receipt_options).await?;
    Ok(done)
}

/// Starts a shipping child under an id given; says how that went.
#[workflow]
pub async fn reship(ctx: WorkflowContext, child_id: String) -> WorkflowResult<String> {
    match ctx.execute_child_workflow(shipping, "again".to_owned(), ChildWorkflowOptions::new(child_id)).await {
        Ok(done) => Ok(done),
        Err(e @ ChildWorkflowFailure::AlreadyStarted { .. }) => Ok(format!("not started: {e}")),
        Err(e) => Err(e.into()),
    }
}

/// Registers the example's workflows and activities.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder
        .register_workflow(order)
        .register_workflow(payment)
        .register_workflow(shipping)
        .register_workflow(receipt)
        .register_workflow(reship)
        .register_activity(charge_order)
        .register_activity(book_parcel)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-child_workflows.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let id = format!("order-{run}");

    let handle = client.start_workflow(order, id.clone(), (id.clone(), 4_250)).await?;
    for line in handle.result().await? {
        println!("{id}: {line}");
    }
    let parent = client.describe(&id).await?;
    println!("{id} started {} children:", parent.children.len());
    for child in &parent.children {
        println!("  {:<28} {:<9} {}", child.workflow_id, child.workflow_type, child.state.as_str());
    }
    // The receipt runs on after its parent closed.
    let receipt_id = format!("{id}-receipt");
    let receipt = client.workflow_handle(receipt, &receipt_id).await?;
    println!("{receipt_id}: {}", receipt.result().await?);
    let child = client.describe(&receipt_id).await?;
    if let Some(parent) = child.parent {
        println!("{receipt_id}'s parent: {} (run {})", parent.workflow_id, parent.run_id);
    }

    // A child id still in use is refused, typed: no second run.
    let busy = format!("{id}-busy");
    client.start_workflow(shipping, busy.clone(), "first".to_owned()).await?;
    let refused = client.start_workflow(reship, format!("{id}-reship"), busy).await?.result().await?;
    println!("{refused}");
    engine.shutdown().await;
    Ok(())
}
