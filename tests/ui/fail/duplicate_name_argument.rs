use weft::{WorkflowContext, WorkflowResult, workflow};

#[workflow(name = "Checkout", name = "CheckoutV2")]
async fn checkout(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

fn main() {}
