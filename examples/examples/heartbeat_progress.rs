//! A long activity that records its progress with heartbeats, fails partway,
//! and resumes from its last heartbeat on the next attempt.
//!
//! ```text
//! cargo run -p weft-examples --example heartbeat_progress
//! ```

use std::time::{Duration, SystemTime};

use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// Processes items `0..count`, heartbeating the next item to do. Attempt 1
/// fails at item 6, as if the machine it ran on went away.
#[activity(start_to_close_timeout = "30s", heartbeat_timeout = "2s", retry(initial_interval = "200ms"))]
pub async fn process_items(ctx: ActivityContext, count: u32) -> Result<u32, ActivityError> {
    let start = ctx.last_heartbeat_details::<u32>().transpose()?.unwrap_or(0);
    println!("  attempt {} starts at item {start}", ctx.attempt());
    let mut processed = 0;
    for item in start..count {
        if ctx.attempt() == 1 && item == 6 {
            println!("  attempt 1 fails at item {item}");
            return Err(ActivityError::new("lost the connection to the item store"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        processed += 1;
        println!("    processed item {item}");
        ctx.heartbeat(&(item + 1))?;
    }
    Ok(processed)
}

#[workflow]
pub async fn batch(ctx: WorkflowContext, count: u32) -> WorkflowResult<u32> {
    // The activity's attribute holds its options: timeouts, heartbeat, retry.
    Ok(ctx.execute_activity(process_items, count, ActivityOptions::defaults()).await?)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-heartbeat_progress.db");
    println!("store: {}", store.display());
    let engine =
        Engine::builder().sqlite(&store).register_workflow(batch).register_activity(process_items).build().await?;
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let handle = engine.client().start_workflow(batch, format!("batch-{run}"), 10).await?;
    let processed = handle.result().await?;
    println!("the last attempt processed {processed} items: it resumed where the first stopped");
    for event in handle.history().await? {
        println!("{event}");
    }
    engine.shutdown().await;
    Ok(())
}
