//! A shopping cart driven by updates: a client adds and removes items and
//! checks out, and each call returns the handler's result.
//!
//! An update is a request with a reply. Its `#[validator]` runs first and
//! may reject it: the caller gets `Error::UpdateRejected` with the typed
//! failure, and nothing is recorded. An accepted update is recorded as
//! `WorkflowExecutionUpdateAccepted` and its result as
//! `WorkflowExecutionUpdateCompleted`; an error its handler returns reaches
//! the caller as `Error::UpdateFailed`. `checkout` is an async update: it
//! runs the payment activity and returns the receipt, and the workflow
//! completes after it. A call repeated with the same update id (a client
//! retrying after a lost reply) returns the first call's result and runs
//! nothing again.
//!
//! ```text
//! cargo run -p weft-examples --example shopping_cart
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, UpdateOptions, WorkflowContext, WorkflowError,
    WorkflowResult, activity, workflow,
};

/// How many times the card was charged, in this process.
pub static CHARGES: AtomicU32 = AtomicU32::new(0);

/// A line of the cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub quantity: u32,
    pub price_cents: u64,
}

impl Item {
    pub fn new(sku: &str, quantity: u32, price_cents: u64) -> Self {
        Item { sku: sku.to_owned(), quantity, price_cents }
    }
}

/// What checkout returns, and the workflow too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub customer: String,
    pub items: Vec<Item>,
    pub total_cents: u64,
    pub payment_id: String,
}

/// Charges the card (here: counts the charge and makes up a payment id).
#[activity(start_to_close_timeout = "10s")]
pub async fn charge_card(ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
    CHARGES.fetch_add(1, Ordering::SeqCst);
    println!("  -> charging {customer} {}.{:02}", cents / 100, cents % 100);
    Ok(format!("pay-{}-{cents}", ctx.workflow_id()))
}

/// The cart's state.
#[derive(Debug)]
pub struct Cart {
    customer: String,
    items: Vec<Item>,
    checking_out: bool,
    receipt: Option<Receipt>,
}

/// The most lines a cart holds.
pub const MAX_LINES: usize = 10;

impl Cart {
    fn total(&self) -> u64 {
        self.items.iter().map(|i| u64::from(i.quantity) * i.price_cents).sum()
    }
}

#[workflow]
impl Cart {
    #[init]
    fn new(customer: &str) -> Self {
        Cart { customer: customer.to_owned(), items: Vec::new(), checking_out: false, receipt: None }
    }

    /// Waits for the checkout; returns its receipt.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, _customer: String) -> WorkflowResult<Receipt> {
        ctx.wait_condition(|cart| cart.receipt.is_some()).await?;
        Ok(ctx.state(|cart| cart.receipt.clone()).expect("the condition held"))
    }

    /// Adds an item (or more of one already in the cart); returns how many
    /// lines the cart has.
    #[update]
    pub fn add_item(&mut self, item: Item) -> WorkflowResult<usize> {
        match self.items.iter_mut().find(|line| line.sku == item.sku) {
            Some(line) => line.quantity += item.quantity,
            None => self.items.push(item),
        }
        Ok(self.items.len())
    }

    /// Refuses an item before anything is recorded.
    #[validator(add_item)]
    fn check_item(&self, item: &Item) -> Result<(), WorkflowError> {
        if self.checking_out {
            return Err(WorkflowError::new("the cart is checked out").with_type("CheckedOut"));
        }
        if item.sku.is_empty() || item.quantity == 0 {
            return Err(WorkflowError::new(format!("no item `{}` x {}", item.sku, item.quantity)).with_type("BadItem"));
        }
        if self.items.len() >= MAX_LINES && !self.items.iter().any(|line| line.sku == item.sku) {
            return Err(WorkflowError::new(format!("a cart holds {MAX_LINES} lines")).with_type("CartFull"));
        }
        Ok(())
    }

    /// Removes an item; returns how many lines are left. An item that is
    /// not in the cart is the handler's error (recorded, unlike a rejection).
    #[update]
    pub fn remove_item(&mut self, sku: String) -> WorkflowResult<usize> {
        let before = self.items.len();
        self.items.retain(|line| line.sku != sku);
        if self.items.len() == before {
            return Err(WorkflowError::new(format!("`{sku}` is not in the cart")).with_type("NotInCart"));
        }
        Ok(self.items.len())
    }

    /// Charges the cart's total and returns the receipt; the workflow then completes.
    #[update]
    pub async fn checkout(ctx: WorkflowContext<Self>) -> WorkflowResult<Receipt> {
        let (customer, total) = ctx.state_mut(|cart| {
            cart.checking_out = true;
            (cart.customer.clone(), cart.total())
        });
        let payment_id = ctx.execute_activity(charge_card, (customer, total), ActivityOptions::defaults()).await?;
        let receipt = ctx.state(|cart| Receipt {
            customer: cart.customer.clone(),
            items: cart.items.clone(),
            total_cents: total,
            payment_id,
        });
        ctx.state_mut(|cart| cart.receipt = Some(receipt.clone()));
        Ok(receipt)
    }

    #[validator(checkout)]
    fn can_check_out(&self) -> Result<(), WorkflowError> {
        if self.items.is_empty() {
            return Err(WorkflowError::new("the cart is empty").with_type("EmptyCart"));
        }
        if self.checking_out {
            return Err(WorkflowError::new("the cart is checked out").with_type("CheckedOut"));
        }
        Ok(())
    }

    /// The cart's lines.
    #[query]
    pub fn items(&self) -> Vec<Item> {
        self.items.clone()
    }
}

/// Registers the example's workflow and activity.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(Cart::run).register_activity(charge_card)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-shopping_cart.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let handle = client.start_workflow(Cart::run, format!("cart-{run}"), "ada".to_owned()).await?;
    let with_id = |id: &str| UpdateOptions::new().update_id(format!("{id}-{run}"));

    let lines = client.update(&handle, Cart::add_item, Item::new("tea", 2, 450)).await?;
    println!("add_item(tea x 2) => {lines} line(s)");
    let lines = client.update_with(&handle, Cart::add_item, Item::new("mug", 1, 1200), with_id("add-mug")).await?;
    println!("add_item(mug x 1) => {lines} line(s)");
    // The reply was lost, say, and the client sends the same update again.
    let again = client.update_with(&handle, Cart::add_item, Item::new("mug", 1, 1200), with_id("add-mug")).await?;
    println!("add_item(mug x 1) again, same update id => {again} line(s): the first result, no second mug");
    assert_eq!((lines, again), (2, 2));

    let before = handle.history().await?.len();
    match client.update(&handle, Cart::add_item, Item::new("spoon", 0, 300)).await {
        Err(Error::UpdateRejected { failure, .. }) => {
            println!("add_item(spoon x 0) => rejected: {failure}");
            assert_eq!(failure.error_type(), "BadItem");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let after = handle.history().await?.len();
    println!("  history: {before} events before the rejected update, {after} after");
    assert_eq!(before, after, "a rejected update records nothing");

    match client.update(&handle, Cart::remove_item, "biscuits".to_owned()).await {
        Err(Error::UpdateFailed { failure, .. }) => {
            println!("remove_item(biscuits) => failed: {failure}");
            assert_eq!(failure.error_type(), "NotInCart");
        }
        other => panic!("expected the handler's error, got {other:?}"),
    }
    client.update(&handle, Cart::add_item, Item::new("jam", 1, 600)).await?;
    let lines = client.update(&handle, Cart::remove_item, "jam".to_owned()).await?;
    println!("add_item(jam), remove_item(jam) => {lines} line(s)");
    println!("items: {:?}", client.query(&handle, Cart::items).await?);

    let receipt = client.update_with(&handle, Cart::checkout, (), with_id("checkout")).await?;
    println!("checkout => {} paid {} cents ({})", receipt.customer, receipt.total_cents, receipt.payment_id);
    assert_eq!(receipt.total_cents, 2 * 450 + 1200);
    assert_eq!(handle.result().await?, receipt, "the workflow returns the receipt");
    // Retried after the run closed: still the first receipt, and one charge.
    let again = client.update_with(&handle, Cart::checkout, (), with_id("checkout")).await?;
    println!("checkout again, same update id => {} (charges: {})", again.payment_id, CHARGES.load(Ordering::SeqCst));
    assert_eq!((again, CHARGES.load(Ordering::SeqCst)), (receipt, 1));
    match client.update(&handle, Cart::add_item, Item::new("tea", 1, 450)).await {
        Err(Error::NotRunning { status, .. }) => println!("add_item after checkout => the run is {status}"),
        other => panic!("expected NotRunning, got {other:?}"),
    }

    let history = handle.history().await?;
    let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
    println!("history: {}", types.join(", "));
    let accepted = types.iter().filter(|t| **t == "WorkflowExecutionUpdateAccepted").count();
    assert_eq!(accepted, 6, "tea, mug, remove biscuits, jam, remove jam, checkout");
    engine.shutdown().await;
    Ok(())
}
