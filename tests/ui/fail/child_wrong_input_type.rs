use weft::workflow::ChildWorkflowOptions;
use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn invoice(_ctx: WorkflowContext, order: u64) -> WorkflowResult<String> {
    Ok(format!("invoice {order}"))
}

#[workflow]
async fn order(ctx: WorkflowContext) -> WorkflowResult<String> {
    // The child takes a u64, not a string.
    Ok(ctx.execute_child_workflow(invoice, "42".to_owned(), ChildWorkflowOptions::new("invoice-42")).await?)
}

fn main() {}
