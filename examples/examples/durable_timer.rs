//! A durable timer: the workflow sleeps, the engine stops in the middle of
//! the sleep, a new engine opens the same store, and the timer fires once,
//! on time, with the workflow carrying on where it stopped.
//!
//! `ctx.sleep(d)` records `TimerStarted` with its fire time; the timer lives
//! in the store, not in the process, so a restart (or a crash) does not lose
//! or repeat it. `ctx.now()` is the replayed workflow time.
//!
//! ```text
//! cargo run -p weft-examples --example durable_timer
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use weft::history::EventAttributes;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// How many reminders were sent, in this process.
pub static SENT: AtomicU32 = AtomicU32::new(0);

/// Sends a reminder (here: counts it and prints it).
#[activity(start_to_close_timeout = "10s")]
pub async fn send_reminder(_ctx: ActivityContext, to: String, text: String) -> Result<(), ActivityError> {
    SENT.fetch_add(1, Ordering::SeqCst);
    println!("  -> reminder to {to}: {text}");
    Ok(())
}

/// Sleeps `delay_ms` of workflow time, then sends one reminder. Returns how
/// long the workflow saw itself sleep, in milliseconds.
#[workflow]
pub async fn reminder(ctx: WorkflowContext, to: String, delay_ms: u64) -> WorkflowResult<u64> {
    let before = ctx.now();
    ctx.sleep(Duration::from_millis(delay_ms)).await?;
    let slept = ctx.now().duration_since(before).unwrap_or_default();
    let text = format!("it is time ({} ms later)", slept.as_millis());
    ctx.execute_activity(send_reminder, (to, text), ActivityOptions::defaults()).await?;
    Ok(slept.as_millis() as u64)
}

/// Registers the example's workflow and activity.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(reminder).register_activity(send_reminder)
}

/// The engine of this example, on the store at `store`.
pub async fn engine(store: &std::path::Path) -> weft::Result<Engine> {
    register(Engine::builder().sqlite(store)).build().await
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-durable_timer.db");
    println!("store: {}", store.display());
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let id = format!("reminder-{run}");

    let first = engine(&store).await?;
    first.client().start_workflow(reminder, id.clone(), ("ada".to_owned(), 2_000)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let timers = first.client().describe(&id).await?.pending_timers;
    println!("{id} sleeps: {} pending timer(s); stopping the engine mid-sleep", timers.len());
    first.shutdown().await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("a new engine opens the same store");
    let second = engine(&store).await?;
    let handle = second.client().workflow_handle(reminder, &id).await?;
    let slept = handle.result().await?;
    println!("the workflow slept {slept} ms of workflow time and sent {} reminder(s)", SENT.load(Ordering::SeqCst));
    let history = handle.history().await?;
    let fired = history.iter().filter(|e| matches!(e.attributes(), EventAttributes::TimerFired { .. })).count();
    println!("TimerFired events: {fired}");
    for event in &history {
        println!("{event}");
    }
    second.shutdown().await;
    Ok(())
}
