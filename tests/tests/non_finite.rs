//! A float NaN or infinity is refused where the payload is made, with a typed
//! error that says where it is (issue 11, item 9): serde_json would write it
//! as `null`, which then fails to decode later, far from its cause.

mod common;

use common::secs;
use serde::{Deserialize, Serialize};
use weft::activity::HeartbeatError;
use weft::history::EventAttributes;
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, Error, PayloadError, RetryPolicy,
    WorkflowContext, WorkflowResult, activity, workflow,
};

#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    values: Vec<f64>,
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(secs(10)).retry_policy(RetryPolicy::no_retries())
}

#[activity]
async fn mean(_ctx: ActivityContext, reading: Reading) -> Result<f64, ActivityError> {
    Ok(reading.values.iter().sum::<f64>() / reading.values.len() as f64)
}

#[activity(heartbeat_timeout = "5s")]
async fn progress(ctx: ActivityContext, done: f64) -> Result<String, ActivityError> {
    Ok(match ctx.heartbeat(&(1_u32, done.ln())) {
        Err(HeartbeatError::Payload(error @ PayloadError::NonFinite { .. })) => format!("refused: {error}"),
        other => format!("accepted: {other:?}"),
    })
}

/// `mode` 0: the average of `reading` (an empty reading averages to NaN,
/// which is the activity's result); 1: sends the activity the values divided
/// by zero; else: an activity heartbeats the logarithm of `reading.values[0]`.
#[workflow]
async fn averaged(ctx: WorkflowContext, reading: Reading, mode: u8) -> WorkflowResult<String> {
    match mode {
        0 => Ok(match ctx.execute_activity(mean, reading, options()).await {
            Ok(average) => format!("mean {average}"),
            Err(ActivityFailure::Failed { failure, .. }) => format!("failed: {failure}"),
            Err(other) => format!("unexpected: {other}"),
        }),
        1 => {
            let scaled = Reading { sensor: reading.sensor, values: reading.values.iter().map(|v| v / 0.0).collect() };
            Ok(match ctx.execute_activity(mean, scaled, options()).await {
                Err(ActivityFailure::Payload { source: source @ PayloadError::NonFinite { .. }, .. }) => {
                    format!("not scheduled: {source}")
                }
                other => format!("unexpected: {other:?}"),
            })
        }
        _ => Ok(ctx.execute_activity(progress, reading.values[0], options()).await?),
    }
}

#[workflow]
async fn unbounded(_ctx: WorkflowContext, x: f64) -> WorkflowResult<f64> {
    Ok(-1.0 / x)
}

async fn env() -> weft::Result<TestEnv> {
    TestEnv::start(
        Engine::builder()
            .register_workflow(averaged)
            .register_workflow(unbounded)
            .register_activity(mean)
            .register_activity(progress),
    )
    .await
}

fn reading(values: &[f64]) -> Reading {
    Reading { sensor: "t1".to_owned(), values: values.to_vec() }
}

#[tokio::test(start_paused = true)]
async fn a_nan_in_a_workflow_input_is_refused_at_start() -> weft::Result<()> {
    let env = env().await?;
    let error = env.client().start_workflow(averaged, "w-in", (reading(&[1.0, f64::NAN]), 0)).await.unwrap_err();
    let Error::Payload { workflow_id, source: PayloadError::NonFinite { value, path } } = &error else {
        panic!("{error:?}")
    };
    assert_eq!((workflow_id.as_str(), value.as_str(), path.as_str()), ("w-in", "NaN", "$[0].values[1]"));
    assert!(matches!(env.client().describe("w-in").await, Err(Error::WorkflowNotFound { .. })), "nothing started");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_nan_in_an_activity_input_schedules_nothing() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(averaged, "a-in", (reading(&[0.0, 2.0]), 1)).await?;
    // 0/0 is NaN, 2/0 is infinity: the first one met is named.
    assert_eq!(handle.result().await?, "not scheduled: payload holds NaN at $.values[0]; JSON has no such number");
    let history = handle.history().await?;
    assert!(!history.iter().any(|e| matches!(e.attributes(), EventAttributes::ActivityTaskScheduled { .. })));
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_nan_activity_result_fails_the_activity_with_a_payload_error() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(averaged, "a-out", (reading(&[]), 0)).await?;
    assert_eq!(
        handle.result().await?,
        "failed: PayloadError: activity result rejected: payload holds NaN at $; JSON has no such number"
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_infinite_workflow_result_fails_the_run_with_a_payload_error() -> weft::Result<()> {
    let env = env().await?;
    let handle = env.client().start_workflow(unbounded, "w-out", 0.0).await?;
    let Err(Error::WorkflowFailed { failure, .. }) = handle.result().await else { panic!("the run fails") };
    assert_eq!(failure.error_type(), "PayloadError");
    assert_eq!(failure.message(), "workflow result rejected: payload holds -inf at $; JSON has no such number");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_infinite_heartbeat_is_refused_to_the_activity() -> weft::Result<()> {
    let env = env().await?;
    // ln(0) is -inf.
    let handle = env.client().start_workflow(averaged, "hb", (reading(&[0.0]), 2)).await?;
    assert_eq!(handle.result().await?, "refused: payload holds -inf at $[1]; JSON has no such number");
    env.shutdown().await;
    Ok(())
}
