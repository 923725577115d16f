use weft::{activity, workflow, ActivityContext, ActivityError, WorkflowContext, WorkflowResult};

#[activity(start_to_close_timeout = "10s")]
async fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[workflow]
async fn greet(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    let greeting = compose_greeting(ctx, name);
    let _ = greeting;
    Ok(String::new())
}

fn main() {}
