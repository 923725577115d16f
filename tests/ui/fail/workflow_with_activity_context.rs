use weft::{ActivityContext, WorkflowResult, workflow};

#[workflow]
async fn checkout(_ctx: ActivityContext, order: String) -> WorkflowResult<String> {
    Ok(order)
}

fn main() {}
