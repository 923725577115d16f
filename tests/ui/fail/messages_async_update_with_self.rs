use weft::{workflow, WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx.state(|s| s.count))
    }

    #[update]
    async fn add(&mut self, ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let _ = ctx;
        self.count += n;
        Ok(self.count)
    }
}

fn main() {}
