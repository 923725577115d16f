use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
fn hello(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {}
