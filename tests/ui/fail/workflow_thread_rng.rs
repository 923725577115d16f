use weft::{workflow, WorkflowContext, WorkflowResult};

/// Stands in for `rand::thread_rng`.
fn thread_rng() -> u64 {
    4
}

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _rng = thread_rng();
    let _ = ctx;
    Ok(())
}

fn main() {}
