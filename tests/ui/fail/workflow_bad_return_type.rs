use weft::{ActivityError, WorkflowContext, workflow};

#[workflow]
async fn checkout(_ctx: WorkflowContext) -> Result<String, ActivityError> {
    Ok(String::new())
}

fn main() {}
