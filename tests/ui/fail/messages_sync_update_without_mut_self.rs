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
    fn add(n: u32) -> WorkflowResult<u32> {
        Ok(n)
    }

    #[update]
    fn peek(&self, n: u32) -> WorkflowResult<u32> {
        Ok(self.count + n)
    }

    // Not reported missing: `peek` is there, only wrong.
    #[validator(peek)]
    fn check_peek(&self, n: &u32) -> Result<(), WorkflowError> {
        let _ = n;
        Ok(())
    }
}

fn main() {}
