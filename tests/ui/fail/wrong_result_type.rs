use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[activity]
async fn double(_ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
    Ok(n * 2)
}

#[workflow]
async fn uses_a_string(ctx: WorkflowContext) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(5));
    let text: String = ctx.execute_activity(double, 2, options).await?;
    Ok(text)
}

fn main() {}
