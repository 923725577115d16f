use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "1m")]
async fn job(ctx: ActivityContext, items: u32) -> Result<(), ActivityError> {
    for item in 0..items {
        ctx.heartbeat(&item)?;
    }
    Ok(())
}

fn main() {}
