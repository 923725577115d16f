//! One shared instance serves every concurrent activity call: `#[activities]`
//! on an impl block whose state (here a connection pool) all calls share.
//!
//! Temporal's SDKs register one activities object for all calls too, which
//! is why activities must be idempotent: here each charge is keyed by
//! `ctx.idempotency_key()`, so a retried attempt does not charge twice.
//!
//! ```text
//! cargo run -p weft-examples --example shared_activities
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, WorkflowContext, WorkflowResult,
    activities, workflow,
};

/// A stand-in for a database pool: at most `size` connections at a time.
#[derive(Debug)]
pub struct Pool {
    permits: Semaphore,
    in_use: AtomicUsize,
    peak: AtomicUsize,
}

/// A connection taken from a [`Pool`]; given back when dropped.
#[derive(Debug)]
pub struct Connection<'a> {
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    pub fn new(size: usize) -> Self {
        Pool { permits: Semaphore::new(size), in_use: AtomicUsize::new(0), peak: AtomicUsize::new(0) }
    }

    /// Waits for a free connection.
    pub async fn get(&self) -> Result<Connection<'_>, ActivityError> {
        let permit = self.permits.acquire().await.map_err(|_| ActivityError::new("the pool is closed"))?;
        let in_use = self.in_use.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(in_use, Ordering::SeqCst);
        Ok(Connection { pool: self, _permit: permit })
    }

    /// The most connections ever in use at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        self.pool.in_use.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The payments service: one instance, shared by every call of its activities.
#[derive(Debug)]
pub struct Payments {
    pool: Pool,
    /// Charges by idempotency key: a retried attempt finds its charge here.
    ledger: Mutex<HashMap<String, u64>>,
    calls: AtomicUsize,
}

impl Payments {
    pub fn new(pool_size: usize) -> Self {
        Payments { pool: Pool::new(pool_size), ledger: Mutex::new(HashMap::new()), calls: AtomicUsize::new(0) }
    }

    /// How many activity attempts this instance has served.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The most pool connections in use at once.
    pub fn peak_connections(&self) -> usize {
        self.pool.peak()
    }

    /// The total charged, in cents.
    pub async fn total(&self) -> u64 {
        self.ledger.lock().await.values().sum()
    }
}

#[activities]
impl Payments {
    /// Charges a customer; declines amounts over 10 000 cents (not retried).
    #[activity(start_to_close_timeout = "10s", retry(initial_interval = "100ms", non_retryable = ["Declined"]))]
    pub async fn charge(&self, ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if cents > 10_000 {
            return Err(
                ActivityError::new(format!("{customer}: {cents} cents is over the limit")).with_type("Declined")
            );
        }
        let _connection = self.pool.get().await?;
        tokio::time::sleep(Duration::from_millis(20)).await; // the query
        let key = ctx.idempotency_key();
        self.ledger.lock().await.entry(key.clone()).or_insert(cents);
        Ok(format!("receipt {key}"))
    }

    /// Looks a charge up; takes `self: Arc<Self>` to show the other receiver.
    #[activity(start_to_close_timeout = "5s")]
    pub async fn count_charges(self: Arc<Self>, _ctx: ActivityContext) -> Result<usize, ActivityError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _connection = self.pool.get().await?;
        Ok(self.ledger.lock().await.len())
    }
}

/// Charges a customer with the activity's own defaults.
#[workflow]
pub async fn checkout(ctx: WorkflowContext, customer: String, cents: u64) -> WorkflowResult<String> {
    match ctx.execute_activity(Payments::charge, (customer, cents), ActivityOptions::defaults()).await {
        Ok(receipt) => Ok(receipt),
        Err(ActivityFailure::Failed { failure, .. }) if failure.error_type() == "Declined" => {
            Ok(format!("declined: {}", failure.message()))
        }
        Err(other) => Err(other.into()),
    }
}

/// Counts the charges so far.
#[workflow]
pub async fn audit(ctx: WorkflowContext) -> WorkflowResult<usize> {
    Ok(ctx.execute_activity(Payments::count_charges, (), ActivityOptions::defaults()).await?)
}

/// Registers the example's workflows and the one shared instance.
pub fn register(builder: weft::EngineBuilder, payments: Arc<Payments>) -> weft::EngineBuilder {
    builder.register_workflow(checkout).register_workflow(audit).register_activities(payments)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-shared_activities.db");
    println!("store: {}", store.display());
    let payments = Arc::new(Payments::new(4));
    let engine = register(Engine::builder().sqlite(&store), Arc::clone(&payments)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    let mut handles = Vec::new();
    for i in 0..50_u64 {
        let cents = if i == 7 { 50_000 } else { 100 + i };
        let id = format!("checkout-{run}-{i}");
        handles.push(client.start_workflow(checkout, id, (format!("customer-{i}"), cents)).await?);
    }
    for handle in &handles {
        let receipt = handle.result().await?;
        if receipt.starts_with("declined") {
            println!("{}: {receipt}", handle.workflow_id());
        }
    }
    let charges = client.start_workflow(audit, format!("audit-{run}"), ()).await?.result().await?;
    println!(
        "{} activity calls served by one `Payments` instance; at most {} of its 4 pool connections in use at once",
        payments.calls(),
        payments.peak_connections()
    );
    println!("{charges} charges recorded, {} cents in all", payments.total().await);
    engine.shutdown().await;
    Ok(())
}
