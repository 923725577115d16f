//! Local activities: short calls run inside the workflow's step.
//!
//! A quote workflow looks a price up with a local activity (fast, idempotent,
//! retried by the worker that runs the step; its first attempt fails here, to
//! show the retry), then charges the card with a normal activity (scheduled
//! on the task queue). Run it with
//!
//! ```text
//! cargo run -p weft-examples --example local_activity
//! ```
//!
//! The history shows one `MarkerRecorded` for the lookup, with the attempt
//! that ended it, and `ActivityTaskScheduled` / `Started` / `Completed` for the charge.

use std::time::Duration;

use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, RetryPolicy, WorkflowContext, WorkflowResult, activity,
    workflow,
};

/// The price of `sku` in cents: a cache lookup, say. Its first attempt fails.
#[activity]
pub async fn look_up_price(ctx: ActivityContext, sku: String) -> Result<u64, ActivityError> {
    if ctx.attempt() == 1 {
        return Err(ActivityError::new("price cache warming up"));
    }
    Ok(match sku.as_str() {
        "tea" => 450,
        "mug" => 1_200,
        _ => 100,
    })
}

/// Charges the card: a side effect, scheduled like any activity.
#[activity]
pub async fn charge(_ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
    Ok(format!("charged {customer} {cents} cents"))
}

/// Looks up the price locally, then charges it.
#[workflow]
pub async fn quote_and_charge(ctx: WorkflowContext, customer: String, sku: String) -> WorkflowResult<String> {
    let local = ActivityOptions::start_to_close(Duration::from_secs(2))
        .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)).maximum_attempts(3));
    let cents = ctx.execute_local_activity(look_up_price, sku, local).await?;
    let receipt = ctx
        .execute_activity(charge, (customer, cents), ActivityOptions::start_to_close(Duration::from_secs(10)))
        .await?;
    Ok(receipt)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-local_activity.db");
    println!("store: {}", store.display());

    let engine = Engine::builder()
        .sqlite(&store)
        .register_workflow(quote_and_charge)
        .register_activity(look_up_price)
        .register_activity(charge)
        .build()
        .await?;
    let client = engine.client();

    let id = format!("quote-{}", std::process::id());
    let handle = client.start_workflow(quote_and_charge, &id, ("ada".to_owned(), "tea".to_owned())).await?;
    println!("{}", handle.result().await?);

    println!("history of {} (run {}):", handle.workflow_id(), handle.run_id());
    for event in handle.history().await? {
        println!("{event}");
    }
    engine.shutdown().await;
    Ok(())
}
