use std::rc::Rc;

use weft::{ActivityContext, ActivityError, activity};

async fn audit() {}

#[activity]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    let shared = Rc::new(cents);
    audit().await;
    Ok(*shared)
}

fn main() {}
