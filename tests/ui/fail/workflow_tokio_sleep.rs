use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let _ = ctx;
    Ok(())
}

fn main() {}
