use weft::{activity, ActivityContext, ActivityError};

#[activity(crate = "not a path")]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
