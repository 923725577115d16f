use weft::{activities, ActivityContext, ActivityError};

#[activities]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
