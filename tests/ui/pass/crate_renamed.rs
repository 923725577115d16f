// `crate = "..."` points generated code at a renamed runtime crate.
extern crate weft as renamed_weft;

use renamed_weft::{Activity, ActivityContext, ActivityError, Workflow, WorkflowContext, WorkflowResult};

#[renamed_weft::activity(crate = "renamed_weft")]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[renamed_weft::workflow(crate = "::renamed_weft", name = "Checkout")]
async fn checkout(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(())
}

mod facade {
    pub use renamed_weft::*;
}

#[renamed_weft::activity(crate = "crate::facade")]
async fn through_a_module(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

fn main() {
    assert_eq!(<charge as Activity>::NAME, "charge");
    assert_eq!(<checkout as Workflow>::NAME, "Checkout");
    assert_eq!(<through_a_module as Activity>::NAME, "through_a_module");
}
