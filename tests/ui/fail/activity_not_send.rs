use std::rc::Rc;

use weft::{activity, ActivityContext, ActivityError};

#[activity]
async fn count(_ctx: ActivityContext) -> Result<usize, ActivityError> {
    let shared = Rc::new(1);
    tokio::task::yield_now().await;
    Ok(*shared)
}

fn main() {}
