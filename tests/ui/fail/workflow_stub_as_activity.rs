use std::time::Duration;

use weft::{workflow, ActivityOptions, WorkflowContext, WorkflowResult};

#[workflow]
async fn child(_ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    Ok(n)
}

#[workflow]
async fn parent(ctx: WorkflowContext) -> WorkflowResult<u32> {
    Ok(ctx.execute_activity(child, 1, ActivityOptions::start_to_close(Duration::from_secs(1))).await?)
}

fn main() {}
