use weft::{workflow, WorkflowResult};

#[workflow]
async fn hello(name: String) -> WorkflowResult<String> {
    Ok(name)
}

fn main() {}
