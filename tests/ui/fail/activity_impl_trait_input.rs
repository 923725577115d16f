use weft::{activity, ActivityContext, ActivityError};

#[activity]
async fn greet(_ctx: ActivityContext, name: impl ToString) -> Result<String, ActivityError> {
    Ok(name.to_string())
}

fn main() {}
