use std::sync::Arc;

use weft::{ActivityContext, ActivityError};

struct Payments;

impl Payments {
    #[allow(dead_code)]
    async fn charge(&self, _ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}

fn main() {
    let _ = weft::Engine::builder().register_activities(Arc::new(Payments));
}
