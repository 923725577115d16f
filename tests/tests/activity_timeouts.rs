//! Each of the four timeouts fires with Temporal's meaning; on virtual time.

mod common;

use std::time::Duration;

use common::{Journal, event_types, find, secs};
use weft::history::EventAttributes;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, RetryPolicy, TimeoutType,
    WorkflowContext, WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

/// Sleeps for the given time, then answers.
#[activity]
async fn nap(ctx: ActivityContext, seconds: u64) -> Result<u64, ActivityError> {
    JOURNAL.record(&ctx, "nap");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    Ok(seconds)
}

/// Heartbeats `beats` times, a second apart, then hangs.
#[activity(heartbeat_timeout = "5s")]
async fn beat_then_hang(ctx: ActivityContext, beats: u32) -> Result<(), ActivityError> {
    let from = ctx.last_heartbeat_details::<u32>().transpose()?.unwrap_or(0);
    JOURNAL.record(&ctx, format!("from {from}"));
    for i in from..beats {
        tokio::time::sleep(secs(1)).await;
        ctx.heartbeat(&(i + 1))?;
    }
    std::future::pending().await
}

/// How a call to an activity ended, as a string the tests compare.
fn outcome<T: std::fmt::Debug>(r: Result<T, ActivityFailure>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(ActivityFailure::TimedOut { timeout_type, .. }) => format!("timed out: {timeout_type}"),
        Err(e) => format!("error: {e}"),
    }
}

#[workflow]
async fn nap_with(ctx: WorkflowContext, seconds: u64, options: u8) -> WorkflowResult<String> {
    let options = match options {
        0 => ActivityOptions::start_to_close(secs(10)).retry_policy(RetryPolicy::default().maximum_attempts(3)),
        1 => ActivityOptions::start_to_close(secs(60)).schedule_to_close_timeout(secs(90)),
        _ => unreachable!(),
    };
    Ok(outcome(ctx.execute_activity(nap, seconds, options).await))
}

/// Two naps on one slot: the second waits in the queue past its schedule-to-start timeout.
#[workflow]
async fn queued(ctx: WorkflowContext) -> WorkflowResult<(String, String)> {
    let long = ctx.start_activity(nap, 3600, ActivityOptions::start_to_close(secs(7200)));
    let short =
        ctx.start_activity(nap, 1, ActivityOptions::start_to_close(secs(10)).schedule_to_start_timeout(secs(30)));
    let short = outcome(short.await);
    Ok((short, outcome(long.await)))
}

#[workflow]
async fn heartbeats(ctx: WorkflowContext, beats: u32) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(secs(3600))
        .heartbeat_timeout(secs(5))
        .retry_policy(RetryPolicy::default().maximum_attempts(2));
    Ok(outcome(ctx.execute_activity(beat_then_hang, beats, options).await))
}

async fn env() -> weft::Result<TestEnv> {
    TestEnv::start(
        Engine::builder()
            .max_concurrent_activities(1)
            .register_workflow(nap_with)
            .register_workflow(queued)
            .register_workflow(heartbeats)
            .register_activity(nap)
            .register_activity(beat_then_hang),
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn start_to_close_times_out_each_attempt_and_retries() -> weft::Result<()> {
    let env = env().await?;
    let t0 = env.now();
    let handle = env.client().start_workflow(nap_with, "stc", (3600, 0)).await?;
    assert_eq!(handle.result().await?, "timed out: start-to-close");
    // Attempts at 0, then 10 s timeout + 1 s backoff, then 10 s + 2 s.
    assert_eq!(JOURNAL.start_offsets("stc"), [secs(0), secs(11), secs(23)]);
    let elapsed = env.now().duration_since(t0).unwrap();
    assert!(elapsed >= secs(33) && elapsed < secs(34), "{elapsed:?}");
    let history = handle.history().await?;
    assert_eq!(
        event_types(&history),
        [
            "WorkflowExecutionStarted",
            "ActivityTaskScheduled",
            "ActivityTaskStarted",
            "ActivityTaskTimedOut",
            "WorkflowExecutionCompleted"
        ],
        "retries add no events"
    );
    let attempt = find(&history, |a| match a {
        EventAttributes::ActivityTaskStarted { attempt, .. } => Some(*attempt),
        _ => None,
    });
    assert_eq!(attempt, Some(3));
    // Written with the timeout, 10 s after the third attempt started: the
    // event's time is the close's, its `started_time` the attempt's start.
    let third = JOURNAL.entries("stc")[2].started;
    let started = history.iter().find(|e| e.event_type() == "ActivityTaskStarted").unwrap();
    let EventAttributes::ActivityTaskStarted { started_time, .. } = started.attributes() else { unreachable!() };
    assert_eq!(*started_time, Some(third), "the closing attempt's start");
    assert_eq!(started.timestamp().duration_since(third).unwrap(), secs(10));
    assert_eq!(started.timestamp(), history[3].timestamp(), "recorded with the timeout");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn schedule_to_close_bounds_a_running_attempt() -> weft::Result<()> {
    let env = env().await?;
    let t0 = env.now();
    // start-to-close 60 s would allow the attempt; schedule-to-close 90 s
    // leaves the second attempt 29 s: it is cut at 90 s and not retried.
    let handle = env.client().start_workflow(nap_with, "s2c", (70, 1)).await?;
    assert_eq!(handle.result().await?, "timed out: schedule-to-close");
    assert_eq!(JOURNAL.start_offsets("s2c"), [secs(0), secs(61)]);
    let elapsed = env.now().duration_since(t0).unwrap();
    assert!(elapsed >= secs(90) && elapsed < secs(91), "{elapsed:?}");
    // The timeout cut a running attempt: its start is recorded.
    let started_time = find(&handle.history().await?, |a| match a {
        EventAttributes::ActivityTaskStarted { attempt, started_time, .. } => Some((*attempt, *started_time)),
        _ => None,
    });
    assert_eq!(started_time, Some((2, Some(JOURNAL.entries("s2c")[1].started))));
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn schedule_to_start_fires_in_the_queue_and_is_not_retried() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(queued, "s2s", ()).await?;
    let (short, long) = handle.result().await?;
    assert_eq!(short, "timed out: schedule-to-start");
    assert_eq!(long, "ok 3600");
    let naps = JOURNAL.entries("s2s");
    assert_eq!(naps.len(), 1, "the queued activity never started: {naps:?}");
    let timed_out = find(&handle.history().await?, |a| match a {
        EventAttributes::ActivityTaskTimedOut { timeout_type, .. } => Some(*timeout_type),
        _ => None,
    });
    assert_eq!(timed_out, Some(TimeoutType::ScheduleToStart));
    // Only the long nap started: the short one has no `ActivityTaskStarted`.
    let history = handle.history().await?;
    let started: Vec<_> = history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::ActivityTaskStarted { started_time, .. } => Some(*started_time),
            _ => None,
        })
        .collect();
    assert_eq!(started, [Some(naps[0].started)]);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn heartbeat_timeout_fires_on_a_stuck_attempt_and_the_next_resumes() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(heartbeats, "hb", 3).await?;
    assert_eq!(handle.result().await?, "timed out: heartbeat");
    // Attempt 1 beats at 1, 2, 3 s and is stuck: timed out at 8 s, retried at 9 s.
    // Attempt 2 resumes from beat 3 and, with nothing left to do, hangs at once.
    assert_eq!(JOURNAL.start_offsets("hb"), [secs(0), secs(9)]);
    let notes: Vec<String> = JOURNAL.entries("hb").into_iter().map(|e| e.note).collect();
    assert_eq!(notes, ["from 0", "from 3"]);
    env.shutdown().await;
    Ok(())
}
