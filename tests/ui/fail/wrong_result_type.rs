use std::time::Duration;

use weft::{ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> {
    Ok(cents.to_string())
}

#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(10));
    let receipt: u64 = ctx.execute_activity(charge, 500, options).await?;
    Ok(receipt)
}

fn main() {}
