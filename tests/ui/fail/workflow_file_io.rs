use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _config = std::fs::read_to_string("config.toml");
    let _ = ctx;
    Ok(())
}

fn main() {}
