// The registered name is the function's name, or `name = "..."`.
use weft::{Activity, ActivityContext, ActivityError, Workflow, WorkflowContext, WorkflowResult, activity, workflow};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[activity(name = "Refund")]
async fn refund(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[activity(name = "payments.v2/Charge again")]
async fn charge_again(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[activity]
async fn r#match(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[workflow]
async fn checkout(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

#[workflow(name = "YourWorkflow")]
async fn your_workflow(_ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    Ok(name)
}

fn main() {
    assert_eq!(<charge as Activity>::NAME, "charge");
    assert_eq!(<refund as Activity>::NAME, "Refund");
    assert_eq!(<charge_again as Activity>::NAME, "payments.v2/Charge again");
    assert_eq!(<r#match as Activity>::NAME, "match");
    assert_eq!(<checkout as Workflow>::NAME, "checkout");
    assert_eq!(<your_workflow as Workflow>::NAME, "YourWorkflow");
}
