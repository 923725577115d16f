use weft::{activity, ActivityError};

#[activity]
async fn greet() -> Result<String, ActivityError> {
    Ok(String::new())
}

fn main() {}
