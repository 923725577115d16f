use weft::{activity, ActivityContext};

#[activity]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, std::io::Error> {
    Ok(name)
}

fn main() {}
