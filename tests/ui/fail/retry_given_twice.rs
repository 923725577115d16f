use weft::{activity, ActivityContext, ActivityError};

#[activity(retry(maximum_attempts = 2), retry(maximum_attempts = 3))]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
