use std::time::Duration;

use weft::{ActivityContext, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) {
    let _ = cents;
}

// The stub's output is taken to be `()`, so this call adds no error of its own.
#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(1));
    ctx.execute_activity(charge, 5, options).await?;
    Ok(())
}

fn main() {}
