use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", heartbeat_timeout = "1m")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
