use weft::{ActivityContext, ActivityError, activity};

#[activity]
async fn echo<T: Send>(_ctx: ActivityContext, value: T) -> Result<T, ActivityError> {
    Ok(value)
}

fn main() {}
