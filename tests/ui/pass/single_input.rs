use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[derive(Serialize, Deserialize)]
pub struct YourParams {
    pub greeting: String,
    pub name: String,
}

#[activity]
pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
    Ok(format!("{}, {}!", input.greeting, input.name))
}

#[workflow(name = "YourWorkflow")]
pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    let greeting = ctx
        .execute_activity(
            your_activity,
            YourParams { greeting: "Hello".into(), name },
            ActivityOptions::start_to_close(Duration::from_secs(10)),
        )
        .await?;
    Ok(greeting)
}

fn main() {
    use weft::{Activity, Workflow};
    assert_eq!(<your_activity as Activity>::NAME, "your_activity");
    assert_eq!(<your_workflow as Workflow>::NAME, "YourWorkflow");
}
