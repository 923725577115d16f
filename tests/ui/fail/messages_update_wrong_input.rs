use weft::{workflow, Client, WorkflowContext, WorkflowHandle, WorkflowResult};

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

    #[update]
    pub fn add(&mut self, item: String) -> WorkflowResult<usize> {
        self.items.push(item);
        Ok(self.items.len())
    }
}

pub async fn add(client: &Client, handle: &WorkflowHandle<Cart>) -> weft::Result<usize> {
    client.update(handle, Cart::add, 5u32).await
}

fn main() {}
