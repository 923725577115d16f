use weft::{activity, ActivityContext, ActivityError};

#[activity(schedule_to_close_timeout = "11years")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
