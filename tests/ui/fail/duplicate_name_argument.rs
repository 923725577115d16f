use weft::{activity, ActivityContext, ActivityError};

#[activity(name = "Greet", name = "Hello")]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
