use std::cell::Cell;

use weft::{activities, ActivityContext, ActivityError};

struct Counter {
    calls: Cell<u64>,
}

#[activities]
impl Counter {
    #[activity]
    async fn count(&self, _ctx: ActivityContext) -> Result<u64, ActivityError> {
        Ok(self.calls.get())
    }
}

fn main() {}
