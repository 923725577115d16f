use weft::{activity, ActivityContext};

#[activity]
async fn greet(_ctx: ActivityContext, name: String) -> String {
    name
}

fn main() {}
