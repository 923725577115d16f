// `#[activity]` on a method: the method is given back unchanged, so the only
// error is ours.
use weft::{ActivityContext, ActivityError, activity};

pub struct Payments;

impl Payments {
    #[activity]
    pub async fn charge(&self, _ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}

fn main() {
    let _ = Payments::charge;
}
