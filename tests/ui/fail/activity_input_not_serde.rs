use weft::{activity, ActivityContext, ActivityError};

pub struct Secret;

#[activity]
async fn keep(_ctx: ActivityContext, secret: Secret) -> Result<(), ActivityError> {
    let _ = secret;
    Ok(())
}

fn main() {}
