//! Retry policies: the exact schedule, maximum attempts, non-retryable
//! errors, schedule-to-close ending retries, and what describe shows.

mod common;

use common::{Journal, find, secs};
use weft::history::EventAttributes;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, PendingActivityState, RetryPolicy,
    TimeoutType, WorkflowContext, WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

/// Fails with the given error type until attempt `succeed_on` (0: never).
#[activity]
async fn flaky(ctx: ActivityContext, error_type: String, succeed_on: u32) -> Result<u32, ActivityError> {
    JOURNAL.record(&ctx, ctx.idempotency_key());
    if succeed_on != 0 && ctx.attempt() >= succeed_on {
        return Ok(ctx.attempt());
    }
    let error = ActivityError::new(format!("attempt {} failed", ctx.attempt())).with_type(error_type.clone());
    Err(if error_type == "Fatal" { error.non_retryable() } else { error })
}

#[workflow]
async fn retrying(ctx: WorkflowContext, error_type: String, succeed_on: u32, policy: u8) -> WorkflowResult<String> {
    let options = match policy {
        // 1 s, x2, capped at 5 s, five attempts: delays 1, 2, 4, 5.
        0 => ActivityOptions::start_to_close(secs(10)).retry_policy(
            RetryPolicy::default()
                .initial_interval(secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(secs(5))
                .maximum_attempts(5)
                .non_retryable_error_types(["BadInput"]),
        ),
        // Schedule-to-close 30 s with 10 s, 20 s backoffs.
        1 => ActivityOptions::schedule_to_close(secs(30))
            .retry_policy(RetryPolicy::default().initial_interval(secs(10)).backoff_coefficient(2.0)),
        // A long backoff, to look at with describe.
        _ => ActivityOptions::start_to_close(secs(10))
            .retry_policy(RetryPolicy::default().initial_interval(secs(3600)).maximum_attempts(2)),
    };
    Ok(match ctx.execute_activity(flaky, (error_type, succeed_on), options).await {
        Ok(attempt) => format!("succeeded on attempt {attempt}"),
        Err(ActivityFailure::Failed { attempt, failure, .. }) => format!("failed on attempt {attempt}: {failure}"),
        Err(ActivityFailure::TimedOut { timeout_type, last_failure, .. }) => {
            format!("timed out ({timeout_type}) after: {}", last_failure.map(|f| f.to_string()).unwrap_or_default())
        }
        Err(other) => format!("unexpected: {other}"),
    })
}

async fn env() -> weft::Result<TestEnv> {
    TestEnv::start(Engine::builder().register_workflow(retrying).register_activity(flaky)).await
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_policy_schedule_exactly() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(retrying, "schedule", ("Flaky".to_owned(), 5, 0)).await?;
    assert_eq!(handle.result().await?, "succeeded on attempt 5");
    assert_eq!(JOURNAL.start_offsets("schedule"), [secs(0), secs(1), secs(3), secs(7), secs(12)]);
    let keys: Vec<String> = JOURNAL.entries("schedule").into_iter().map(|e| e.note).collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "the idempotency key is stable: {keys:?}");
    let history = handle.history().await?;
    let started = find(&history, |a| match a {
        EventAttributes::ActivityTaskStarted { attempt, last_failure, started_time, .. } => {
            Some((*attempt, last_failure.clone(), *started_time))
        }
        _ => None,
    });
    let (attempt, last_failure, started_time) = started.expect("started event");
    assert_eq!(attempt, 5);
    assert_eq!(last_failure.expect("last failure").message(), "attempt 4 failed");
    // The fifth attempt's start (12 s after the first's), not the first's.
    assert_eq!(started_time, Some(JOURNAL.entries("schedule")[4].started));
    // The first attempt started with the step that scheduled it; each retry
    // waited in the store for its backoff and was claimed from it.
    let stats = env.engine().worker_stats();
    assert_eq!((stats.activity_attempts_claimed, stats.expired_attempts_claimed), (4, 0), "{stats:?}");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn maximum_attempts_ends_retries() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(retrying, "max", ("Flaky".to_owned(), 0, 0)).await?;
    assert_eq!(handle.result().await?, "failed on attempt 5: Flaky: attempt 5 failed");
    assert_eq!(JOURNAL.entries("max").len(), 5);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_stop_at_once() -> weft::Result<()> {
    let env = env().await?;
    let marked = env.client().start_workflow(retrying, "fatal", ("Fatal".to_owned(), 0, 0)).await?;
    assert_eq!(marked.result().await?, "failed on attempt 1: Fatal: attempt 1 failed");
    assert_eq!(JOURNAL.entries("fatal").len(), 1);
    let by_policy = env.client().start_workflow(retrying, "bad-input", ("BadInput".to_owned(), 0, 0)).await?;
    assert_eq!(by_policy.result().await?, "failed on attempt 1: BadInput: attempt 1 failed");
    assert_eq!(JOURNAL.entries("bad-input").len(), 1);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn schedule_to_close_ends_retries_mid_backoff() -> weft::Result<()> {
    let env = env().await?;
    let t0 = env.now();
    let handle = env.client().start_workflow(retrying, "s2c", ("Flaky".to_owned(), 0, 1)).await?;
    assert_eq!(handle.result().await?, "timed out (schedule-to-close) after: Flaky: attempt 2 failed");
    // Attempt 2 fails at 10 s; the next would start at 30 s, the deadline: no third attempt.
    assert_eq!(JOURNAL.start_offsets("s2c"), [secs(0), secs(10)]);
    assert!(env.now().duration_since(t0).unwrap() < secs(11));
    let history = handle.history().await?;
    let timeout = find(&history, |a| match a {
        EventAttributes::ActivityTaskTimedOut { timeout_type, .. } => Some(*timeout_type),
        _ => None,
    });
    assert_eq!(timeout, Some(TimeoutType::ScheduleToClose));
    // Closed as attempt 2 failed, while it ran: its start is recorded.
    let started = find(&history, |a| match a {
        EventAttributes::ActivityTaskStarted { attempt, started_time, .. } => Some((*attempt, *started_time)),
        _ => None,
    });
    assert_eq!(started, Some((2, Some(JOURNAL.entries("s2c")[1].started))));
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn describe_shows_attempt_next_retry_and_last_failure() -> weft::Result<()> {
    let env = env().await?;
    let client = env.client();
    let handle = client.start_workflow(retrying, "describe", ("Flaky".to_owned(), 2, 2)).await?;
    while JOURNAL.entries("describe").is_empty() {
        tokio::time::sleep(secs(1)).await;
    }
    tokio::time::sleep(secs(1)).await;
    let description = client.describe("describe").await?;
    let [pending] = description.pending_activities.as_slice() else { panic!("{description:?}") };
    assert_eq!(pending.state, PendingActivityState::Backoff);
    assert_eq!(pending.attempt, 1);
    assert_eq!(pending.activity_type, "flaky");
    let next = pending.next_attempt_time.expect("a next attempt time");
    let wait = next.duration_since(pending.scheduled_time).unwrap();
    assert!(wait >= secs(3600) && wait < secs(3601), "{wait:?}");
    assert_eq!(pending.last_failure.as_ref().map(|f| f.message()), Some("attempt 1 failed"));
    assert_eq!(handle.result().await?, "succeeded on attempt 2");
    assert!(client.describe("describe").await?.pending_activities.is_empty());
    env.shutdown().await;
    Ok(())
}
