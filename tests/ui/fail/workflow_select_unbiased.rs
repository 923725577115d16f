use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    tokio::select! {
        _ = ctx.sleep(std::time::Duration::from_secs(1)) => {}
        _ = ctx.sleep(std::time::Duration::from_secs(2)) => {}
    }
    let _ = ctx;
    Ok(())
}

fn main() {}
