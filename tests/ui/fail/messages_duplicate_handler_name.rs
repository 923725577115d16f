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
    fn a(&mut self) {
        self.count += 1;
    }

    #[query(name = "a")]
    fn b(&self) -> u32 {
        self.count
    }
}

fn main() {}
