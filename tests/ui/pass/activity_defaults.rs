#![deny(warnings)]

//! Defaults in the attribute: every argument, used as is and overridden.

use std::time::Duration;

use weft::{Activity, ActivityContext, ActivityError, ActivityOptions, RetryPolicy, WorkflowContext, WorkflowResult};

#[weft::activity(
    name = "Charge",
    start_to_close_timeout = "10s",
    schedule_to_close_timeout = "1m",
    schedule_to_start_timeout = "5s",
    heartbeat_timeout = "2s",
    retry(initial_interval = "1s", backoff = 2.0, maximum_interval = "1m", maximum_attempts = 5, non_retryable = ["BadInput"]),
    task_queue = "payments"
)]
async fn charge(ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> {
    ctx.heartbeat(&cents)?;
    Ok(cents.to_string())
}

/// Only a schedule-to-close timeout, an integer backoff, a composite duration.
#[weft::activity(schedule_to_close_timeout = "1m 30s", retry(backoff = 3))]
async fn refund(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

/// No defaults: calls pass a timeout.
#[weft::activity]
async fn audit(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[weft::workflow]
async fn pay(ctx: WorkflowContext, cents: u64) -> WorkflowResult<String> {
    let receipt = ctx.execute_activity(charge, cents, ActivityOptions::defaults()).await?;
    let _ = ctx
        .execute_activity(charge, cents, ActivityOptions::defaults().retry_policy(RetryPolicy::no_retries()))
        .await?;
    let _ = ctx.execute_activity(refund, cents, ActivityOptions::defaults().heartbeat_timeout(Duration::from_secs(1))).await?;
    let _ = ctx.execute_activity(audit, (), ActivityOptions::start_to_close(Duration::from_secs(1))).await?;
    // Setting a required timeout on `defaults()` makes the call's options complete.
    let _ = ctx.execute_activity(audit, (), ActivityOptions::defaults().start_to_close_timeout(Duration::from_secs(1))).await?;
    Ok(receipt)
}

fn main() {
    let defaults = <charge as Activity>::defaults();
    let timeouts = defaults.timeouts();
    assert_eq!(timeouts.start_to_close, Some(Duration::from_secs(10)));
    assert_eq!(timeouts.schedule_to_close, Some(Duration::from_secs(60)));
    assert_eq!(timeouts.schedule_to_start, Some(Duration::from_secs(5)));
    assert_eq!(timeouts.heartbeat, Some(Duration::from_secs(2)));
    assert_eq!(defaults.queue(), Some("payments"));
    let expected = RetryPolicy::default()
        .initial_interval(Duration::from_secs(1))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_secs(60))
        .maximum_attempts(5)
        .non_retryable_error_types(["BadInput"]);
    assert_eq!(defaults.retry(), expected);
    assert_eq!(<charge as Activity>::NAME, "Charge");

    let refund_defaults = <refund as Activity>::defaults();
    assert_eq!(refund_defaults.timeouts().schedule_to_close, Some(Duration::from_secs(90)));
    assert_eq!(refund_defaults.retry(), RetryPolicy::default().backoff_coefficient(3.0));
    assert_eq!(<audit as Activity>::defaults().timeouts().start_to_close, None);
    let _ = weft::Engine::builder().register_workflow(pay);
}
