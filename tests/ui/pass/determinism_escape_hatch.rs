#![deny(warnings)]

//! The determinism check's accepted forms: the context's replacements, a
//! biased `select!`, and statements marked `#[nondeterministic]`.

use std::time::{Duration, Instant};

use weft::{WorkflowContext, WorkflowResult};

#[weft::workflow]
async fn careful(ctx: WorkflowContext) -> WorkflowResult<u64> {
    let _now = ctx.now();
    let _id = ctx.uuid();
    ctx.sleep(Duration::from_secs(1)).await?;

    // Measures how long replay takes; never feeds a decision.
    #[nondeterministic]
    let started = Instant::now();
    #[weft::nondeterministic]
    println!("{:?}", started.elapsed());
    #[nondeterministic]
    {
        let _ = std::env::var("DEBUG_WORKFLOW");
    }

    let fired = tokio::select! {
        biased;
        r = ctx.sleep(Duration::from_secs(1)) => r.is_ok(),
        _ = std::future::ready(()) => false,
    };
    Ok(u64::from(fired) + ctx.random())
}

/// A user function named like a forbidden one, but not one of them.
mod clock {
    pub fn now() -> u64 {
        7
    }
}

#[weft::workflow]
async fn lookalike(_ctx: WorkflowContext) -> WorkflowResult<u64> {
    Ok(clock::now())
}

fn main() {
    let _ = weft::Engine::builder().register_workflow(careful).register_workflow(lookalike);
}
