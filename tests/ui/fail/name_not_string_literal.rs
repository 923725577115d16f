use weft::{ActivityContext, ActivityError, activity};

#[activity(name = Charge)]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
