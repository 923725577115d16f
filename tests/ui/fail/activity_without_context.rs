use std::time::Duration;

use weft::{ActivityError, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

// The stub takes every parameter as input, so this call adds no error of its own.
#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(1));
    Ok(ctx.execute_activity(charge, 5, options).await?)
}

fn main() {}
