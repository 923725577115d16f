//! Invalid options are typed errors at the call; stale attempts are fenced;
//! the activity context says who and which attempt is running.

mod common;

use std::time::Duration;

use common::{Journal, secs};
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, RetryPolicy, WorkflowContext,
    WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

#[activity]
async fn echo(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(text)
}

/// Each case is one way to get the options wrong.
fn invalid(case: u8) -> ActivityOptions {
    let ten = secs(10);
    match case {
        0 => ActivityOptions::start_to_close(Duration::ZERO),
        1 => ActivityOptions::start_to_close(ten).retry_policy(RetryPolicy::default().backoff_coefficient(0.5)),
        2 => ActivityOptions::start_to_close(ten).heartbeat_timeout(secs(20)),
        3 => ActivityOptions::start_to_close(ten)
            .retry_policy(RetryPolicy::default().initial_interval(ten).maximum_interval(secs(1))),
        4 => ActivityOptions::start_to_close(Duration::MAX),
        5 => ActivityOptions::schedule_to_close(secs(5)).start_to_close_timeout(ten),
        6 => ActivityOptions::start_to_close(ten).task_queue(""),
        7 => ActivityOptions::start_to_close(ten).retry_policy(RetryPolicy::default().backoff_coefficient(f64::NAN)),
        _ => ActivityOptions::start_to_close(ten).schedule_to_start_timeout(Duration::ZERO),
    }
}

/// Calls `echo` with invalid options and reports the error's variant.
#[workflow]
async fn with_invalid_options(ctx: WorkflowContext, case: u8) -> WorkflowResult<String> {
    Ok(match ctx.execute_activity(echo, "x".to_owned(), invalid(case)).await {
        Err(ActivityFailure::InvalidOptions { source, .. }) => {
            format!("{source:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned()
        }
        other => format!("unexpected: {other:?}"),
    })
}

#[tokio::test(start_paused = true)]
async fn invalid_options_and_policies_are_typed_errors_at_the_call() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(with_invalid_options).register_activity(echo)).await?;
    let expected = [
        "ZeroDuration",
        "InvalidBackoff",
        "HeartbeatExceedsAttempt",
        "MaximumIntervalBelowInitial",
        "DurationTooLarge",
        "ScheduleToCloseBelowStartToClose",
        "InvalidName",
        "InvalidBackoff",
        "ZeroDuration",
    ];
    for (case, expected) in expected.iter().enumerate() {
        let id = format!("invalid-{case}");
        let handle = env.client().start_workflow(with_invalid_options, id, case as u8).await?;
        assert_eq!(handle.result().await?, *expected, "case {case}");
        let scheduled = handle.history().await?.iter().filter(|e| e.event_type() == "ActivityTaskScheduled").count();
        assert_eq!(scheduled, 0, "case {case}: nothing is scheduled");
    }
    env.shutdown().await;
    Ok(())
}

/// Attempt 1 hangs past its start-to-close timeout, leaving behind a task
/// that heartbeats late; attempt 2 answers at once.
#[activity]
async fn slow_then_fast(ctx: ActivityContext) -> Result<String, ActivityError> {
    JOURNAL.record(&ctx, format!("attempt {}", ctx.attempt()));
    if ctx.attempt() == 1 {
        let late = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(secs(10)).await;
            JOURNAL.record(&late, format!("late heartbeat: {:?}", stale_heartbeat(&late)));
        });
        tokio::time::sleep(secs(60)).await;
        return Ok("late".to_owned());
    }
    Ok("fresh".to_owned())
}

/// The late heartbeat of a stale attempt, outside the activity's body: the
/// activity declares no heartbeat timeout on purpose (its attempts time out
/// on start-to-close), which the macro's heartbeat check would refuse.
fn stale_heartbeat(ctx: &ActivityContext) -> Result<(), weft::activity::HeartbeatError> {
    ctx.heartbeat(&"still here")
}

#[workflow]
async fn fenced(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options =
        ActivityOptions::start_to_close(secs(5)).retry_policy(RetryPolicy::default().initial_interval(secs(1)));
    Ok(ctx.execute_activity(slow_then_fast, (), options).await?)
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_fenced() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(fenced).register_activity(slow_then_fast)).await?;
    let handle = env.client().start_workflow(fenced, "fenced", ()).await?;
    assert_eq!(handle.result().await?, "fresh", "the later attempt's result is recorded");
    tokio::time::sleep(secs(15)).await;
    let notes: Vec<String> = JOURNAL.entries("fenced").into_iter().map(|e| e.note).collect();
    assert_eq!(notes, ["attempt 1", "attempt 2", "late heartbeat: Err(StaleTask)"]);
    env.shutdown().await;
    Ok(())
}

/// Reports what its context says, failing its first attempt.
#[activity]
async fn introspect(ctx: ActivityContext) -> Result<Vec<String>, ActivityError> {
    let deadline = ctx.deadline().duration_since(ctx.started_time()).unwrap_or_default();
    let seen = vec![
        ctx.workflow_id().to_owned(),
        ctx.activity_id().to_owned(),
        ctx.activity_type().to_owned(),
        ctx.attempt().to_string(),
        ctx.idempotency_key(),
        format!("{}s", deadline.as_secs()),
        (ctx.run_id() == ctx.idempotency_key().split('/').next().unwrap_or_default()).to_string(),
    ];
    JOURNAL.record(&ctx, seen.join(" "));
    if ctx.attempt() == 1 {
        return Err(ActivityError::new("try again"));
    }
    Ok(seen)
}

#[workflow]
async fn introspecting(ctx: WorkflowContext) -> WorkflowResult<Vec<String>> {
    let options = ActivityOptions::start_to_close(secs(30))
        .activity_id("look-inside")
        .retry_policy(RetryPolicy::default().initial_interval(secs(1)));
    Ok(ctx.execute_activity(introspect, (), options).await?)
}

#[tokio::test(start_paused = true)]
async fn the_context_names_the_attempt_and_keeps_the_idempotency_key() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(introspecting).register_activity(introspect)).await?;
    let handle = env.client().start_workflow(introspecting, "ctx", ()).await?;
    let seen = handle.result().await?;
    let key = format!("{}/look-inside", handle.run_id());
    assert_eq!(seen, ["ctx", "look-inside", "introspect", "2", key.as_str(), "30s", "true"]);
    let notes: Vec<String> = JOURNAL.entries("ctx").into_iter().map(|e| e.note).collect();
    assert_eq!(notes[0], format!("ctx look-inside introspect 1 {key} 30s true"));
    env.shutdown().await;
    Ok(())
}
