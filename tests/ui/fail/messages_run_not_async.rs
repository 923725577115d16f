use weft::{workflow, WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[run]
    fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx.state(|s| s.count))
    }
}

fn main() {}
