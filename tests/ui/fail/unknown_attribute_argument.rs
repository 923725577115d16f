use weft::{ActivityContext, ActivityError, activity};

#[activity(nmae = "Charge")]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
