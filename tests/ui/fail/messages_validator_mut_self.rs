use weft::{workflow, WorkflowContext, WorkflowError, WorkflowResult};

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
    fn add(&mut self, n: u32) -> WorkflowResult<u32> {
        self.count += n;
        Ok(self.count)
    }

    #[validator(add)]
    fn check_add(&mut self, n: &u32) -> Result<(), WorkflowError> {
        self.count += *n;
        Ok(())
    }
}

fn main() {}
