//! The traits behind the macros can be implemented by hand, and the engine
//! gives the same histories with and without its workflow cache.

use std::time::Duration;

use weft::activity::ActivityFn;
use weft::workflow::{Handlers, WorkflowDefinition};
use weft::{
    Activity, ActivityContext, ActivityError, ActivityOptions, Engine, Workflow, WorkflowContext, WorkflowResult,
};

#[derive(Clone, Copy)]
struct Greet;
impl Activity for Greet {
    type Input = String;
    type Output = String;
    const NAME: &'static str = "greet";
}
impl ActivityFn for Greet {
    async fn run(_ctx: ActivityContext, input: String) -> Result<String, ActivityError> {
        Ok(format!("Hello, {input}!"))
    }
}

#[derive(Clone, Copy)]
struct Hello;
impl Workflow for Hello {
    type Input = String;
    type Output = String;
    const NAME: &'static str = "Hello";
    type Definition = Self;
}
impl WorkflowDefinition for Hello {
    type State = ();
    fn init(_input: &String) {}
    fn handlers() -> Handlers<()> {
        Handlers::new()
    }
    async fn run(ctx: WorkflowContext, input: String) -> WorkflowResult<String> {
        let a = ctx.execute_activity(Greet, input, ActivityOptions::start_to_close(Duration::from_secs(5))).await?;
        ctx.sleep(Duration::from_millis(10)).await?;
        let b = ctx.execute_activity(Greet, a, ActivityOptions::start_to_close(Duration::from_secs(5))).await?;
        Ok(b)
    }
}

#[tokio::test]
async fn manual_impls_run_end_to_end() -> weft::Result<()> {
    for cache in [0, 100] {
        let engine = Engine::builder()
            .in_memory()
            .cache_size(cache)
            .register_workflow(Hello)
            .register_activity(Greet)
            .build()
            .await?;
        let client = engine.client();
        let handle = client.start_workflow(Hello, "wf-1", "World".into()).await?;
        assert_eq!(handle.result().await?, "Hello, Hello, World!!");
        let history = handle.history().await?;
        assert_eq!(history.len(), 10);
        engine.shutdown().await;
    }
    Ok(())
}
