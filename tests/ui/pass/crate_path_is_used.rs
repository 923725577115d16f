// Generated code reaches the runtime only through the `crate = "..."` path:
// here that path is a stand-in facade whose traits are not weft's, so this
// only compiles if no `::weft::` path was generated.
use weft::{ActivityContext, ActivityError, WorkflowContext, WorkflowResult};

mod facade {
    pub mod __private {
        use std::future::Future;

        pub use weft::__private::{ActivityContext, ActivityError, WorkflowContext, WorkflowResult};

        pub trait Activity {
            type Input;
            type Output;
            const NAME: &'static str;
        }

        pub trait ActivityFn: Activity {
            fn run(
                ctx: ActivityContext,
                input: Self::Input,
            ) -> impl Future<Output = Result<Self::Output, ActivityError>> + Send + 'static;
        }

        pub trait Workflow {
            type Input;
            type Output;
            const NAME: &'static str;

            fn run(
                ctx: WorkflowContext,
                input: Self::Input,
            ) -> impl Future<Output = WorkflowResult<Self::Output>> + Send + 'static;
        }
    }
}

use facade::__private::{Activity, ActivityFn, Workflow};

#[weft::activity(crate = "crate::facade")]
async fn charge(_ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[weft::workflow(crate = "crate::facade")]
async fn checkout(_ctx: WorkflowContext, order: String) -> WorkflowResult<String> {
    Ok(order)
}

fn activity_fn<A: ActivityFn<Input = u64, Output = u64>>(_: A) {}
fn workflow<W: Workflow<Input = String, Output = String>>(_: W) {}

fn main() {
    activity_fn(charge);
    workflow(checkout);
    assert_eq!(<charge as Activity>::NAME, "charge");
    assert_eq!(<checkout as Workflow>::NAME, "checkout");
}
