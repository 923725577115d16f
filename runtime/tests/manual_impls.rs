use std::future::Future;
use std::time::Duration;

use weft::activity::ActivityFn;
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
    fn run(
        _ctx: ActivityContext,
        input: String,
    ) -> impl Future<Output = Result<String, ActivityError>> + Send + 'static {
        async move { Ok(format!("Hello, {input}!")) }
    }
}

#[derive(Clone, Copy)]
struct Hello;
impl Workflow for Hello {
    type Input = String;
    type Output = String;
    const NAME: &'static str = "Hello";
    fn run(ctx: WorkflowContext, input: String) -> impl Future<Output = WorkflowResult<String>> + Send + 'static {
        async move {
            let a = ctx.execute_activity(Greet, input, ActivityOptions::start_to_close(Duration::from_secs(5))).await?;
            ctx.sleep(Duration::from_millis(10)).await?;
            let b = ctx.execute_activity(Greet, a, ActivityOptions::start_to_close(Duration::from_secs(5))).await?;
            Ok(b)
        }
    }
}

#[tokio::test]
async fn manual_impls_run_end_to_end() -> weft::Result<()> {
    let _ = tracing_subscriber::fmt().with_env_filter("weft=trace").with_test_writer().try_init();
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
        for e in &history {
            println!("{} {}", e.event_id(), serde_json::to_string(e).unwrap());
        }
        assert_eq!(history.len(), 10);
        engine.shutdown().await;
    }
    Ok(())
}
