use weft::{activity, ActivityContext, ActivityError};

pub struct Handle;

#[activity]
async fn open(_ctx: ActivityContext) -> Result<Handle, ActivityError> {
    Ok(Handle)
}

fn main() {}
