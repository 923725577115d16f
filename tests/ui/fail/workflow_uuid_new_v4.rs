use weft::{workflow, WorkflowContext, WorkflowResult};

/// Stands in for the uuid crate.
struct Uuid;
impl Uuid {
    fn new_v4() -> Self {
        Uuid
    }
}

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _id = Uuid::new_v4();
    let _ = ctx;
    Ok(())
}

fn main() {}
