use std::time::Duration;

use weft::{ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<String, ActivityError> {
    Ok(cents.to_string())
}

#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(10));
    Ok(ctx.execute_activity(charge, "five dollars".to_string(), options).await?)
}

fn main() {}
