use std::time::SystemTime;

use weft::{workflow, WorkflowContext, WorkflowResult};

#[derive(Default)]
struct Order {
    approved_at: Option<SystemTime>,
}

#[workflow]
impl Order {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.approved_at.is_some()).await?;
        Ok(())
    }

    #[signal]
    fn approve(&mut self) {
        self.approved_at = Some(std::time::SystemTime::now());
    }

    #[query]
    fn age(&self) -> u64 {
        let now = SystemTime::now();
        self.approved_at.map_or(0, |t| now.duration_since(t).map_or(0, |d| d.as_secs()))
    }
}

fn main() {}
