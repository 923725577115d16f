use weft::{activity, ActivityContext, ActivityError};

#[activity(timeout = "10s")]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
