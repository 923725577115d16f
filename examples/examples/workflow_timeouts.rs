//! Workflow timeouts: a run timeout ends one run that takes too long, and
//! an execution timeout bounds a whole continue-as-new chain.
//!
//! Both are set at start with `WorkflowOptions`. Past them the run closes as
//! `WorkflowExecutionTimedOut` without running its code further: its pending
//! activities and timers are cancelled, and `handle.result()` returns
//! `Error::WorkflowTimedOut` naming the timeout. Each run of a chain gets
//! the whole run timeout; the execution timeout counts from the first start.
//!
//! ```text
//! cargo run -p weft-examples --example workflow_timeouts
//! ```

use std::time::{Duration, SystemTime};

use weft::{Engine, Error, WorkflowContext, WorkflowOptions, WorkflowResult, workflow};

/// Waits for a reply that never comes: `wait_ms` per run, `runs` runs.
#[workflow]
pub async fn poll_for_reply(ctx: WorkflowContext, runs: u32, wait_ms: u64) -> WorkflowResult<String> {
    ctx.sleep(Duration::from_millis(wait_ms)).await?;
    if runs > 1 {
        return ctx.continue_as_new(poll_for_reply, (runs - 1, wait_ms));
    }
    Ok("no reply, gave up".to_owned())
}

/// Registers the example's workflow.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(poll_for_reply)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-workflow_timeouts.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    // One run of 2 s under a run timeout of 300 ms.
    let id = format!("slow-{run}");
    let options = WorkflowOptions::new(&id).run_timeout(Duration::from_millis(300));
    let handle = client.start_workflow_with(poll_for_reply, options, (1, 2_000)).await?;
    if let Some(at) = client.describe(&id).await?.timeout_at {
        let within = at.duration_since(SystemTime::now()).unwrap_or_default();
        println!("{id} times out within {} ms", within.as_millis());
    }
    match handle.result().await {
        Err(e @ Error::WorkflowTimedOut { .. }) => println!("{e}"),
        other => println!("unexpected: {other:?}"),
    }

    // Runs of 200 ms, each well inside the run timeout, but 10 of them do
    // not fit in the execution timeout of 700 ms.
    let id = format!("chain-{run}");
    let options =
        WorkflowOptions::new(&id).run_timeout(Duration::from_millis(300)).execution_timeout(Duration::from_millis(700));
    let handle = client.start_workflow_with(poll_for_reply, options, (10, 200)).await?;
    match handle.result().await {
        Err(e @ Error::WorkflowTimedOut { .. }) => println!("{e}"),
        other => println!("unexpected: {other:?}"),
    }
    let last = client.describe(&id).await?;
    println!("the chain's last run {} is {}", last.run_id, last.status);
    engine.shutdown().await;
    Ok(())
}
