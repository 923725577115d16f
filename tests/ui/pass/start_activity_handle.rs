use std::time::Duration;

use weft::{
    activity, workflow, ActivityContext, ActivityError, ActivityFailure, ActivityHandle, ActivityOptions,
    CancellationType, WorkflowContext, WorkflowResult,
};

#[activity]
async fn slow(ctx: ActivityContext) -> Result<u32, ActivityError> {
    ctx.cancelled().await;
    Ok(ctx.attempt())
}

#[workflow]
async fn cancels(ctx: WorkflowContext) -> WorkflowResult<bool> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(60))
        .cancellation_type(CancellationType::WaitCancellationCompleted);
    let handle: ActivityHandle<u32> = ctx.start_activity(slow, (), options);
    ctx.sleep(Duration::from_secs(1)).await?;
    handle.cancel();
    Ok(matches!(handle.await, Err(ActivityFailure::Canceled { .. })))
}

fn main() {
    let _ = weft::Engine::builder().register_workflow(cancels);
}
