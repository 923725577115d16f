use std::time::Duration;

use weft::{activities, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

struct Bank;

#[activities]
impl Bank {
    #[activity]
    async fn transfer(&self, _ctx: ActivityContext, from: String, to: String, cents: u64) -> Result<(), ActivityError> {
        let _ = (from, to, cents);
        Ok(())
    }
}

#[workflow]
async fn pay(ctx: WorkflowContext) -> WorkflowResult<()> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(1));
    Ok(ctx.execute_activity(Bank::transfer, ("a".to_owned(), 100_u64, "b".to_owned()), options).await?)
}

fn main() {}
