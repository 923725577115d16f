use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10 parsecs")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
