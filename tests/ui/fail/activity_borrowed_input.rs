use weft::{ActivityContext, ActivityError, activity};

#[activity]
async fn greet(_ctx: ActivityContext, name: &str) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
