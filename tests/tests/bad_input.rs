//! Bad input gets a typed error, the engine keeps running, and other
//! workflows are unaffected.

use std::time::Duration;

use weft::history::EventAttributes;
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityOptions, Engine, Error, PayloadError, RetryPolicy,
    WorkflowContext, WorkflowResult, activity, workflow,
};

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(Duration::from_secs(10)).retry_policy(RetryPolicy::no_retries())
}

#[activity]
async fn echo(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(text)
}

#[activity]
async fn blow_up(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    panic!("activity exploded on {text}");
}

#[activity]
async fn forever(_ctx: ActivityContext) -> Result<(), ActivityError> {
    std::future::pending().await
}

#[activity]
async fn inflate(_ctx: ActivityContext, size: usize) -> Result<String, ActivityError> {
    Ok("x".repeat(size))
}

/// Calls `echo` and returns its result.
#[workflow]
async fn call_echo(ctx: WorkflowContext, text: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(echo, text, options()).await?)
}

#[workflow]
async fn call_blow_up(ctx: WorkflowContext, text: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(blow_up, text, options()).await?)
}

#[workflow]
async fn call_forever(ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(ctx.execute_activity(forever, (), options()).await?)
}

#[workflow]
async fn call_inflate(ctx: WorkflowContext, size: usize) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(inflate, size, options()).await?)
}

/// Passes an oversized input to an activity and reports what the call returned.
#[workflow]
async fn oversized_activity_input(ctx: WorkflowContext, size: usize) -> WorkflowResult<String> {
    match ctx.execute_activity(echo, "y".repeat(size), options()).await {
        Err(ActivityFailure::Payload { source: PayloadError::TooLarge { .. }, .. }) => Ok("refused".to_owned()),
        other => Ok(format!("unexpected: {other:?}")),
    }
}

async fn engine() -> weft::Result<Engine> {
    Engine::builder()
        .in_memory()
        .payload_limit(1024)
        .register_workflow(call_echo)
        .register_workflow(call_blow_up)
        .register_workflow(call_forever)
        .register_workflow(call_inflate)
        .register_workflow(oversized_activity_input)
        .register_activity(echo)
        .register_activity(blow_up)
        .register_activity(forever)
        .register_activity(inflate)
        .build()
        .await
}

/// The engine still runs workflows to completion.
async fn still_serves(engine: &Engine, id: &str) -> weft::Result<()> {
    let handle = engine.client().start_workflow(call_echo, id, "still here".to_owned()).await?;
    assert_eq!(handle.result().await?, "still here");
    Ok(())
}

fn failure_of(history: &[weft::history::HistoryEvent]) -> weft::history::Failure {
    history
        .iter()
        .find_map(|e| match e.attributes() {
            EventAttributes::ActivityTaskFailed { failure, .. } => Some(failure.clone()),
            _ => None,
        })
        .expect("an ActivityTaskFailed event")
}

#[tokio::test]
async fn unregistered_workflow_type_is_refused_at_start() -> weft::Result<()> {
    let engine = Engine::builder().in_memory().register_activity(echo).build().await?;
    let err = engine.client().start_workflow(call_echo, "wf", "hi".to_owned()).await.unwrap_err();
    assert!(matches!(&err, Error::UnknownWorkflowType { workflow_type } if workflow_type == "call_echo"), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn unregistered_activity_fails_that_call_only() -> weft::Result<()> {
    let engine = Engine::builder().in_memory().register_workflow(call_echo).build().await?;
    let handle = engine.client().start_workflow(call_echo, "no-activity", "hi".to_owned()).await?;
    let err = handle.result().await.unwrap_err();
    assert!(matches!(err, Error::WorkflowFailed { .. }), "{err:?}");
    let failure = failure_of(&handle.history().await?);
    assert_eq!(failure.error_type(), "ActivityNotRegistered");
    assert!(failure.message().contains("`echo`"), "{failure}");
    drop(engine);

    let engine = self::engine().await?;
    still_serves(&engine, "after").await
}

#[tokio::test]
async fn empty_and_overlong_workflow_ids_are_refused() -> weft::Result<()> {
    let engine = engine().await?;
    let client = engine.client();
    let err = client.start_workflow(call_echo, "", "hi".to_owned()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidWorkflowId { reason: "it is empty", .. }), "{err:?}");
    let long = "w".repeat(weft::MAX_WORKFLOW_ID_LEN + 1);
    let err = client.start_workflow(call_echo, long, "hi".to_owned()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidWorkflowId { reason: "it is over 1000 bytes", .. }), "{err:?}");
    still_serves(&engine, "ok").await
}

#[tokio::test]
async fn second_start_of_a_running_id_is_already_started() -> weft::Result<()> {
    let engine = engine().await?;
    let client = engine.client();
    let first = client.start_workflow(call_forever, "busy", ()).await?;
    let err = client.start_workflow(call_forever, "busy", ()).await.unwrap_err();
    match err {
        Error::AlreadyStarted { workflow_id, run_id } => {
            assert_eq!(workflow_id, "busy");
            assert_eq!(run_id, first.run_id());
        }
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    still_serves(&engine, "other").await
}

#[tokio::test]
async fn oversized_workflow_input_is_refused_at_start() -> weft::Result<()> {
    let engine = engine().await?;
    let err = engine.client().start_workflow(call_echo, "big", "z".repeat(2000)).await.unwrap_err();
    match err {
        Error::Payload { workflow_id, source: PayloadError::TooLarge { size, limit } } => {
            assert_eq!(workflow_id, "big");
            assert_eq!((size, limit), (2002, 1024));
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
    assert!(matches!(engine.client().history("big").await, Err(Error::WorkflowNotFound { .. })));
    still_serves(&engine, "small").await
}

#[tokio::test]
async fn oversized_activity_input_fails_that_call_in_the_workflow() -> weft::Result<()> {
    let engine = engine().await?;
    let handle = engine.client().start_workflow(oversized_activity_input, "big-input", 5000).await?;
    assert_eq!(handle.result().await?, "refused");
    let scheduled = handle.history().await?.iter().filter(|e| e.event_type() == "ActivityTaskScheduled").count();
    assert_eq!(scheduled, 0, "nothing is scheduled for a refused input");
    still_serves(&engine, "after").await
}

#[tokio::test]
async fn oversized_activity_result_fails_the_activity() -> weft::Result<()> {
    let engine = engine().await?;
    let handle = engine.client().start_workflow(call_inflate, "big-result", 5000).await?;
    assert!(matches!(handle.result().await, Err(Error::WorkflowFailed { .. })));
    let failure = failure_of(&handle.history().await?);
    assert_eq!(failure.error_type(), "PayloadError");
    assert!(failure.is_non_retryable());
    assert!(failure.message().contains("over the limit of 1024 bytes"), "{failure}");
    still_serves(&engine, "after").await
}

#[tokio::test]
async fn panicking_activity_is_recorded_as_failed() -> weft::Result<()> {
    let engine = engine().await?;
    let handle = engine.client().start_workflow(call_blow_up, "panic", "purpose".to_owned()).await?;
    let err = handle.result().await.unwrap_err();
    let Error::WorkflowFailed { failure, .. } = &err else { panic!("expected WorkflowFailed, got {err:?}") };
    // The activity's own error is the cause of the workflow's (issue 11, item 8).
    let cause = failure.cause().expect("the activity's failure as the cause");
    assert!(cause.message().contains("activity exploded on purpose"), "{failure:?}");
    let failure = failure_of(&handle.history().await?);
    assert_eq!(failure.error_type(), "Panic");
    assert_eq!(failure.message(), "activity exploded on purpose");
    still_serves(&engine, "after").await
}

#[workflow]
async fn panics(_ctx: WorkflowContext) -> WorkflowResult<()> {
    panic!("workflow code exploded");
}

#[tokio::test]
async fn a_panicking_workflow_is_held_and_the_engine_goes_on() -> weft::Result<()> {
    let engine = Engine::builder()
        .in_memory()
        .register_workflow(panics)
        .register_workflow(call_echo)
        .register_activity(echo)
        .build()
        .await?;
    let client = engine.client();
    client.start_workflow(panics, "panics", ()).await?;
    let mut held = None;
    for _ in 0..1000 {
        held = client.describe("panics").await?.held;
        if held.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let held = held.expect("the run is held");
    assert!(held.contains("workflow code panicked: workflow code exploded"), "{held}");
    let description = client.describe("panics").await?;
    assert_eq!(description.status, weft::RunStatus::Running, "held, not failed");
    assert_eq!(description.history_length, 0, "nothing was appended");
    still_serves(&engine, "after").await
}
