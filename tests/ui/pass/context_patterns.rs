// The context may be bound by any pattern, and named by any path.
use weft::{ActivityContext, ActivityError, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn underscore_name(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[activity]
async fn wildcard(_: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[activity]
async fn qualified(ctx: weft::ActivityContext) -> Result<u32, ActivityError> {
    Ok(ctx.attempt())
}

#[workflow]
async fn workflow_wildcard(_: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

#[workflow]
async fn workflow_qualified(mut ctx: ::weft::WorkflowContext) -> WorkflowResult<String> {
    ctx = ctx.clone();
    Ok(ctx.workflow_id())
}

fn main() {
    let _ = (underscore_name, wildcard, qualified, workflow_wildcard, workflow_qualified);
}
