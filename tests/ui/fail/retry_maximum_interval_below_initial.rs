use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", retry(initial_interval = "1m", maximum_interval = "10s"))]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
