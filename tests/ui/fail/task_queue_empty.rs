use weft::{activity, ActivityContext, ActivityError};

#[activity(task_queue = "")]
async fn job(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {}
