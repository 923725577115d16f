use weft::{ActivityContext, activity};

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) {
    let _ = cents;
}

fn main() {}
