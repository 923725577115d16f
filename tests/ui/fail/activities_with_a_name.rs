use weft::{activities, ActivityContext, ActivityError};

struct Payments;

#[activities(name = "Payments")]
impl Payments {
    #[activity]
    async fn charge(&self, _ctx: ActivityContext) -> Result<(), ActivityError> {
        Ok(())
    }
}

fn main() {}
