use weft::{ActivityError, activity};

#[activity]
async fn ping() -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
