use weft::{activity, ActivityContext};

#[activity]
async fn greet(_ctx: ActivityContext, _name: String) {}

fn main() {}
