use serde::{Deserialize, Serialize};
use weft::{Activity, ActivityContext, ActivityError, activity};

#[derive(Serialize, Deserialize)]
pub struct YourParams {
    pub greeting: String,
    pub name: String,
}

/// Greets.
#[activity]
pub async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
    Ok(format!("{}, {}!", input.greeting, input.name))
}

fn main() {
    fn input_is<A: Activity<Input = YourParams, Output = String>>(_: A) {}
    input_is(your_activity);
    assert_eq!(<your_activity as Activity>::NAME, "your_activity");
}
