use weft::{activity, ActivityError};

#[activity]
fn greet(name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
