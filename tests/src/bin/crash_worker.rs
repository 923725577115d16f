//! The process the crash test kills: it runs N workflows of five activities,
//! one local activity and one durable timer each, and N / 5 families (a
//! parent that starts two child workflows of one activity each, three runs
//! long by continue-as-new), on an SQLite store, and exits 0 once all have
//! completed. Every activity attempt appends `workflow activity attempt pid`
//! to a witness file before it returns.
//!
//! Usage: `crash_worker STORE WITNESS N`, or `crash_worker STORE WITNESS slow-local`:
//! one workflow whose local activity appends `started` lines to the witness
//! file as it starts and then takes two seconds.

use std::io::Write;
use std::time::Duration;

use weft::{
    ActivityContext, ActivityError, ActivityOptions, ChildWorkflowOptions, Engine, Error, RetryPolicy, WorkflowContext,
    WorkflowIdReusePolicy, WorkflowOptions, WorkflowResult, activity, workflow,
};

/// Every activity may run at most this many attempts (the crash test checks it).
pub const MAX_ATTEMPTS: u32 = 25;

#[activity]
async fn step(ctx: ActivityContext, workflow: u32, index: u32, witness: String) -> Result<u32, ActivityError> {
    // Vary the work so that kills land in every phase.
    let pause = 20 + (workflow * 7 + index * 13 + ctx.attempt() * 31) % 100;
    tokio::time::sleep(Duration::from_millis(u64::from(pause))).await;
    let line = format!("{} {} {} {}\n", ctx.workflow_id(), ctx.activity_id(), ctx.attempt(), std::process::id());
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&witness)?;
    file.write_all(line.as_bytes())?;
    Ok(workflow * 10 + index)
}

/// Five steps; a 50 ms durable timer after the second, then a local step (index 5, id `local`).
#[workflow]
async fn five_steps(ctx: WorkflowContext, n: u32, witness: String) -> WorkflowResult<u32> {
    let options = options();
    let mut sum = 0;
    for index in 0..5 {
        sum += ctx.execute_activity(step, (n, index, witness.clone()), options.clone()).await?;
        if index == 1 {
            ctx.sleep(Duration::from_millis(50)).await?;
            let local = options.clone().activity_id("local");
            sum += ctx.execute_local_activity(step, (n, 5, witness.clone()), local).await?;
        }
    }
    Ok(sum)
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(Duration::from_secs(10))
        .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(10)).maximum_attempts(MAX_ATTEMPTS))
}

/// The runs of a family; each starts two members.
pub const FAMILY_RUNS: u32 = 3;

/// One child: one step.
#[workflow]
async fn member(ctx: WorkflowContext, n: u32, index: u32, witness: String) -> WorkflowResult<u32> {
    Ok(ctx.execute_activity(step, (n, index, witness), options()).await?)
}

/// Two children at once per run; continues as new until `FAMILY_RUNS` runs, summing.
#[workflow]
async fn family(ctx: WorkflowContext, n: u32, round: u32, sum: u32, witness: String) -> WorkflowResult<u32> {
    let child = |k: u32| ChildWorkflowOptions::new(format!("family-{n}-{round}-{k}"));
    let a = ctx.start_child_workflow(member, (n, round * 2, witness.clone()), child(0)).await?;
    let b = ctx.start_child_workflow(member, (n, round * 2 + 1, witness.clone()), child(1)).await?;
    let sum = sum + a.await? + b.await?;
    if round + 1 < FAMILY_RUNS {
        return ctx.continue_as_new(family, (n, round + 1, sum, witness));
    }
    Ok(sum)
}

/// Appends `started` to the witness, then takes two seconds.
#[activity]
async fn slow_local(ctx: ActivityContext, witness: String) -> Result<u32, ActivityError> {
    let line = format!("{} started {} {}\n", ctx.workflow_id(), ctx.attempt(), std::process::id());
    std::fs::OpenOptions::new().create(true).append(true).open(&witness)?.write_all(line.as_bytes())?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(7)
}

/// One local activity, then a timer.
#[workflow]
async fn slow_local_step(ctx: WorkflowContext, witness: String) -> WorkflowResult<u32> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(30));
    let result = ctx.execute_local_activity(slow_local, witness, options).await?;
    ctx.sleep(Duration::from_millis(10)).await?;
    Ok(result)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(store), Some(witness), Some(n)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: crash_worker STORE WITNESS N".into());
    };
    let engine = Engine::builder()
        .sqlite(&store)
        .register_workflow(five_steps)
        .register_workflow(slow_local_step)
        .register_workflow(family)
        .register_workflow(member)
        .register_activity(step)
        .register_activity(slow_local)
        .build()
        .await?;
    if n == "slow-local" {
        let client = engine.client();
        let options = WorkflowOptions::new("slow-local").id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate);
        match client.start_workflow_with(slow_local_step, options, witness).await {
            Ok(_) | Err(Error::AlreadyStarted { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        client.workflow_handle(slow_local_step, "slow-local").await?.result().await?;
        engine.shutdown().await;
        return Ok(());
    }
    let n: u32 = n.parse()?;
    let client = engine.client();
    for i in 0..n {
        // A restarted worker must not start completed workflows again.
        let options =
            WorkflowOptions::new(format!("crash-{i}")).id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate);
        match client.start_workflow_with(five_steps, options, (i, witness.clone())).await {
            Ok(_) | Err(Error::AlreadyStarted { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for i in 0..n / 5 {
        let options =
            WorkflowOptions::new(format!("family-{i}")).id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate);
        match client.start_workflow_with(family, options, (i, 0, 0, witness.clone())).await {
            Ok(_) | Err(Error::AlreadyStarted { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for i in 0..n {
        let handle = client.workflow_handle(five_steps, &format!("crash-{i}")).await?;
        handle.result().await?;
    }
    for i in 0..n / 5 {
        // The newest run: a restarted worker may come in mid-chain; result() follows it to the end.
        let handle = client.workflow_handle(family, &format!("family-{i}")).await?;
        handle.result().await?;
    }
    engine.shutdown().await;
    println!("all {n} workflows completed");
    Ok(())
}
