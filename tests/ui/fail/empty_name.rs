use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow(name = "  ")]
async fn hello(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {}
