use weft::{ActivityContext, activity};

#[activity]
async fn read(_ctx: ActivityContext, path: String) -> Result<String, std::io::Error> {
    std::fs::read_to_string(path)
}

fn main() {}
