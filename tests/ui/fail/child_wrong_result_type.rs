use weft::workflow::ChildWorkflowOptions;
use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn invoice(_ctx: WorkflowContext, order: u64) -> WorkflowResult<String> {
    Ok(format!("invoice {order}"))
}

#[workflow]
async fn order(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let child = ctx.start_child_workflow(invoice, 42, ChildWorkflowOptions::new("invoice-42")).await?;
    // The child returns a String, not a u64.
    let total: u64 = child.await?;
    Ok(total)
}

fn main() {}
