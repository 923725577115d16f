use serde::{Deserialize, Serialize};
use weft::{workflow, Client, WorkflowContext, WorkflowHandle, WorkflowResult};

#[derive(Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
}

#[derive(Default)]
pub struct Order {
    approved: bool,
}

#[workflow]
impl Order {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.approved).await?;
        Ok(())
    }

    #[signal]
    pub fn approve(&mut self, approval: Approval) {
        let _ = approval;
        self.approved = true;
    }
}

pub async fn approve(client: &Client, handle: &WorkflowHandle<Order>) -> weft::Result<()> {
    client.signal(handle, Order::approve, 5u32).await
}

fn main() {}
