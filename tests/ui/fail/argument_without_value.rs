use weft::{ActivityContext, ActivityError, activity};

#[activity(name)]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
