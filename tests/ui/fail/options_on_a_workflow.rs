use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow(start_to_close_timeout = "10s")]
async fn flow(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {}
