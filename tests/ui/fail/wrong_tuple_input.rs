use std::time::Duration;

use weft::{ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn transfer(_ctx: ActivityContext, from: String, to: String, cents: u64) -> Result<(), ActivityError> {
    let _ = (from, to, cents);
    Ok(())
}

#[workflow]
async fn payout(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(10));
    // The arguments in the wrong order.
    ctx.execute_activity(transfer, (500, "alice".to_string(), "bob".to_string()), options).await?;
    Ok(())
}

fn main() {}
