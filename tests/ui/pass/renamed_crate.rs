extern crate weft as renamed_weft;

use std::time::Duration;

use renamed_weft::{ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[renamed_weft::activity(crate = "renamed_weft")]
async fn echo(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    Ok(text)
}

#[renamed_weft::workflow(crate = "renamed_weft", name = "Echoes")]
async fn echoes(ctx: WorkflowContext, text: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(echo, text, ActivityOptions::start_to_close(Duration::from_secs(1))).await?)
}

struct Shouter;

#[renamed_weft::activities(crate = "renamed_weft")]
impl Shouter {
    #[activity(start_to_close_timeout = "1s", retry(maximum_attempts = 2))]
    async fn shout(&self, _ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
        Ok(text.to_uppercase())
    }
}

#[renamed_weft::workflow(crate = "renamed_weft")]
async fn shouts(ctx: WorkflowContext, text: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(Shouter::shout, text, ActivityOptions::defaults()).await?)
}

fn main() {
    let _ = renamed_weft::Engine::builder().register_activity(echo).register_workflow(echoes).register_workflow(shouts).register_activities(std::sync::Arc::new(Shouter));
}
