use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, WorkflowContext, WorkflowResult};

#[activity(start_to_close_timeout = "10s")]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[workflow]
async fn pay(ctx: WorkflowContext) -> WorkflowResult<u64> {
    Ok(ctx.execute_activity(charge, 100, Duration::from_secs(10)).await?)
}

fn main() {}
