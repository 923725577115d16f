//! Issue 11, item 5: what the bare-name check lets through: a function of the
//! body's own, a `use` that names another path, a helper given the context,
//! and a call by its path.
#![deny(warnings)]

use std::time::Duration;

use weft::{workflow, WorkflowContext, WorkflowResult};

mod helpers {
    pub async fn sleep(ctx: &weft::WorkflowContext, d: std::time::Duration) -> Result<(), weft::Canceled> {
        ctx.sleep(d).await
    }
    pub fn spawn(n: u32) -> u32 {
        n + 1
    }
}

async fn sleep(ctx: &WorkflowContext, d: Duration) -> Result<(), weft::Canceled> {
    ctx.sleep(d).await
}

fn random() -> u32 {
    4
}

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<u32> {
    use helpers::spawn;
    fn timeout(n: u32) -> u32 {
        n * 2
    }
    sleep(&ctx, Duration::from_secs(1)).await?;
    helpers::sleep(&ctx, Duration::from_secs(1)).await?;
    Ok(spawn(1) + timeout(2) + self::random())
}

fn main() {
    let _ = weft::Engine::builder().register_workflow(flow);
}
