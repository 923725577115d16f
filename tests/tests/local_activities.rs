//! Local activities: run in the workflow step, recorded once as a marker;
//! retries, timeouts, replay (cache on and off), non-determinism, ordering
//! among other events, cancellation, and a step longer than its lease.

mod common;

use std::time::Duration;

use common::{Journal, event_types, secs};
use futures_lite::future::zip;
use weft::history::{EventAttributes, HistoryEvent, LocalActivityOutcome, Marker};
use weft::testing::{Replayer, TestEnv};
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, CancellationType, Engine, Error, RetryPolicy,
    TimeoutType, WorkflowContext, WorkflowResult, activity, workflow,
};

static JOURNAL: Journal = Journal::new();

#[activity]
async fn double(ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
    JOURNAL.record(&ctx, "double");
    Ok(n * 2)
}

#[activity]
async fn shout(ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    JOURNAL.record(&ctx, "shout");
    Ok(text.to_uppercase())
}

/// Fails with `error_type` until attempt `succeed_on` (0: never).
#[activity]
async fn flaky(ctx: ActivityContext, error_type: String, succeed_on: u32) -> Result<u32, ActivityError> {
    JOURNAL.record(&ctx, "flaky");
    if succeed_on != 0 && ctx.attempt() >= succeed_on {
        return Ok(ctx.attempt());
    }
    let error = ActivityError::new(format!("attempt {} failed", ctx.attempt())).with_type(error_type.clone());
    Err(if error_type == "Fatal" { error.non_retryable() } else { error })
}

/// Sleeps `secs` seconds (of engine time), or until cancelled (then fails).
#[activity]
async fn nap(ctx: ActivityContext, secs: u64) -> Result<u64, ActivityError> {
    JOURNAL.record(&ctx, "nap");
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(secs)) => Ok(secs),
        () = ctx.cancelled() => {
            JOURNAL.record(&ctx, "nap saw cancel");
            Err(ActivityError::new("cancelled"))
        }
    }
}

/// Registered nowhere.
#[activity]
async fn unregistered(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn quick() -> ActivityOptions {
    ActivityOptions::start_to_close(secs(5))
}

#[workflow]
async fn local_double(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
    // The result type is the stub's output type.
    let twice: u64 = ctx.execute_local_activity(double, n, quick()).await?;
    Ok(twice)
}

/// Runs `flaky` as a local activity under one of several policies; reports how it ended.
#[workflow]
async fn local_retrying(
    ctx: WorkflowContext,
    error_type: String,
    succeed_on: u32,
    policy: u8,
) -> WorkflowResult<String> {
    let options = match policy {
        // 1 s, x2, five attempts: delays 1, 2, 4, 8.
        0 => ActivityOptions::start_to_close(secs(10)).retry_policy(
            RetryPolicy::default()
                .initial_interval(secs(1))
                .maximum_attempts(5)
                .non_retryable_error_types(["BadInput"]),
        ),
        // Schedule-to-close 5 s with 2 s, 4 s backoffs: the second retry would start after it.
        _ => ActivityOptions::schedule_to_close(secs(5)).retry_policy(RetryPolicy::default().initial_interval(secs(2))),
    };
    Ok(describe(ctx.execute_local_activity(flaky, (error_type, succeed_on), options).await))
}

/// `nap` as a local activity with a start-to-close (`policy` 0) or schedule-to-close timeout.
#[workflow]
async fn local_timeout(ctx: WorkflowContext, nap_secs: u64, policy: u8) -> WorkflowResult<String> {
    let options = match policy {
        0 => ActivityOptions::start_to_close(secs(2)).retry_policy(RetryPolicy::default().maximum_attempts(3)),
        _ => ActivityOptions::schedule_to_close(secs(5)),
    };
    Ok(describe(ctx.execute_local_activity(nap, nap_secs, options).await))
}

#[workflow]
async fn calls_unregistered(ctx: WorkflowContext) -> WorkflowResult<String> {
    Ok(describe(ctx.execute_local_activity(unregistered, (), quick()).await.map(|()| 0)))
}

fn describe<T: std::fmt::Debug>(result: Result<T, ActivityFailure>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(ActivityFailure::Failed { attempt, retry_state, failure, .. }) => {
            format!("failed on attempt {attempt} ({retry_state}): {failure}")
        }
        Err(ActivityFailure::TimedOut { timeout_type, last_failure, .. }) => {
            format!("timed out ({timeout_type}) after: {}", last_failure.map(|f| f.to_string()).unwrap_or_default())
        }
        Err(ActivityFailure::Canceled { .. }) => "canceled".to_owned(),
        Err(other) => format!("unexpected: {other}"),
    }
}

/// Local activities among a normal activity, a timer and each other.
#[workflow]
async fn mixed(ctx: WorkflowContext, n: u64) -> WorkflowResult<String> {
    let a = ctx.execute_local_activity(double, n, quick()).await?;
    let b = ctx.execute_activity(double, a, quick()).await?;
    ctx.sleep(secs(3)).await?;
    // A normal and a local activity at once, then two local ones at once.
    let (c, d) = zip(ctx.start_activity(shout, "normal".to_owned(), quick()), async {
        ctx.execute_local_activity(shout, "local".to_owned(), quick()).await
    })
    .await;
    let (e, f) = zip(ctx.execute_local_activity(nap, 2, quick()), ctx.execute_local_activity(double, b, quick())).await;
    let g = ctx.execute_local_activity(flaky, ("Flaky".to_owned(), 2), quick()).await?;
    Ok(format!("{a} {b} {} {} {} {} {g}", c?, d?, e?, f?))
}

fn markers(history: &[HistoryEvent]) -> Vec<(u32, String, u32, LocalActivityOutcome)> {
    history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::MarkerRecorded {
                marker: Marker::LocalActivity { seq, activity_type, attempt, outcome, .. },
            } => Some((*seq, activity_type.clone(), *attempt, outcome.clone())),
            _ => None,
        })
        .collect()
}

fn count(history: &[HistoryEvent], event_type: &str) -> usize {
    history.iter().filter(|e| e.event_type() == event_type).count()
}

fn engine() -> weft::EngineBuilder {
    Engine::builder()
        .register_workflow(local_double)
        .register_workflow(local_retrying)
        .register_workflow(local_timeout)
        .register_workflow(calls_unregistered)
        .register_workflow(mixed)
        .register_activity(double)
        .register_activity(shout)
        .register_activity(flaky)
        .register_activity(nap)
}

#[tokio::test(start_paused = true)]
async fn a_local_activity_is_one_marker_and_no_task() -> weft::Result<()> {
    let env = TestEnv::start(engine()).await?;
    let handle = env.client().start_workflow(local_double, "la-double", 21).await?;
    assert_eq!(handle.result().await?, 42);
    let history = handle.history().await?;
    assert_eq!(event_types(&history), ["WorkflowExecutionStarted", "MarkerRecorded", "WorkflowExecutionCompleted"]);
    assert_eq!(count(&history, "ActivityTaskScheduled"), 0);
    let [(seq, activity_type, attempt, LocalActivityOutcome::Completed { result })] = &markers(&history)[..] else {
        panic!("one completed marker: {history:#?}");
    };
    assert_eq!((*seq, activity_type.as_str(), *attempt, result.as_json()), (1, "double", 1, "42"));
    assert_eq!(JOURNAL.entries("la-double").len(), 1);
    // No activity task was claimed: the activity ran in the step.
    assert_eq!(env.engine().worker_stats().activity_attempts_claimed, 0);
    // The history replays.
    Replayer::new().register_workflow(local_double).replay(&history)?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn local_retries_follow_the_policy_with_backoff() -> weft::Result<()> {
    let env = TestEnv::start(engine()).await?;
    let client = env.client();

    // Succeeds on the third attempt, after 1 s and 2 s of backoff.
    let handle = client.start_workflow(local_retrying, "la-retry-ok", ("Flaky".to_owned(), 3, 0)).await?;
    assert_eq!(handle.result().await?, "ok 3");
    assert_eq!(JOURNAL.start_offsets("la-retry-ok"), [secs(0), secs(1), secs(3)]);
    let history = handle.history().await?;
    assert_eq!(event_types(&history), ["WorkflowExecutionStarted", "MarkerRecorded", "WorkflowExecutionCompleted"]);
    assert_eq!(markers(&history)[0].2, 3, "the marker records the final attempt");
    // The marker's time is the activity's end: the workflow saw 3 s pass.
    assert_eq!(history[1].timestamp().duration_since(history[0].timestamp()).unwrap(), secs(3));

    // Never succeeds: five attempts, then the failure.
    let handle = client.start_workflow(local_retrying, "la-retry-max", ("Flaky".to_owned(), 0, 0)).await?;
    assert_eq!(handle.result().await?, "failed on attempt 5 (maximum attempts reached): Flaky: attempt 5 failed");
    assert_eq!(JOURNAL.start_offsets("la-retry-max"), [secs(0), secs(1), secs(3), secs(7), secs(15)]);
    let history = handle.history().await?;
    assert!(matches!(&markers(&history)[..], [(1, _, 5, LocalActivityOutcome::Failed { .. })]), "{history:#?}");

    // Non-retryable: marked so, or by the policy's types.
    let handle = client.start_workflow(local_retrying, "la-fatal", ("Fatal".to_owned(), 0, 0)).await?;
    assert_eq!(handle.result().await?, "failed on attempt 1 (non-retryable failure): Fatal: attempt 1 failed");
    let handle = client.start_workflow(local_retrying, "la-bad-input", ("BadInput".to_owned(), 0, 0)).await?;
    assert_eq!(handle.result().await?, "failed on attempt 1 (non-retryable failure): BadInput: attempt 1 failed");
    assert_eq!(JOURNAL.entries("la-fatal").len() + JOURNAL.entries("la-bad-input").len(), 2);

    // Schedule-to-close 5 s: attempts at 0 s and 2 s; the next would start at 6 s.
    let handle = client.start_workflow(local_retrying, "la-s2c-retry", ("Flaky".to_owned(), 0, 1)).await?;
    assert_eq!(handle.result().await?, "timed out (schedule-to-close) after: Flaky: attempt 2 failed");
    assert_eq!(JOURNAL.start_offsets("la-s2c-retry"), [secs(0), secs(2)]);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn local_timeouts_end_attempts_and_the_activity() -> weft::Result<()> {
    let env = TestEnv::start(engine()).await?;
    let client = env.client();

    // Start-to-close 2 s, three attempts, each napping 60 s.
    let handle = client.start_workflow(local_timeout, "la-stc", (60, 0)).await?;
    assert_eq!(
        handle.result().await?,
        "timed out (start-to-close) after: TimeoutError: activity attempt 2 exceeded its start-to-close timeout"
    );
    // Two backoffs of 1 s and 2 s between three 2 s attempts.
    assert_eq!(JOURNAL.start_offsets("la-stc"), [secs(0), secs(3), secs(7)]);
    let history = handle.history().await?;
    let [(_, _, 3, LocalActivityOutcome::TimedOut { timeout_type: TimeoutType::StartToClose, .. })] =
        &markers(&history)[..]
    else {
        panic!("{history:#?}")
    };
    assert_eq!(history[1].timestamp().duration_since(history[0].timestamp()).unwrap(), secs(9));

    // Schedule-to-close 5 s ends a 60 s nap at 5 s.
    let handle = client.start_workflow(local_timeout, "la-s2c", (60, 1)).await?;
    assert_eq!(handle.result().await?, "timed out (schedule-to-close) after: ");
    let history = handle.history().await?;
    assert_eq!(history[1].timestamp().duration_since(history[0].timestamp()).unwrap(), secs(5));

    // A nap within the timeout completes.
    let handle = client.start_workflow(local_timeout, "la-in-time", (1, 0)).await?;
    assert_eq!(handle.result().await?, "ok 1");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_unregistered_local_activity_fails_at_once() -> weft::Result<()> {
    let env = TestEnv::start(engine()).await?;
    let handle = env.client().start_workflow(calls_unregistered, "la-unregistered", ()).await?;
    let result = handle.result().await?;
    assert!(result.starts_with("failed on attempt 1 (non-retryable failure): ActivityNotRegistered:"), "{result}");
    env.shutdown().await;
    Ok(())
}

/// The events with run ids and times relative to the first.
fn normalized(history: &[HistoryEvent], run_id: &str) -> Vec<String> {
    let start = history[0].timestamp();
    history
        .iter()
        .map(|e| {
            let text = common::relative_attributes(e, start).to_string().replace(run_id, "RUN");
            format!("{} +{:?} {} {text}", e.event_id(), e.timestamp().duration_since(start).unwrap(), e.event_type())
        })
        .collect()
}

async fn run_mixed(cache_size: usize) -> weft::Result<(String, Vec<String>, Vec<HistoryEvent>)> {
    let env = TestEnv::start(engine().cache_size(cache_size)).await?;
    // Each run on its own in-memory store, under the same id.
    let handle = env.client().start_workflow(mixed, "la-mixed", 5).await?;
    let result = handle.result().await?;
    let history = handle.history().await?;
    env.shutdown().await;
    Ok((result, normalized(&history, handle.run_id()), history))
}

#[tokio::test(start_paused = true)]
async fn local_activities_mix_with_other_events_and_replay_alike_with_and_without_cache() -> weft::Result<()> {
    let (replayed_result, replayed, _) = run_mixed(0).await?;
    let (cached_result, cached, history) = run_mixed(10_000).await?;
    assert_eq!(replayed_result, cached_result);
    assert_eq!(replayed, cached);
    assert_eq!(cached_result, "10 20 NORMAL LOCAL 2 40 2");
    // Five markers; the normal calls are scheduled tasks.
    let found = markers(&history);
    assert_eq!(
        found.iter().map(|(seq, t, attempt, _)| format!("{seq}:{t}:{attempt}")).collect::<Vec<_>>(),
        ["1:double:1", "5:shout:1", "7:double:1", "6:nap:1", "8:flaky:2"]
    );
    assert_eq!(count(&history, "ActivityTaskScheduled"), 2);
    assert_eq!(count(&history, "TimerStarted"), 1);
    // The local `double` (seq 7) ended before the 2 s nap (seq 6) it ran beside.
    let types = event_types(&history);
    assert_eq!(types.first(), Some(&"WorkflowExecutionStarted"));
    assert_eq!(types[1], "MarkerRecorded");
    assert_eq!(types[2], "ActivityTaskScheduled");
    Replayer::new().register_workflow(mixed).replay(&history)?;
    Ok(())
}

/// The original code's history, and code that changed in three ways.
#[workflow(name = "Lookup")]
async fn lookup(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let a = ctx.execute_local_activity(double, 1, quick()).await?;
    ctx.sleep(secs(1)).await?;
    Ok(a)
}

#[workflow(name = "Lookup")]
async fn lookup_other_type(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let a = ctx.execute_local_activity(flaky, ("x".to_owned(), 1), quick()).await?;
    ctx.sleep(secs(1)).await?;
    Ok(u64::from(a))
}

#[workflow(name = "Lookup")]
async fn lookup_as_normal_activity(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let a = ctx.execute_activity(double, 1, quick()).await?;
    ctx.sleep(secs(1)).await?;
    Ok(a)
}

#[workflow(name = "Lookup")]
async fn lookup_sleeps_first(ctx: WorkflowContext) -> WorkflowResult<u64> {
    ctx.sleep(secs(1)).await?;
    Ok(ctx.execute_local_activity(double, 1, quick()).await?)
}

#[workflow(name = "Lookup")]
async fn lookup_cancels_it(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let handle = ctx.execute_local_activity(double, 1, quick());
    handle.cancel();
    let _ = handle.await;
    let a = ctx.execute_local_activity(double, 1, quick()).await?;
    ctx.sleep(secs(1)).await?;
    Ok(a)
}

fn non_determinism(result: weft::Result<()>) -> (u64, String, String) {
    match result {
        Err(Error::NonDeterminism { event_id, expected, found, .. }) => (event_id, expected, found),
        other => panic!("expected non-determinism, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_marker_that_does_not_match_the_code_is_non_deterministic() -> weft::Result<()> {
    let env = TestEnv::start(engine().register_workflow(lookup)).await?;
    let handle = env.client().start_workflow(lookup, "la-lookup", ()).await?;
    assert_eq!(handle.result().await?, 2);
    let history = handle.history().await?;
    env.shutdown().await;
    assert_eq!(event_types(&history)[1], "MarkerRecorded");
    Replayer::new().register_workflow(lookup).replay(&history)?;

    let (event_id, expected, found) =
        non_determinism(Replayer::new().register_workflow(lookup_other_type).replay(&history));
    assert_eq!(event_id, 2);
    assert_eq!(expected, "MarkerRecorded(local activity seq 1, type `double`)");
    assert_eq!(found, "ExecuteLocalActivity(seq 1, type `flaky`)");

    let (event_id, _, found) =
        non_determinism(Replayer::new().register_workflow(lookup_as_normal_activity).replay(&history));
    assert_eq!((event_id, found.as_str()), (2, "ScheduleActivityTask(seq 1, type `double`)"));

    let (event_id, _, found) = non_determinism(Replayer::new().register_workflow(lookup_sleeps_first).replay(&history));
    assert_eq!((event_id, found.as_str()), (2, "StartTimer(seq 1, 1s)"));

    let (event_id, _, found) = non_determinism(Replayer::new().register_workflow(lookup_cancels_it).replay(&history));
    assert_eq!((event_id, found.as_str()), (2, "a cancelled local activity (seq 1)"));

    // A marker for a seq the code never asked for.
    let mut tampered: Vec<HistoryEvent> = serde_json::from_str(
        &serde_json::to_string(&history).unwrap().replace(r#""details":{"seq":1"#, r#""details":{"seq":7"#),
    )
    .unwrap();
    tampered.truncate(3);
    let (event_id, _, found) = non_determinism(Replayer::new().register_workflow(lookup).replay(&tampered));
    assert_eq!((event_id, found.as_str()), (2, "no local activity of that seq"));
    Ok(())
}

/// A slow local activity raced against a fast one: the loser is cancelled
/// with `cancellation_type` (0 TryCancel, 1 WaitCancellationCompleted, 2 Abandon).
#[workflow]
async fn local_race(ctx: WorkflowContext, cancellation_type: u8) -> WorkflowResult<String> {
    let cancellation_type = match cancellation_type {
        0 => CancellationType::TryCancel,
        1 => CancellationType::WaitCancellationCompleted,
        _ => CancellationType::Abandon,
    };
    let start = ctx.now();
    let slow = ctx.execute_local_activity(
        nap,
        3600,
        ActivityOptions::start_to_close(secs(7200)).cancellation_type(cancellation_type),
    );
    let fast = ctx.execute_local_activity(nap, 1, quick()).await?;
    slow.cancel();
    let outcome = describe(slow.await);
    Ok(format!("{fast} {outcome} at +{}s", ctx.now().duration_since(start).unwrap().as_secs()))
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_local_activity_follows_its_cancellation_type() -> weft::Result<()> {
    let env = TestEnv::start(engine().register_workflow(local_race)).await?;
    let client = env.client();
    for (cancellation_type, id) in [(0, "la-race-try"), (1, "la-race-wait"), (2, "la-race-abandon")] {
        let started = env.now();
        let handle = client.start_workflow(local_race, id, cancellation_type).await?;
        let result = handle.result().await?;
        let took = env.now().duration_since(started).unwrap();
        assert!(result.starts_with("1 canceled"), "{id}: {result}");
        assert!(took < secs(60), "{id}: the step waited for the slow activity ({took:?})");
        let history = handle.history().await?;
        let found = markers(&history);
        match cancellation_type {
            // Dropped: no marker for the slow one, and it saw no cancellation.
            0 | 2 => {
                assert_eq!(found.len(), 1, "{id}: {history:#?}");
                assert!(!JOURNAL.entries(id).iter().any(|e| e.note == "nap saw cancel"), "{id}");
            }
            // Told, and waited for: its end is a cancelled marker.
            _ => {
                assert!(
                    matches!(
                        &found[..],
                        [
                            (2, _, 1, LocalActivityOutcome::Completed { .. }),
                            (1, _, 1, LocalActivityOutcome::Canceled {})
                        ]
                    ),
                    "{id}: {found:?}"
                );
                assert!(JOURNAL.entries(id).iter().any(|e| e.note == "nap saw cancel"), "{id}");
            }
        }
        Replayer::new().register_workflow(local_race).replay(&history)?;
    }
    env.shutdown().await;
    Ok(())
}

/// A local activity, then an hour's durable sleep.
#[workflow]
async fn nap_then_sleep(ctx: WorkflowContext, nap_secs: u64) -> WorkflowResult<u64> {
    let napped = ctx.execute_local_activity(nap, nap_secs, ActivityOptions::start_to_close(secs(600))).await?;
    ctx.sleep(secs(3600)).await?;
    Ok(napped)
}

#[tokio::test(start_paused = true)]
async fn a_workflow_cancelled_during_a_local_activity_is_cancelled_after_it() -> weft::Result<()> {
    let env = TestEnv::start(engine().register_workflow(nap_then_sleep)).await?;
    let client = env.client();
    let handle = client.start_workflow(nap_then_sleep, "la-cancel-workflow", 5).await?;
    tokio::time::sleep(secs(1)).await;
    client.cancel_workflow("la-cancel-workflow", "stop").await?;
    assert!(matches!(handle.result().await, Err(Error::WorkflowCanceled { .. })));
    let history = handle.history().await?;
    // The step that ran the activity committed its marker; the cancellation came in the next step.
    let types = event_types(&history);
    let marker = types.iter().position(|t| *t == "MarkerRecorded").unwrap();
    let cancel = types.iter().position(|t| *t == "WorkflowExecutionCancelRequested").unwrap();
    assert!(marker < cancel, "{types:?}");
    assert_eq!(types.last(), Some(&"WorkflowExecutionCanceled"));
    assert_eq!(JOURNAL.entries("la-cancel-workflow").len(), 1);
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_local_activity_longer_than_the_lease_runs_once() -> weft::Result<()> {
    // Lease 3 s, renewed every second; the activity runs 20 s.
    let env = TestEnv::start(engine().lease(secs(3)).register_workflow(nap_then_sleep)).await?;
    let handle = env.client().start_workflow(nap_then_sleep, "la-long", 20).await?;
    // Without renewal the step would lose its lease every 3 s and never commit.
    let result = tokio::time::timeout(secs(7200), handle.result()).await.expect("the workflow never completed");
    assert_eq!(result?, 20);
    let history = handle.history().await?;
    assert_eq!(markers(&history).len(), 1);
    // Had the lease run out, the run would have been claimed again and the activity run twice.
    assert_eq!(JOURNAL.entries("la-long").len(), 1);
    env.shutdown().await;
    Ok(())
}
