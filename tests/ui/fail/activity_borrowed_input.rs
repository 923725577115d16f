use weft::{activity, ActivityContext, ActivityError};

#[activity]
async fn greet(_ctx: ActivityContext, name: &str) -> Result<String, ActivityError> {
    Ok(name.to_owned())
}

fn main() {}
