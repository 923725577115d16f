//! A worker process of the scale-out test: it runs the `three_steps`
//! workflow and its `step` activity on a PostgreSQL store until it is
//! killed. Every activity attempt appends `workflow activity attempt pid`
//! to a witness file before it returns.
//!
//! The network test's `one_slow_step` workflow and the messages test's
//! `Mailbox` run here too.
//!
//! Usage: `scale_worker URL SCHEMA WITNESS`

use std::io::Write;
use std::time::Duration;

use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, RetryPolicy, WorkflowContext, WorkflowResult, activity,
    workflow,
};

/// Every activity may run at most this many attempts (the test checks it).
pub const MAX_ATTEMPTS: u32 = 20;

#[activity]
async fn step(ctx: ActivityContext, workflow: u32, index: u32, witness: String) -> Result<u32, ActivityError> {
    // Vary the work so that kills land in every phase.
    let pause = 5 + (workflow * 7 + index * 13 + ctx.attempt() * 31) % 40;
    tokio::time::sleep(Duration::from_millis(u64::from(pause))).await;
    let line = format!("{} {} {} {}\n", ctx.workflow_id(), ctx.activity_id(), ctx.attempt(), std::process::id());
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&witness)?;
    file.write_all(line.as_bytes())?;
    Ok(workflow * 10 + index)
}

/// Works for `ms` milliseconds, heartbeating every 100 ms; appends
/// `workflow activity attempt pid start` to the witness file when it starts.
/// Returns `pid:attempt`: which process and attempt produced the result.
#[activity(heartbeat_timeout = "1s")]
async fn slow_step(ctx: ActivityContext, ms: u64, witness: String) -> Result<String, ActivityError> {
    let mark = |what: &str| -> std::io::Result<()> {
        let line =
            format!("{} {} {} {} {what}\n", ctx.workflow_id(), ctx.activity_id(), ctx.attempt(), std::process::id());
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(format!("{witness}.marks"))?
            .write_all(line.as_bytes())
    };
    mark("start")?;
    for _ in 0..ms / 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Refused while the database is out of reach: the attempt goes on.
        let _ = ctx.heartbeat(&());
    }
    mark("end")?;
    Ok(format!("{}:{}", std::process::id(), ctx.attempt()))
}

/// One slow step with a 1 s heartbeat timeout.
#[workflow]
async fn one_slow_step(ctx: WorkflowContext, ms: u64, witness: String) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(60))
        .heartbeat_timeout(Duration::from_secs(1))
        .retry_policy(
            RetryPolicy::default().initial_interval(Duration::from_millis(10)).maximum_attempts(MAX_ATTEMPTS),
        );
    Ok(ctx.execute_activity(slow_step, (ms, witness), options).await?)
}

/// Three steps, then a 100 ms durable timer.
#[workflow]
async fn three_steps(ctx: WorkflowContext, n: u32, witness: String) -> WorkflowResult<u32> {
    // A killed worker's attempt is retried once its 2 s start-to-close passes.
    let options = ActivityOptions::start_to_close(Duration::from_secs(2)).retry_policy(
        RetryPolicy::default().initial_interval(Duration::from_millis(10)).maximum_attempts(MAX_ATTEMPTS),
    );
    let mut sum = 0;
    for index in 0..3 {
        sum += ctx.execute_activity(step, (n, index, witness.clone()), options.clone()).await?;
    }
    ctx.sleep(Duration::from_millis(100)).await?;
    Ok(sum)
}

/// Counts the signals it gets until `expected`; then tells workflow `notify` it is done.
#[derive(Debug, Default)]
pub struct Mailbox {
    letters: u32,
}

#[workflow]
impl Mailbox {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, expected: u32, notify: String) -> WorkflowResult<u32> {
        ctx.wait_condition(move |s| s.letters >= expected).await?;
        ctx.signal_external(notify, Mailbox::letter, 0).await?;
        Ok(ctx.state(|s| s.letters))
    }

    #[signal]
    pub fn letter(&mut self, _n: u32) {
        self.letters += 1;
    }

    #[query]
    pub fn letters(&self) -> u32 {
        self.letters
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(schema), Some(_witness)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: scale_worker URL SCHEMA WITNESS".into());
    };
    // `RUST_LOG=weft=debug` shows, among others, the stale completions the store refused.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let engine = Engine::builder()
        .postgres(url)
        .postgres_schema(schema)
        .lease(Duration::from_secs(1))
        .register_workflow(three_steps)
        .register_activity(step)
        .register_workflow(one_slow_step)
        .register_activity(slow_step)
        .register_workflow(Mailbox::run)
        // Work reaches it by notification; polling would take this long.
        .poll_interval(Duration::from_secs(60))
        .build()
        .await?;
    println!("worker ready");
    // Runs until killed (or its stdin closes: the test ended).
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    engine.shutdown().await;
    Ok(())
}
