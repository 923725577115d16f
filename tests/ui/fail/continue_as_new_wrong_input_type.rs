use weft::{workflow, WorkflowContext, WorkflowResult};

#[workflow]
async fn count_up(ctx: WorkflowContext, n: u64) -> WorkflowResult<u64> {
    if n < 3 {
        // The workflow's input is a u64.
        return ctx.continue_as_new(count_up, (n + 1, "again"));
    }
    Ok(n)
}

fn main() {}
