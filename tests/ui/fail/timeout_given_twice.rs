use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "10s", start_to_close_timeout = "20s")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
