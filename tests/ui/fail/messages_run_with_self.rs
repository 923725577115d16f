use weft::{workflow, WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Counter {
    count: u32,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(&mut self, ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        let _ = ctx;
        Ok(self.count)
    }
}

fn main() {}
