use weft::{activity, ActivityContext, ActivityError};

#[activity]
fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(name)
}

fn main() {}
