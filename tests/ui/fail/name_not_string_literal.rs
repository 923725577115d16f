use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow(name = YourWorkflow)]
async fn hello(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {}
