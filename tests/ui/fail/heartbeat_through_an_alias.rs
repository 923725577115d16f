//! Issue 11, item 11: heartbeats through a clone, a moved context, a closure
//! and a typed binding need a heartbeat timeout too.
use weft::{activity, ActivityContext, ActivityError};

#[activity(start_to_close_timeout = "1m")]
async fn through_a_clone(ctx: ActivityContext) -> Result<(), ActivityError> {
    let c = ctx.clone();
    c.heartbeat(&1)?;
    Ok(())
}

#[activity(start_to_close_timeout = "1m")]
async fn through_a_move_and_a_task(ctx: ActivityContext) -> Result<(), ActivityError> {
    let moved = ctx;
    let task = tokio::spawn(async move {
        let _ = moved.heartbeat(&2);
    });
    let _ = task.await;
    Ok(())
}

#[activity(start_to_close_timeout = "1m")]
async fn through_a_closure(ctx: ActivityContext) -> Result<(), ActivityError> {
    let beat = |c: &ActivityContext, n: u32| c.heartbeat(&n);
    beat(&ctx, 3)?;
    Ok(())
}

#[activity(start_to_close_timeout = "1m")]
async fn through_a_chain(ctx: ActivityContext) -> Result<(), ActivityError> {
    ctx.clone().heartbeat(&4)?;
    Ok(())
}

#[activity(start_to_close_timeout = "1m")]
async fn through_an_untyped_closure(ctx: ActivityContext) -> Result<(), ActivityError> {
    let beat = |c| ActivityContext::heartbeat(c, &5);
    beat(&ctx)?;
    Ok(())
}

fn main() {}
