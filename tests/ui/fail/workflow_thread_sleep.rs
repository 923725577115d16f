use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    std::thread::sleep(std::time::Duration::from_millis(1));
    let _ = ctx;
    Ok(())
}

fn main() {}
