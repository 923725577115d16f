//! Issue 11, item 5: forbidden calls through `use` items in the body, and bare
//! calls of commonly imported forbidden functions.
use std::time::Duration;

use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn imported_in_the_body(ctx: WorkflowContext) -> WorkflowResult<()> {
    use std::time::SystemTime as Clock;
    use tokio::time::{sleep, timeout as deadline};
    sleep(Duration::from_secs(1)).await;
    let _ = deadline(Duration::from_secs(1), ctx.sleep(Duration::from_secs(2))).await;
    let _ = Clock::now();
    Ok(())
}

#[workflow]
async fn glob_in_the_body(_ctx: WorkflowContext) -> WorkflowResult<()> {
    use std::env::*;
    use std::fs::*;
    let _ = var("HOME");
    let _ = Some(1).map(drop);
    Ok(())
}

// Imported outside the workflow, where the macro cannot see it.
#[workflow]
async fn imported_in_the_module(_ctx: WorkflowContext) -> WorkflowResult<()> {
    sleep(Duration::from_secs(1)).await;
    let _ = println!("{:?}", spawn(async {}));
    Ok(())
}

use tokio::spawn;
use tokio::time::sleep;

fn main() {}
