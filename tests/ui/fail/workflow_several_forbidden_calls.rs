use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _a = std::time::SystemTime::now();
    let _b = std::env::var("HOME");
    std::thread::sleep(std::time::Duration::from_millis(1));
    let _ = ctx;
    Ok(())
}

fn main() {}
