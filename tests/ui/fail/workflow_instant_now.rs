use weft::{workflow, WorkflowContext, WorkflowResult};

use std::time::Instant;

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _t = Instant::now();
    let _ = ctx;
    Ok(())
}

fn main() {}
