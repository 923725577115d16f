use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _thread = std::thread::spawn(|| 1);
    let _ = ctx;
    Ok(())
}

fn main() {}
