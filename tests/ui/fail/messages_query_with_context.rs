use std::time::Duration;

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

    #[query]
    fn count(&self, ctx: WorkflowContext<Self>) -> u32 {
        let _ = ctx.sleep(Duration::from_secs(1));
        self.count
    }
}

fn main() {}
