use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[activity]
async fn double(_ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
    Ok(n * 2)
}

#[workflow]
async fn calls_locally_with_a_string(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(5));
    Ok(ctx.execute_local_activity(double, "two".to_owned(), options).await?)
}

fn main() {}
