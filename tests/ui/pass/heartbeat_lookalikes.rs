//! Issue 11, item 11: a `heartbeat` method of something that is not the
//! activity's context does not need a heartbeat timeout.
#![deny(warnings)]

use weft::{activity, ActivityContext, ActivityError};

struct Lease;

impl Lease {
    fn acquire(_ctx: &ActivityContext) -> Lease {
        Lease
    }

    fn heartbeat(&self, _n: u32) {}
}

#[activity(start_to_close_timeout = "1m")]
async fn renews_a_lease(ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    let lease = Lease::acquire(&ctx);
    lease.heartbeat(n);
    Lease.heartbeat(n);
    let id = ctx.activity_id().len() as u32;
    Ok(n + id)
}

fn main() {
    let _ = weft::Engine::builder().register_activity(renews_a_lease);
}
