#![deny(warnings)]

//! The generated code names nothing from the prelude.

use std::time::Duration;

#[allow(dead_code)]
struct Result;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct None;
#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct Send;

#[weft::activity]
async fn echo(
    _ctx: weft::ActivityContext,
    text: std::string::String,
) -> core::result::Result<std::string::String, weft::ActivityError> {
    core::result::Result::Ok(text)
}

#[weft::workflow]
async fn echoes(ctx: weft::WorkflowContext, text: std::string::String) -> weft::WorkflowResult<std::string::String> {
    let options = weft::ActivityOptions::start_to_close(Duration::from_secs(1));
    match ctx.execute_activity(echo, text, options).await {
        core::result::Result::Ok(text) => core::result::Result::Ok(text),
        core::result::Result::Err(e) => core::result::Result::Err(e.into()),
    }
}

struct Shared;

#[weft::activities]
impl Shared {
    #[activity(start_to_close_timeout = "1s", retry(maximum_attempts = 2, non_retryable = ["Bad"]), task_queue = "q")]
    async fn shout(
        &self,
        _ctx: weft::ActivityContext,
        text: std::string::String,
        times: u32,
    ) -> core::result::Result<std::string::String, weft::ActivityError> {
        core::result::Result::Ok(text.repeat(times as usize))
    }
}

#[weft::workflow]
async fn shouts(ctx: weft::WorkflowContext, text: std::string::String) -> weft::WorkflowResult<std::string::String> {
    match ctx.execute_activity(Shared::shout, (text, 2), weft::ActivityOptions::defaults()).await {
        core::result::Result::Ok(text) => core::result::Result::Ok(text),
        core::result::Result::Err(e) => core::result::Result::Err(e.into()),
    }
}

fn main() {
    let _ = weft::Engine::builder().register_activity(echo).register_workflow(echoes).register_workflow(shouts).register_activities(std::sync::Arc::new(Shared));
}
