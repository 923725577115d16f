use weft::{activity, ActivityError};

struct Payments;

impl Payments {
    #[activity]
    async fn charge(&self, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}

fn main() {}
