use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    println!("{:?}", std::time::SystemTime::now());
    let _ = ctx;
    Ok(())
}

fn main() {}
