//! An order that waits for a person's approval, sent as a signal, with a
//! deadline: a durable timer races the wait, and the order expires if the
//! timer fires first. Once approved, an activity ships it.
//!
//! `#[workflow]` on an impl block makes the struct the workflow's state:
//! the `#[signal]` method changes it, the `#[query]` method reads it (from
//! outside, while the run waits, and after it closed), and the `#[run]` body
//! waits on it with `ctx.wait_condition(..)`. The signal is recorded as
//! `WorkflowExecutionSignaled`; the losing timer as `TimerCanceled`.
//!
//! ```text
//! cargo run -p weft-examples --example order_approval
//! ```

use std::time::{Duration, SystemTime};

use futures_lite::future::or;
use serde::{Deserialize, Serialize};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, WorkflowContext, WorkflowResult, activity, workflow,
};

/// What the order is for, and how long it waits for an approval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderInput {
    pub customer: String,
    pub total_cents: u64,
    pub approve_within_ms: u64,
}

/// An approval, as the approver sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
}

/// Where the order is, as the `status` query answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderStatus {
    AwaitingApproval,
    Approved { by: String },
    Shipped { tracking: String },
    Expired,
}

/// How the order ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Shipped { approved_by: String, tracking: String },
    Expired,
}

/// Ships the order (here: makes up a tracking number).
#[activity(start_to_close_timeout = "10s")]
pub async fn ship_order(_ctx: ActivityContext, customer: String, total_cents: u64) -> Result<String, ActivityError> {
    println!("  -> shipping {}.{:02} worth of goods to {customer}", total_cents / 100, total_cents % 100);
    Ok(format!("TRACK-{}-{total_cents}", customer.to_uppercase()))
}

/// The order's state: what the signal and the query share with the body.
#[derive(Debug)]
pub struct Order {
    status: OrderStatus,
    approval: Option<Approval>,
}

#[workflow]
impl Order {
    #[init]
    fn new(_input: &OrderInput) -> Self {
        Order { status: OrderStatus::AwaitingApproval, approval: None }
    }

    /// Waits for an approval or the deadline, whichever comes first; ships an approved order.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, input: OrderInput) -> WorkflowResult<Outcome> {
        let approved = ctx.wait_condition(|order| order.approval.is_some());
        let deadline = ctx.sleep(Duration::from_millis(input.approve_within_ms));
        // The first to finish wins; the other is dropped (a dropped timer is cancelled).
        let approved = or(async { approved.await.map(|()| true) }, async { deadline.await.map(|()| false) }).await?;
        if !approved {
            ctx.state_mut(|order| order.status = OrderStatus::Expired);
            return Ok(Outcome::Expired);
        }
        let by = ctx.state(|order| order.approval.as_ref().map(|a| a.by.clone()).unwrap_or_default());
        ctx.state_mut(|order| order.status = OrderStatus::Approved { by: by.clone() });
        let tracking =
            ctx.execute_activity(ship_order, (input.customer, input.total_cents), ActivityOptions::defaults()).await?;
        ctx.state_mut(|order| order.status = OrderStatus::Shipped { tracking: tracking.clone() });
        Ok(Outcome::Shipped { approved_by: by, tracking })
    }

    /// Someone approved the order. The first approval counts.
    #[signal]
    pub fn approve(&mut self, approval: Approval) {
        self.approval.get_or_insert(approval);
    }

    /// Where the order is.
    #[query]
    pub fn status(&self) -> OrderStatus {
        self.status.clone()
    }
}

/// Registers the example's workflow and activity.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(Order::run).register_activity(ship_order)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-order_approval.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    println!("\nan order approved in time:");
    let input = OrderInput { customer: "ada".into(), total_cents: 4_250, approve_within_ms: 60_000 };
    let handle = client.start_workflow(Order::run, format!("order-{run}"), input).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = client.query(&handle, Order::status).await?;
    let timers = client.describe(handle.workflow_id()).await?.pending_timers.len();
    println!("  status: {status:?}, {timers} pending timer (the deadline)");
    assert_eq!(status, OrderStatus::AwaitingApproval);

    println!("  signalling the approval");
    client.signal(&handle, Order::approve, Approval { by: "grace".into() }).await?;
    let outcome = handle.result().await?;
    println!("  => {outcome:?}");
    assert!(matches!(&outcome, Outcome::Shipped { approved_by, .. } if approved_by == "grace"));
    // A closed run still answers, from its replayed state.
    let status = client.query(&handle, Order::status).await?;
    println!("  status after the close: {status:?}");
    assert!(matches!(status, OrderStatus::Shipped { .. }));
    let history = handle.history().await?;
    let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
    println!("  history: {}", types.join(", "));
    assert!(types.contains(&"WorkflowExecutionSignaled") && types.contains(&"TimerCanceled"));

    println!("\nan order nobody approves (a 1 s deadline):");
    let input = OrderInput { customer: "bob".into(), total_cents: 999, approve_within_ms: 1_000 };
    let handle = client.start_workflow(Order::run, format!("order-{run}-late"), input).await?;
    let outcome = handle.result().await?;
    println!("  => {outcome:?}");
    assert_eq!(outcome, Outcome::Expired);
    match client.signal(&handle, Order::approve, Approval { by: "grace".into() }).await {
        Err(Error::NotRunning { status, .. }) => println!("  a late approval is refused: the run is {status}"),
        other => panic!("expected NotRunning, got {other:?}"),
    }
    let history = handle.history().await?;
    let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
    println!("  history: {}", types.join(", "));
    assert!(types.contains(&"TimerFired") && !types.contains(&"ActivityTaskScheduled"));

    engine.shutdown().await;
    Ok(())
}
