use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", retry(maximum_attempts = -1))]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
