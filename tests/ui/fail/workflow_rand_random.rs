use weft::{workflow, WorkflowContext, WorkflowResult};

/// Stands in for the rand crate.
mod rand {
    pub fn random() -> u64 {
        4
    }
}

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _n: u64 = rand::random();
    let _ = ctx;
    Ok(())
}

fn main() {}
