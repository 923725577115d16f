use std::sync::Arc;

use weft::{activities, ActivityContext, ActivityError};

struct Payments;

#[activities]
impl Payments {
    #[activity]
    async fn charge(self, _ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}

fn main() {
    let _ = Arc::new(Payments);
}
