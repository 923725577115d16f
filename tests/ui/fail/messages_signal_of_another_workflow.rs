use weft::{workflow, Client, WorkflowContext, WorkflowHandle, WorkflowResult};

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
    pub fn approve(&mut self) {
        self.approved = true;
    }
}

#[derive(Default)]
pub struct Cart {
    items: Vec<String>,
}

#[workflow]
impl Cart {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<usize> {
        ctx.wait_condition(|s| s.items.len() > 2).await?;
        Ok(ctx.state(|s| s.items.len()))
    }

    #[signal]
    pub fn add(&mut self, item: String) {
        self.items.push(item);
    }
}

pub async fn add(client: &Client, order: &WorkflowHandle<Order>) -> weft::Result<()> {
    client.signal(order, Cart::add, "pear".to_owned()).await
}

fn main() {}
