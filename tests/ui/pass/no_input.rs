use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[activity]
async fn tick(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[workflow]
async fn ticks(ctx: WorkflowContext) -> WorkflowResult<()> {
    ctx.execute_activity(tick, (), ActivityOptions::schedule_to_close(Duration::from_secs(5))).await?;
    Ok(())
}

fn main() {
    let _ = weft::Engine::builder().register_activity(tick).register_workflow(ticks);
}
