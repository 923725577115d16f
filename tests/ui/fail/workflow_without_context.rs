use weft::{WorkflowResult, workflow};

#[workflow]
async fn checkout(order: String) -> WorkflowResult<String> {
    Ok(order)
}

fn main() {}
