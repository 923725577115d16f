//! Every handler kind of a `#[workflow]` impl block, and the client calls
//! on its stubs.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft::{
    activity, workflow, ActivityContext, ActivityError, ActivityOptions, Client, Engine, UpdateOptions,
    WorkflowContext, WorkflowError, WorkflowHandle, WorkflowOptions, WorkflowResult,
};

#[activity(start_to_close_timeout = "10s")]
async fn reserve(_ctx: ActivityContext, items: Vec<String>) -> Result<u32, ActivityError> {
    Ok(items.len() as u32)
}

#[derive(Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub enum Status {
    Open,
    Approved,
}

#[derive(Serialize, Deserialize)]
pub struct OrderInput {
    pub customer: String,
    pub first_item: String,
}

pub struct Order {
    customer: String,
    items: Vec<(String, u32)>,
    approvals: Vec<Approval>,
    status: Status,
}

#[workflow(name = "Order")]
impl Order {
    #[init]
    fn new(input: &OrderInput) -> Self {
        Order {
            customer: input.customer.clone(),
            items: vec![(input.first_item.clone(), 1)],
            approvals: Vec::new(),
            status: Status::Open,
        }
    }

    /// The order's body: waits for an approval, then reserves.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, input: OrderInput) -> WorkflowResult<u32> {
        let _ = input;
        ctx.wait_condition(|s| !s.approvals.is_empty()).await?;
        ctx.state_mut(|s| s.status = Status::Approved);
        let items = ctx.state(|s| s.items.iter().map(|(name, _)| name.clone()).collect());
        Ok(ctx.execute_activity(reserve, items, ActivityOptions::defaults()).await?)
    }

    /// Someone approved the order.
    #[signal]
    pub fn approve(&mut self, approval: Approval) {
        self.approvals.push(approval);
    }

    #[signal(name = "cancel-item")]
    pub fn drop_item(&mut self, name: String, quantity: u32) {
        self.items.retain(|(n, q)| !(n == &name && *q <= quantity));
    }

    #[signal]
    pub fn clear(&mut self) {
        self.items.clear();
    }

    #[query]
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    #[query(name = "item")]
    pub fn item_at(&self, index: usize) -> Option<String> {
        self.items.get(index).map(|(name, _)| name.clone())
    }

    #[query]
    pub fn quantity_of(&self, name: String, at_least: u32) -> bool {
        self.items.iter().any(|(n, q)| *n == name && *q >= at_least)
    }

    #[update]
    pub fn add_item(&mut self, name: String, quantity: u32) -> WorkflowResult<usize> {
        self.items.push((name, quantity));
        Ok(self.items.len())
    }

    #[validator(add_item)]
    fn check_item(&self, name: &String, quantity: &u32) -> Result<(), WorkflowError> {
        if name.is_empty() || *quantity == 0 {
            return Err(WorkflowError::new("an item has a name and a quantity").with_type("BadItem"));
        }
        Ok(())
    }

    #[update(name = "rename")]
    pub fn set_customer(&mut self, customer: String) -> WorkflowResult<String> {
        Ok(std::mem::replace(&mut self.customer, customer))
    }

    #[validator(set_customer)]
    fn check_customer(&self, customer: &String) -> Result<(), WorkflowError> {
        if customer.is_empty() {
            return Err(WorkflowError::new("a customer has a name"));
        }
        Ok(())
    }

    /// Reserves at once: an activity in an update.
    #[update]
    pub async fn reserve_now(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        let items = ctx.state(|s| s.items.iter().map(|(name, _)| name.clone()).collect());
        let reserved =
            ctx.execute_activity(reserve, items, ActivityOptions::start_to_close(Duration::from_secs(5))).await?;
        Ok(reserved)
    }

    #[update]
    pub async fn wait_and_count(ctx: WorkflowContext<Self>, at_least: usize) -> WorkflowResult<usize> {
        ctx.wait_condition(move |s| s.items.len() >= at_least).await?;
        Ok(ctx.state(|s| s.items.len()))
    }

    /// A plain helper: not a handler.
    fn total(&self) -> u32 {
        self.items.iter().map(|(_, q)| q).sum()
    }

    #[query]
    pub fn total_quantity(&self) -> u32 {
        self.total()
    }
}

/// A state without `#[init]`: `Default`.
#[derive(Default)]
pub struct Counter {
    count: u64,
}

#[workflow]
impl Counter {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, until: u64) -> WorkflowResult<u64> {
        ctx.wait_condition(move |s| s.count >= until).await?;
        Ok(ctx.state(|s| s.count))
    }

    #[signal]
    pub fn bump(&mut self) {
        self.count += 1;
    }

    #[query]
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// An `#[init]` over a run of several inputs, and one over none.
pub struct Tally {
    total: u64,
}

#[workflow]
impl Tally {
    #[init]
    fn new(start: &u64, label: &str) -> Self {
        Tally { total: *start + label.len() as u64 }
    }

    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, start: u64, label: String) -> WorkflowResult<u64> {
        let _ = (start, label);
        Ok(ctx.state(|s| s.total))
    }

    #[update]
    pub fn add(&mut self, n: u64) -> WorkflowResult<u64> {
        self.total += n;
        Ok(self.total)
    }
}

pub struct Empty {
    ready: bool,
}

#[workflow]
impl Empty {
    #[init]
    fn new() -> Self {
        Empty { ready: false }
    }

    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.ready).await?;
        Ok(())
    }

    #[signal]
    pub fn go(&mut self) {
        self.ready = true;
    }
}

#[allow(dead_code)]
async fn calls(client: &Client) -> weft::Result<()> {
    let input = || OrderInput { customer: "ann".into(), first_item: "apple".into() };
    let handle: WorkflowHandle<Order> = client.start_workflow(Order::run, "order-1", input()).await?;
    client.signal(&handle, Order::approve, Approval { by: "bob".into() }).await?;
    client.signal(&handle, Order::drop_item, ("apple".to_owned(), 1)).await?;
    client.signal(&handle, Order::clear, ()).await?;
    let _: Status = client.query(&handle, Order::status).await?;
    let _: Option<String> = client.query_with(&handle, Order::item_at, 0).await?;
    let _: bool = client.query_with(&handle, Order::quantity_of, ("pear".to_owned(), 2)).await?;
    let _: usize = client.update(&handle, Order::add_item, ("pear".to_owned(), 2)).await?;
    let options = UpdateOptions::new().update_id("rename-1");
    let _: String = client.update_with(&handle, Order::set_customer, "cy".to_owned(), options).await?;
    let _: u32 = client.update(&handle, Order::reserve_now, ()).await?;
    let _: usize = client.update(&handle, Order::wait_and_count, 3).await?;
    let _: u32 = handle.result().await?;

    let options = WorkflowOptions::new("order-2");
    let other =
        client.signal_with_start(Order::run, options, input(), Order::approve, Approval { by: "dee".into() }).await?;
    let _: u32 = client.query(&other, Order::total_quantity).await?;

    let counter = client.start_workflow(Counter::run, "counter-1", 3).await?;
    client.signal(&counter, Counter::bump, ()).await?;
    let _: u64 = client.query(&counter, Counter::count).await?;
    let _: u64 = counter.result().await?;

    let tally = client.start_workflow(Tally::run, "tally-1", (1, "abc".to_owned())).await?;
    let _: u64 = client.update(&tally, Tally::add, 2).await?;
    let empty = client.start_workflow(Empty::run, "empty-1", ()).await?;
    client.signal(&empty, Empty::go, ()).await?;
    Ok(())
}

fn main() {
    use weft::Workflow;
    assert_eq!(<Order as Workflow>::NAME, "Order");
    assert_eq!(<Counter as Workflow>::NAME, "Counter");
    assert_eq!(Order::approve.name(), "approve");
    assert_eq!(Order::drop_item.name(), "cancel-item");
    assert_eq!(Order::item_at.name(), "item");
    assert_eq!(Order::set_customer.name(), "rename");
    let _ = Engine::builder()
        .register_workflow(Order::run)
        .register_workflow(Counter::run)
        .register_workflow(Tally::run)
        .register_workflow(Empty::run)
        .register_activity(reserve);
}
