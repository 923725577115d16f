use weft::{workflow, WorkflowContext, WorkflowResult};

/// Stands in for the chrono crate.
mod chrono {
    pub struct Utc;
    impl Utc {
        pub fn now() -> u64 {
            0
        }
    }
}

#[workflow]
async fn flow(ctx: WorkflowContext) -> WorkflowResult<()> {
    let _t = chrono::Utc::now();
    let _ = ctx;
    Ok(())
}

fn main() {}
