use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

/// Declares a retry policy and a heartbeat timeout, but no required timeout.
#[activity(heartbeat_timeout = "5s", retry(maximum_attempts = 3))]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[workflow]
async fn pay(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let _fine = ctx.execute_activity(charge, 1, ActivityOptions::start_to_close(Duration::from_secs(1))).await?;
    Ok(ctx.execute_activity(charge, 100, ActivityOptions::defaults()).await?)
}

fn main() {}
