use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", retry(max_attempts = 5))]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
