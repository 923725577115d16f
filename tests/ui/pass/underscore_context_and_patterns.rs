use weft::{activity, ActivityContext, ActivityError};

#[activity]
async fn add(_: ActivityContext, (a, b): (u32, u32), mut c: u32) -> Result<u32, ActivityError> {
    c += a + b;
    Ok(c)
}

fn main() {
    use weft::Activity;
    let _: Option<<add as Activity>::Input> = Some(((1, 2), 3));
}
