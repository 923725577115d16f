use weft::{activity, ActivityContext, ActivityError};

#[activity(retry = 5)]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
