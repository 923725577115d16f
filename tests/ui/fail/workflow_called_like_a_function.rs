use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn child(_ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    Ok(n)
}

#[workflow]
async fn parent(ctx: WorkflowContext) -> WorkflowResult<u32> {
    let _ = child(ctx, 1);
    Ok(0)
}

fn main() {}
