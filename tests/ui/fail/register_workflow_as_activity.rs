use weft::{workflow, Engine, WorkflowContext, WorkflowResult};

#[workflow]
async fn hello(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {
    let _ = Engine::builder().register_activity(hello);
}
