use weft::{workflow, WorkflowContext, WorkflowResult};

// No `#[init]`: the state starts as `Default::default()`, which it lacks.
struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx.state(|s| s.count))
    }
}

fn main() {}
