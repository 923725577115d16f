use weft::{activities, ActivityContext, ActivityError};

struct Store<T>(T);

#[activities]
impl<T: Send + Sync + 'static> Store<T> {
    #[activity]
    async fn get(&self, _ctx: ActivityContext) -> Result<u64, ActivityError> {
        Ok(1)
    }
}

fn main() {}
