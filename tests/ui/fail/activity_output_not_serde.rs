use weft::{ActivityContext, ActivityError, activity};

pub struct Receipt;

#[activity]
async fn charge(_ctx: ActivityContext) -> Result<Receipt, ActivityError> {
    Ok(Receipt)
}

fn main() {}
