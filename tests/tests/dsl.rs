//! The DSL at run time: attribute defaults and how calls override them, a
//! shared `#[activities]` instance under concurrent calls, and a durable timer
//! across an engine restart. All on virtual time.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::examples::{durable_timer, shared_activities};
use common::{Journal, find, secs};
use weft::history::EventAttributes;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, RetryPolicy, TimeoutType,
    WorkflowContext, WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

/// Always fails; its attribute allows three attempts, a second apart.
#[activity(
    start_to_close_timeout = "10s",
    schedule_to_start_timeout = "1h",
    retry(initial_interval = "1s", backoff = 1.0, maximum_attempts = 3),
    task_queue = "flaky-queue"
)]
async fn always_fails(ctx: ActivityContext) -> Result<(), ActivityError> {
    JOURNAL.record(&ctx, "attempt");
    Err(ActivityError::new(format!("attempt {} failed", ctx.attempt())))
}

/// Heartbeats once, then hangs: only its attribute's heartbeat timeout ends the attempt.
#[activity(heartbeat_timeout = "2s")]
async fn goes_quiet(ctx: ActivityContext) -> Result<(), ActivityError> {
    ctx.heartbeat(&1)?;
    std::future::pending().await
}

#[workflow]
async fn defaults(ctx: WorkflowContext, case: u8) -> WorkflowResult<String> {
    let result = match case {
        // The attribute's options as they are.
        0 => ctx.execute_activity(always_fails, (), ActivityOptions::defaults()).await,
        // One field overridden; the others stay the attribute's.
        1 => {
            ctx.execute_activity(always_fails, (), ActivityOptions::defaults().retry_policy(RetryPolicy::no_retries()))
                .await
        }
        // A call's own timeout: the attribute still fills what the call leaves unset.
        2 => ctx.execute_activity(always_fails, (), ActivityOptions::start_to_close(secs(30))).await,
        // The heartbeat timeout comes from the attribute.
        _ => {
            let options = ActivityOptions::start_to_close(secs(60)).retry_policy(RetryPolicy::no_retries());
            ctx.execute_activity(goes_quiet, (), options).await
        }
    };
    Ok(match result {
        Ok(()) => "ok".to_owned(),
        Err(ActivityFailure::Failed { attempt, .. }) => format!("failed on attempt {attempt}"),
        Err(ActivityFailure::TimedOut { timeout_type: TimeoutType::Heartbeat, .. }) => "heartbeat timeout".to_owned(),
        Err(other) => format!("unexpected: {other}"),
    })
}

#[tokio::test(start_paused = true)]
async fn attribute_defaults_apply_and_calls_override_them_field_by_field() -> weft::Result<()> {
    // The attribute routes `always_fails` to `flaky-queue`: this engine's worker polls it too.
    let env = TestEnv::start(
        Engine::builder()
            .task_queue(weft::DEFAULT_TASK_QUEUE)
            .task_queue("flaky-queue")
            .register_workflow(defaults)
            .register_activity(always_fails)
            .register_activity(goes_quiet),
    )
    .await?;
    let client = env.client();
    let expected = ["failed on attempt 3", "failed on attempt 1", "failed on attempt 3", "heartbeat timeout"];
    for (case, expected) in expected.into_iter().enumerate() {
        let id = format!("defaults-{case}");
        let handle = client.start_workflow(defaults, id.as_str(), case as u8).await?;
        assert_eq!(handle.result().await?, expected, "{id}");
        let options = find(&handle.history().await?, |a| match a {
            EventAttributes::ActivityTaskScheduled { options, .. } => Some(options.clone()),
            _ => None,
        })
        .expect("scheduled");
        match case {
            0 | 1 => {
                assert_eq!(options.timeouts().start_to_close, Some(secs(10)), "{id}");
                assert_eq!(options.timeouts().schedule_to_start, Some(secs(3600)), "{id}");
                assert_eq!(options.queue(), Some("flaky-queue"), "{id}");
                let attempts = if case == 0 { 3 } else { 1 };
                assert_eq!(options.retry().attempts(), attempts, "{id}");
            }
            2 => {
                assert_eq!(options.timeouts().start_to_close, Some(secs(30)), "the call's timeout wins");
                assert_eq!(options.queue(), Some("flaky-queue"), "the attribute fills the rest");
                assert_eq!(options.retry().attempts(), 3);
            }
            _ => assert_eq!(options.timeouts().heartbeat, Some(secs(2)), "{id}"),
        }
    }
    // Attempts a second apart, as the attribute's retry policy says.
    assert_eq!(JOURNAL.start_offsets("defaults-0"), vec![secs(0), secs(1), secs(2)]);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn one_shared_instance_serves_concurrent_calls() -> weft::Result<()> {
    let payments = Arc::new(shared_activities::Payments::new(4));
    let builder = shared_activities::register(Engine::builder(), Arc::clone(&payments));
    let env = TestEnv::start(builder).await?;
    let client = env.client();
    let mut handles = Vec::new();
    for i in 0..50_u64 {
        let cents = if i == 7 { 50_000 } else { 100 };
        handles.push(
            client.start_workflow(shared_activities::checkout, format!("co-{i}"), (format!("c{i}"), cents)).await?,
        );
    }
    let mut declined = 0;
    for handle in &handles {
        let receipt = handle.result().await?;
        if receipt.starts_with("declined") {
            declined += 1;
        } else {
            assert!(receipt.starts_with("receipt "), "{receipt}");
        }
    }
    assert_eq!(declined, 1, "the over-limit charge is declined, and not retried");
    assert_eq!(payments.calls(), 50, "every call went to the one registered instance");
    assert_eq!(payments.peak_connections(), 4, "the calls ran concurrently, bounded by the shared pool");
    assert_eq!(payments.total().await, 49 * 100);
    let charges = client.start_workflow(shared_activities::audit, "audit", ()).await?.result().await?;
    assert_eq!(charges, 49, "the `self: Arc<Self>` method sees the same state");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_durable_timer_survives_a_restart_mid_sleep_and_fires_once() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("timer.db");
    let hour = 3_600_000;

    let first = TestEnv::start_on_file(durable_timer::register(Engine::builder()), &store).await?;
    let handle = first.client().start_workflow(durable_timer::reminder, "nap", ("ada".to_owned(), hour)).await?;
    let run_id = handle.run_id().to_owned();
    tokio::time::sleep(Duration::from_secs(600)).await;
    let timers = first.client().describe("nap").await?.pending_timers;
    assert_eq!(timers.len(), 1, "the timer is pending, ten minutes into its hour");
    first.shutdown().await;
    assert_eq!(durable_timer::SENT.load(Ordering::SeqCst), 0);

    // Twenty minutes later, a new engine opens the same store.
    tokio::time::sleep(Duration::from_secs(1_200)).await;
    let second = TestEnv::start_on_file(durable_timer::register(Engine::builder()), &store).await?;
    let handle = second.client().workflow_handle(durable_timer::reminder, "nap").await?;
    assert_eq!(handle.run_id(), run_id);
    let slept = handle.result().await?;
    assert!((hour..hour + 1_000).contains(&slept), "the workflow saw itself sleep {slept} ms, not an hour");
    assert_eq!(durable_timer::SENT.load(Ordering::SeqCst), 1, "one reminder");
    let history = handle.history().await?;
    let count = |f: fn(&EventAttributes) -> bool| history.iter().filter(|e| f(e.attributes())).count();
    assert_eq!(count(|a| matches!(a, EventAttributes::TimerStarted { .. })), 1);
    assert_eq!(count(|a| matches!(a, EventAttributes::TimerFired { .. })), 1);
    second.shutdown().await;
    Ok(())
}
