use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "0s")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
