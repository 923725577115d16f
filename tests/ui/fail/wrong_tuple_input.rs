use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[activity]
async fn transfer(_ctx: ActivityContext, from: String, to: String, cents: u64) -> Result<(), ActivityError> {
    let _ = (from, to, cents);
    Ok(())
}

#[workflow]
async fn pays(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(5));
    // The cents and the destination are swapped.
    ctx.execute_activity(transfer, ("alice".to_owned(), 100_u64, "bob".to_owned()), options).await?;
    Ok(())
}

fn main() {}
