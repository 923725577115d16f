use weft::{WorkflowContext, WorkflowResult, workflow};

#[workflow]
fn checkout(_ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
    Ok(order)
}

fn main() {
    let _ = checkout;
}
