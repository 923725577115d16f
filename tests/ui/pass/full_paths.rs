use std::time::Duration;

#[weft::activity]
async fn echo(_ctx: weft::ActivityContext, text: String) -> ::core::result::Result<String, weft::ActivityError> {
    Ok(text)
}

#[weft::workflow]
async fn echoes(ctx: weft::WorkflowContext, text: String) -> Result<String, ::weft::WorkflowError> {
    Ok(ctx.execute_activity(echo, text, weft::ActivityOptions::start_to_close(Duration::from_secs(1))).await?)
}

fn main() {
    let _ = weft::Engine::builder().register_activity(echo).register_workflow(echoes);
}
