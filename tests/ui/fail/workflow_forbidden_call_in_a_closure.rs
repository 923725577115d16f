use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let stamp = || std::time::Instant::now();
    let _ = stamp;
    let _ = ctx;
    Ok(())
}

fn main() {}
