use std::time::Duration;

use weft::{ActivityContext, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> u64 {
    cents
}

// The stub's output is taken to be `u64`, so this call adds no error of its own.
#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(1));
    let charged: u64 = ctx.execute_activity(charge, 5, options).await?;
    Ok(charged)
}

fn main() {}
