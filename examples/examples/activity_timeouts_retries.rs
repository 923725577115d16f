//! Each activity timeout on a real activity, with the retry policy at work.
//!
//! Temporal requires a start-to-close or a schedule-to-close timeout on every
//! activity call; weft's `ActivityOptions` cannot be built without one. This
//! example sets each of the four timeouts and prints what happens:
//!
//! ```text
//! cargo run -p weft-examples --example activity_timeouts_retries
//! ```

use std::time::{Duration, Instant, SystemTime};

use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, RetryPolicy, WorkflowContext,
    WorkflowResult, activity, workflow,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Hangs on its first attempts, answers on attempt `answer_on`.
#[activity]
pub async fn hangs_at_first(ctx: ActivityContext, answer_on: u32) -> Result<String, ActivityError> {
    println!("    attempt {} of `hangs_at_first` started", ctx.attempt());
    if ctx.attempt() < answer_on {
        std::future::pending::<()>().await;
    }
    Ok(format!("answered on attempt {}", ctx.attempt()))
}

/// Always fails, quickly.
#[activity]
pub async fn always_fails(ctx: ActivityContext) -> Result<(), ActivityError> {
    println!("    attempt {} of `always_fails` started", ctx.attempt());
    Err(ActivityError::new("the service is down").with_type("Unavailable"))
}

/// Takes `millis` to finish.
#[activity]
pub async fn takes(ctx: ActivityContext, millis: u64) -> Result<u64, ActivityError> {
    println!("    attempt {} of `takes({millis})` started", ctx.attempt());
    tokio::time::sleep(ms(millis)).await;
    Ok(millis)
}

/// Heartbeats three times, then goes quiet.
#[activity(heartbeat_timeout = "300ms")]
pub async fn goes_quiet(ctx: ActivityContext) -> Result<(), ActivityError> {
    println!("    attempt {} of `goes_quiet` started", ctx.attempt());
    for beat in 1..=3 {
        tokio::time::sleep(ms(100)).await;
        ctx.heartbeat(&beat)?;
        println!("      heartbeat {beat}");
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

fn outcome<T: std::fmt::Debug>(result: Result<T, ActivityFailure>) -> String {
    match result {
        Ok(value) => format!("completed: {value:?}"),
        Err(ActivityFailure::TimedOut { timeout_type, last_failure, .. }) => match last_failure {
            Some(failure) => format!("timed out ({timeout_type}); last failure: {failure}"),
            None => format!("timed out ({timeout_type})"),
        },
        Err(other) => format!("failed: {other}"),
    }
}

/// Start-to-close bounds each attempt; a timed-out attempt is retried.
#[workflow]
pub async fn start_to_close(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options =
        ActivityOptions::start_to_close(ms(200)).retry_policy(RetryPolicy::default().initial_interval(ms(100)));
    Ok(outcome(ctx.execute_activity(hangs_at_first, 3, options).await))
}

/// Schedule-to-close bounds all attempts together: it ends the retries.
#[workflow]
pub async fn schedule_to_close(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options = ActivityOptions::schedule_to_close(ms(1000))
        .retry_policy(RetryPolicy::default().initial_interval(ms(300)).backoff_coefficient(2.0));
    Ok(outcome(ctx.execute_activity(always_fails, (), options).await))
}

/// Schedule-to-start bounds the wait in the queue: the engine runs one
/// activity at a time, and a long one holds the slot.
#[workflow]
pub async fn schedule_to_start(ctx: WorkflowContext) -> WorkflowResult<String> {
    let long = ctx.start_activity(takes, 1500, ActivityOptions::start_to_close(ms(5000)));
    let queued =
        ctx.start_activity(takes, 10, ActivityOptions::start_to_close(ms(5000)).schedule_to_start_timeout(ms(300)));
    let asked = ctx.now();
    let queued = outcome(queued.await);
    let waited = ctx.now().duration_since(asked).unwrap_or_default();
    long.await?;
    Ok(format!("{queued}, {waited:?} after it was scheduled"))
}

/// The heartbeat timeout bounds the silence between two heartbeats.
#[workflow]
pub async fn heartbeat(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(ms(10_000))
        .heartbeat_timeout(ms(300))
        .retry_policy(RetryPolicy::default().maximum_attempts(1));
    Ok(outcome(ctx.execute_activity(goes_quiet, (), options).await))
}

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-activity_timeouts_retries.db");
    println!("store: {}", store.display());
    let engine = Engine::builder()
        .sqlite(&store)
        .max_concurrent_activities(1)
        .register_workflow(start_to_close)
        .register_workflow(schedule_to_close)
        .register_workflow(schedule_to_start)
        .register_workflow(heartbeat)
        .register_activity(hangs_at_first)
        .register_activity(always_fails)
        .register_activity(takes)
        .register_activity(goes_quiet)
        .build()
        .await?;
    let client = engine.client();
    let run = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();

    println!("\nstart-to-close 200 ms, retries every 100 ms x2; the activity hangs on attempts 1 and 2:");
    let began = Instant::now();
    let stc = client.start_workflow(start_to_close, format!("stc-{run}"), ()).await?;
    println!("  => {} after {:?}", stc.result().await?, began.elapsed());

    println!("\nschedule-to-close 1 s, retries after 300 ms, 600 ms, ...; the activity always fails:");
    let began = Instant::now();
    let s2c = client.start_workflow(schedule_to_close, format!("s2c-{run}"), ()).await?;
    println!("  => {} after {:?}", s2c.result().await?, began.elapsed());

    println!("\nschedule-to-start 300 ms, while a 1.5 s activity holds the only slot:");
    let began = Instant::now();
    let s2s = client.start_workflow(schedule_to_start, format!("s2s-{run}"), ()).await?;
    println!("  => {} after {:?}", s2s.result().await?, began.elapsed());

    println!("\nheartbeat timeout 300 ms, one attempt; the activity stops heartbeating:");
    let began = Instant::now();
    let hb = client.start_workflow(heartbeat, format!("hb-{run}"), ()).await?;
    println!("  => {} after {:?}", hb.result().await?, began.elapsed());

    println!(
        "\nthe history of the start-to-close workflow (retries add no events; the attempt is on ActivityTaskStarted):"
    );
    for event in stc.history().await? {
        println!("{event}");
    }
    engine.shutdown().await;
    Ok(())
}
