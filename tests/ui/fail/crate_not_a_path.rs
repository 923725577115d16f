use weft::{ActivityContext, ActivityError, activity};

#[activity(crate = "weft-renamed")]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
