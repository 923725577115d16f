use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _task = tokio::spawn(async { 1 });
    let _ = ctx;
    Ok(())
}

fn main() {}
