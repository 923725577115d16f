use weft::{activity, ActivityError};

#[activity]
async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
