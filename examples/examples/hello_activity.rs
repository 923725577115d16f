//! The Temporal documentation's `YourWorkflow`, in weft.
//!
//! A workflow calls one activity with a typed input and a start-to-close
//! timeout, on the embedded SQLite store. Run it with
//!
//! ```text
//! cargo run -p weft-examples --example hello_activity
//! ```
//!
//! It prints the result, then the workflow's history, one event a line.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activity, workflow,
};

/// The activity's input: a greeting and a name.
#[derive(Debug, Serialize, Deserialize)]
pub struct YourParams {
    pub greeting: String,
    pub name: String,
}

/// Composes the greeting. Activities do the side effects; this one has none.
#[activity]
pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
    Ok(format!("{}, {}!", input.greeting, input.name))
}

/// Calls `your_activity` once and returns its result.
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

#[tokio::main]
async fn main() -> weft::Result<()> {
    let store = std::env::temp_dir().join("weft-hello_activity.db");
    println!("store: {}", store.display());

    let engine = Engine::builder()
        .sqlite(&store)
        .register_workflow(your_workflow)
        .register_activity(your_activity)
        .build()
        .await?;
    let client = engine.client();

    let handle = client.start_workflow(your_workflow, "your-workflow-id", "World".to_owned()).await?;
    println!("{}", handle.result().await?);

    println!("history of {} (run {}):", handle.workflow_id(), handle.run_id());
    for event in handle.history().await? {
        println!("{event}");
    }
    engine.shutdown().await;
    Ok(())
}
