use weft::{ActivityContext, activity};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> u64 {
    cents
}

fn main() {}
