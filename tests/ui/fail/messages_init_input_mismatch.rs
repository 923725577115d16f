use weft::{workflow, WorkflowContext, WorkflowResult};

struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[init]
    fn new(start: &u32) -> Self {
        Counter { count: *start }
    }

    #[run]
    async fn run(ctx: WorkflowContext<Self>, start: String) -> WorkflowResult<u32> {
        let _ = start;
        Ok(ctx.state(|s| s.count))
    }
}

fn main() {}
