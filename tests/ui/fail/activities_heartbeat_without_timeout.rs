use std::sync::Arc;

use weft::{activities, ActivityContext, ActivityError};

struct Payments;

#[activities]
impl Payments {
    #[activity(start_to_close_timeout = "10s")]
    async fn charge(&self, ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        ctx.heartbeat(&cents)?;
        Ok(cents)
    }
}

fn main() {
    let _ = Arc::new(Payments);
}
