use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _home = std::env::var("HOME");
    let _ = ctx;
    Ok(())
}

fn main() {}
