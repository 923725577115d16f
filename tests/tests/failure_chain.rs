//! A workflow that fails with `?` on an activity's failure keeps the cause
//! chain as structure (issue 11, item 8): in its history, in the client's
//! error, and through `std::error::Error::source`.

mod common;

use common::{find, secs};
use weft::history::{EventAttributes, Failure, RetryState};
use weft::testing::TestEnv;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, RetryPolicy, WorkflowContext, WorkflowResult,
    activity, workflow,
};

#[activity]
async fn charge(_ctx: ActivityContext, card: String) -> Result<(), ActivityError> {
    Err(ActivityError::new(format!("card {card} declined")).with_type("CardDeclined"))
}

#[workflow]
async fn checkout(ctx: WorkflowContext, card: String) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(secs(10)).retry_policy(RetryPolicy::default().maximum_attempts(2));
    ctx.execute_activity(charge, card, options).await?;
    Ok(())
}

#[activity]
async fn hangs(_ctx: ActivityContext) -> Result<(), ActivityError> {
    std::future::pending().await
}

#[workflow]
async fn impatient(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(secs(5)).retry_policy(RetryPolicy::default().maximum_attempts(1));
    Ok(ctx.execute_activity(hangs, (), options).await?)
}

/// The activity's failure, then the application error with the activity's own type and message.
fn assert_chain(failure: &Failure) {
    assert_eq!(failure.error_type(), "ActivityFailure");
    assert_eq!(failure.message(), "activity `charge` (id 1) failed after 2 attempt(s)");
    let info = failure.activity().expect("activity info");
    assert_eq!(info.activity_type(), "charge");
    assert_eq!(info.activity_id(), "1");
    assert_eq!(info.scheduled_event_id(), Some(2));
    assert_eq!(info.attempt(), Some(2));
    assert_eq!(info.retry_state(), RetryState::MaximumAttemptsReached);
    let cause = failure.cause().expect("the activity's error as the cause");
    assert_eq!(cause.error_type(), "CardDeclined");
    assert_eq!(cause.message(), "card 4242 declined");
    assert!(cause.activity().is_none() && cause.cause().is_none());
    assert_eq!(failure.chain().count(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_cause_chain_is_kept_in_history_and_in_the_clients_error() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(checkout).register_activity(charge)).await?;
    let handle = env.client().start_workflow(checkout, "order-1", "4242".to_owned()).await?;
    let error = handle.result().await.expect_err("the workflow fails");

    let Error::WorkflowFailed { failure, .. } = &error else { panic!("{error:?}") };
    assert_chain(failure);
    // `source()` walks the chain: the run's error, the activity failure, the application error.
    let levels: Vec<String> =
        std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| (*e).source())
            .map(ToString::to_string)
            .collect();
    assert_eq!(
        levels,
        [
            "workflow `order-1` (run ".to_owned() + handle.run_id() + ") failed",
            "ActivityFailure: activity `charge` (id 1) failed after 2 attempt(s)".to_owned(),
            "CardDeclined: card 4242 declined".to_owned(),
        ]
    );

    let history = handle.history().await?;
    let recorded = find(&history, |a| match a {
        EventAttributes::WorkflowExecutionFailed { failure } => Some(failure.clone()),
        _ => None,
    })
    .expect("WorkflowExecutionFailed");
    assert_chain(&recorded);
    // The JSON form nests it as `cause`, with the activity info beside it.
    let json = serde_json::to_value(&recorded).unwrap();
    assert_eq!(json["activity"]["retry_state"], "MaximumAttemptsReached");
    assert_eq!(json["activity"]["scheduled_event_id"], 2);
    assert_eq!(json["cause"]["error_type"], "CardDeclined");
    assert_eq!(json["cause"]["message"], "card 4242 declined");
    env.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_cause_of_its_own() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(impatient).register_activity(hangs)).await?;
    let handle = env.client().start_workflow(impatient, "slow-1", ()).await?;
    let Err(Error::WorkflowFailed { failure, .. }) = handle.result().await else { panic!("the workflow fails") };
    assert_eq!(failure.error_type(), "ActivityFailure");
    let info = failure.activity().expect("activity info");
    assert_eq!((info.activity_type(), info.retry_state()), ("hangs", RetryState::Timeout));
    let cause = failure.cause().expect("the timeout");
    assert_eq!((cause.error_type(), cause.message()), ("TimeoutError", "start-to-close timeout"));
    env.shutdown().await;
    Ok(())
}

/// A history written before causes existed still decodes: no `cause`, no `activity`.
#[test]
fn an_old_failure_without_a_cause_decodes() {
    let old = r#"{"error_type":"ActivityFailure","message":"activity `charge` (id 1) failed after 1 attempt(s): card declined"}"#;
    let failure: Failure = serde_json::from_str(old).unwrap();
    assert!(failure.cause().is_none() && failure.activity().is_none());
    assert_eq!(serde_json::to_string(&failure).unwrap(), old);
}
