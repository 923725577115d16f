// A workflow calls activities by their stubs; inputs and results are typed.
// (Type checks only: `main` does not run the engine.)
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft::{
    ActivityContext, ActivityError, ActivityFailure, ActivityHandle, ActivityOptions, Engine, WorkflowContext,
    WorkflowResult, activity, workflow,
};

#[derive(Serialize, Deserialize)]
pub struct YourParams {
    pub greeting: String,
    pub name: String,
}

#[activity]
pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
    Ok(format!("{}, {}!", input.greeting, input.name))
}

#[activity]
pub async fn add(_ctx: ActivityContext, a: u64, b: u64) -> Result<u64, ActivityError> {
    Ok(a + b)
}

#[activity]
pub async fn now(_ctx: ActivityContext) -> Result<u64, ActivityError> {
    Ok(0)
}

/// The seed's workflow.
#[workflow(name = "YourWorkflow")]
pub async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(10));
    let greeting: String =
        ctx.execute_activity(your_activity, YourParams { greeting: "Hello".into(), name }, options.clone()).await?;
    let sum: u64 = ctx.execute_activity(add, (1, 2), options.clone()).await?;
    let handle: ActivityHandle<u64> = ctx.start_activity(now, (), options);
    handle.cancel();
    let started: Result<u64, ActivityFailure> = handle.await;
    Ok(format!("{greeting} {sum} {}", started.is_ok()))
}

#[allow(dead_code)]
fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder
        .register_workflow(your_workflow)
        .register_activity(your_activity)
        .register_activity(add)
        .register_activity(now)
}

fn main() {
    let _ = Engine::builder;
}
