use std::rc::Rc;
use std::time::Duration;

use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn hold_rc(ctx: WorkflowContext) -> WorkflowResult<usize> {
    let shared = Rc::new(1);
    ctx.sleep(Duration::from_secs(1)).await?;
    Ok(*shared)
}

fn main() {}
