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

    #[signal]
    fn bump(&mut self) -> u32 {
        self.count += 1;
        self.count
    }
}

fn main() {}
