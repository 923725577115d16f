use weft::{workflow, WorkflowContext};

#[workflow]
async fn hello(_ctx: WorkflowContext) -> Option<String> {
    None
}

fn main() {}
