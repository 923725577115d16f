//! Continue-as-new: a workflow that consumes an unbounded stream in batches
//! of 100, continuing as new after each batch so that no history grows past
//! one batch.
//!
//! Each run fetches the next batch after its cursor, processes its records
//! (one activity each), and returns `ctx.continue_as_new(consume, next)`:
//! the run closes as `WorkflowExecutionContinuedAsNew` and a new run of the
//! same workflow id starts with the new cursor and totals, and a fresh
//! history. `handle.result()` on the first run's handle follows the chain to
//! the last run's result. (The stream here never ends; the example stops it
//! after 1,000 records.)
//!
//! ```text
//! cargo run -p weft-examples --example stream_batches
//! ```

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use weft::history::EventAttributes;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// How many records one run takes.
pub const BATCH: u64 = 100;

/// Where the consumer is in the stream, and what it has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The next record to read.
    pub cursor: u64,
    /// Records processed, over every run.
    pub processed: u64,
    /// The sum of their values.
    pub sum: u64,
    /// Stop after this many records (`None`: never).
    pub stop_after: Option<u64>,
}

/// One record of the stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Its offset in the stream.
    pub offset: u64,
    /// Its value.
    pub value: u64,
}

/// Reads up to `limit` records from `cursor` (the stream here: a
/// deterministic sequence without end).
#[activity(start_to_close_timeout = "10s")]
pub async fn fetch_batch(_ctx: ActivityContext, cursor: u64, limit: u64) -> Result<Vec<Record>, ActivityError> {
    Ok((cursor..cursor + limit).map(|offset| Record { offset, value: offset * 7 % 13 }).collect())
}

/// Processes one record (here: returns its value).
#[activity(start_to_close_timeout = "10s")]
pub async fn process(_ctx: ActivityContext, record: Record) -> Result<u64, ActivityError> {
    Ok(record.value)
}

/// Takes one batch, then continues as new with the cursor after it.
#[workflow]
pub async fn consume(ctx: WorkflowContext, progress: Progress) -> WorkflowResult<Progress> {
    let mut progress = progress;
    let limit = match progress.stop_after {
        Some(stop) => BATCH.min(stop.saturating_sub(progress.processed)),
        None => BATCH,
    };
    if limit == 0 {
        return Ok(progress);
    }
    let records = ctx.execute_activity(fetch_batch, (progress.cursor, limit), ActivityOptions::defaults()).await?;
    for record in records {
        progress.cursor = record.offset + 1;
        progress.sum += ctx.execute_activity(process, record, ActivityOptions::defaults()).await?;
        progress.processed += 1;
    }
    ctx.continue_as_new(consume, progress)
}

/// Registers the example's workflow and activities.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(consume).register_activity(fetch_batch).register_activity(process)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-stream_batches.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    let id = format!("stream-{run}");

    let start = Progress { stop_after: Some(1_000), ..Progress::default() };
    let handle = client.start_workflow(consume, id.clone(), start).await?;
    let done = handle.result().await?;
    println!("{id}: {} records, sum {}, cursor {}", done.processed, done.sum, done.cursor);

    // Walk the chain from the first run: each run's history holds one batch.
    let mut run_id = handle.run_id().to_owned();
    let mut runs = 0;
    loop {
        let history = client.workflow_handle_for_run(consume, &id, &run_id).await?.history().await?;
        runs += 1;
        let last = history.last().map(|e| e.attributes().clone());
        println!(
            "  run {runs:>2} {run_id}: {:>3} events, ends with {}",
            history.len(),
            history.last().map_or("-", |e| e.event_type())
        );
        match last {
            Some(EventAttributes::WorkflowExecutionContinuedAsNew { new_run_id, .. }) => run_id = new_run_id,
            _ => break,
        }
    }
    println!("{runs} runs in the chain; the longest history is one batch, not the whole stream");
    engine.shutdown().await;
    Ok(())
}
