use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", retry(non_retryable = "BadInput"))]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
