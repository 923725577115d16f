//! A long job, one activity per chunk, whose progress a client queries
//! while it runs, and once more after it completed.
//!
//! A `#[query]` method reads the workflow's state and records nothing: the
//! engine answers from the run's cached state, or rebuilds the state by
//! replaying the history (which is how a closed run answers). A query may
//! take an input too (`chunk`, with `client.query_with`).
//!
//! ```text
//! cargo run -p weft-examples --example job_progress
//! ```

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// The job: how many chunks, and how long each takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInput {
    pub chunks: u32,
    pub chunk_ms: u64,
}

/// How far the job is, as the `progress` query answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u32,
    pub total: u32,
    pub percent: u32,
    /// The chunk being processed now, if any.
    pub current: Option<u32>,
    pub rows: u64,
}

/// Processes one chunk: returns how many rows it held.
#[activity(start_to_close_timeout = "30s")]
pub async fn process_chunk(_ctx: ActivityContext, chunk: u32, millis: u64) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(100 + u64::from(chunk) * 10)
}

/// The job's state, what the queries read.
#[derive(Debug)]
pub struct Job {
    total: u32,
    current: Option<u32>,
    /// Rows of each chunk done, in order.
    rows: Vec<u64>,
}

#[workflow]
impl Job {
    #[init]
    fn new(input: &JobInput) -> Self {
        Job { total: input.chunks, current: None, rows: Vec::new() }
    }

    /// Processes the chunks one after the other; returns the total rows.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, input: JobInput) -> WorkflowResult<u64> {
        for chunk in 0..input.chunks {
            ctx.state_mut(|job| job.current = Some(chunk));
            let rows =
                ctx.execute_activity(process_chunk, (chunk, input.chunk_ms), ActivityOptions::defaults()).await?;
            ctx.state_mut(|job| job.rows.push(rows));
        }
        ctx.state_mut(|job| job.current = None);
        Ok(ctx.state(|job| job.rows.iter().sum()))
    }

    /// How far the job is.
    #[query]
    pub fn progress(&self) -> Progress {
        let done = self.rows.len() as u32;
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        Progress { done, total: self.total, percent, current: self.current, rows: self.rows.iter().sum() }
    }

    /// The rows of chunk `index`, once it is done.
    #[query]
    pub fn chunk(&self, index: usize) -> Option<u64> {
        self.rows.get(index).copied()
    }
}

/// Registers the example's workflow and activity.
pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder.register_workflow(Job::run).register_activity(process_chunk)
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-job_progress.db");
    println!("store: {}", store.display());
    let engine = register(Engine::builder().sqlite(&store)).build().await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    let handle = client.start_workflow(Job::run, format!("job-{run}"), JobInput { chunks: 8, chunk_ms: 250 }).await?;
    println!("{} started: 8 chunks of 250 ms", handle.workflow_id());
    let mut seen = Vec::new();
    loop {
        let progress = client.query(&handle, Job::progress).await?;
        println!(
            "  progress: {}/{} ({}%), working on {:?}, {} rows so far",
            progress.done, progress.total, progress.percent, progress.current, progress.rows
        );
        seen.push(progress.done);
        if progress.done == progress.total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let rows = handle.result().await?;
    println!("=> the job processed {rows} rows");

    // The run has closed: the engine replays its history to answer.
    let progress = client.query(&handle, Job::progress).await?;
    let third = client.query_with(&handle, Job::chunk, 2).await?;
    println!(
        "after the close: {}/{} ({}%), chunk 2 held {third:?} rows",
        progress.done, progress.total, progress.percent
    );

    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress only goes forward: {seen:?}");
    assert!(seen.iter().any(|&d| d > 0 && d < 8), "a query answered mid-job: {seen:?}");
    assert_eq!((progress.done, progress.percent, progress.current, progress.rows), (8, 100, None, rows));
    assert_eq!(third, Some(120));
    let queries_recorded = handle.history().await?.iter().filter(|e| e.event_type().contains("Query")).count();
    println!("events recorded by the {} queries: {queries_recorded}", seen.len() + 2);
    assert_eq!(queries_recorded, 0);
    engine.shutdown().await;
    Ok(())
}
