use weft::{ActivityContext, ActivityError, activity};

pub struct Card {
    pub number: String,
}

#[activity]
async fn charge(_ctx: ActivityContext, card: Card) -> Result<(), ActivityError> {
    let _ = card.number;
    Ok(())
}

fn main() {}
