// An activity and a workflow with nothing after the context take `()`.
use weft::{Activity, ActivityContext, ActivityError, Workflow, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn ping(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[workflow]
async fn tick(_ctx: WorkflowContext) -> WorkflowResult<u64> {
    Ok(1)
}

fn activity_types<A: Activity<Input = (), Output = ()>>(_: A) {}
fn workflow_types<W: Workflow<Input = (), Output = u64>>(_: W) {}

fn main() {
    activity_types(ping);
    workflow_types(tick);
}
