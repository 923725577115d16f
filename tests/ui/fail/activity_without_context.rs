use weft::{ActivityError, activity};

#[activity]
async fn charge(cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

fn main() {}
