use std::time::Duration;

use weft::{ActivityOptions, WorkflowContext, WorkflowResult, workflow};

#[workflow]
async fn refund(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(10));
    ctx.execute_activity(refund, (), options).await?;
    Ok(())
}

fn main() {}
