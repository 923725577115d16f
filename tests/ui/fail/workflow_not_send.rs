use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use weft::{WorkflowContext, WorkflowResult, workflow};

#[workflow]
async fn checkout(ctx: WorkflowContext) -> WorkflowResult<u32> {
    let count = Rc::new(RefCell::new(0));
    ctx.sleep(Duration::from_secs(1)).await;
    *count.borrow_mut() += 1;
    let n = *count.borrow();
    Ok(n)
}

fn main() {}
