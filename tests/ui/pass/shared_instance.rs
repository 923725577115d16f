#![deny(warnings)]

//! `#[activities]`: `&self` and `self: Arc<Self>` methods, several inputs,
//! defaults, plain methods beside them, and registration of the instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use weft::{
    Activity, ActivityContext, ActivityError, ActivityOptions, Engine, WorkflowContext, WorkflowResult, activities,
};

pub struct Payments {
    charged: AtomicU64,
}

#[activities]
impl Payments {
    /// Charges a card.
    #[weft::activity(start_to_close_timeout = "10s")]
    pub async fn charge(&self, _ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(self.record(cents))
    }

    /// Moves money between two accounts.
    #[activity(name = "Payments.transfer")]
    pub async fn transfer(
        self: Arc<Self>,
        _ctx: ActivityContext,
        from: String,
        to: String,
        cents: u64,
    ) -> Result<String, ActivityError> {
        Ok(format!("{cents} from {from} to {to}, {} in all", self.record(cents)))
    }

    /// An ordinary method: not an activity.
    fn record(&self, cents: u64) -> u64 {
        self.charged.fetch_add(cents, Ordering::Relaxed) + cents
    }

    #[activity(start_to_close_timeout = "1s")]
    async fn private_audit(&self, _ctx: ActivityContext) -> Result<(), ActivityError> {
        Ok(())
    }
}

#[weft::workflow]
async fn checkout(ctx: WorkflowContext, cents: u64) -> WorkflowResult<String> {
    let total = ctx.execute_activity(Payments::charge, cents, ActivityOptions::defaults()).await?;
    let options = ActivityOptions::start_to_close(Duration::from_secs(5));
    let moved = ctx.execute_activity(Payments::transfer, ("a".to_owned(), "b".to_owned(), total), options).await?;
    Ok(moved)
}

fn name_of<A: Activity>(_stub: A) -> &'static str {
    A::NAME
}

fn main() {
    assert_eq!(name_of(Payments::charge), "charge");
    assert_eq!(name_of(Payments::transfer), "Payments.transfer");
    assert_eq!(name_of(Payments::private_audit), "private_audit");
    let _ = Engine::builder()
        .in_memory()
        .register_workflow(checkout)
        .register_activities(Arc::new(Payments { charged: AtomicU64::new(0) }));
}
