//! Issue 11, item 6: an activity's or a workflow's name stays free for
//! ordinary bindings, parameters and patterns in the same module, as a plain
//! `async fn`'s would, while the stubs keep working.
#![deny(warnings)]

use std::sync::Arc;

use weft::{
    activities, activity, workflow, ActivityContext, ActivityError, ActivityOptions, Client, Engine, WorkflowContext,
    WorkflowResult,
};

#[activity(start_to_close_timeout = "10s")]
async fn step(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

struct Payments;

#[activities]
impl Payments {
    #[activity(start_to_close_timeout = "10s")]
    async fn charge(&self, _ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        Ok(cents)
    }
}

#[workflow]
async fn flow(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let a = ctx.execute_activity(step, n, ActivityOptions::defaults()).await?;
    let b = ctx.execute_activity(Payments::charge, 5, ActivityOptions::defaults()).await?;
    Ok(a + b as u32)
}

struct Point {
    step: u32,
    flow: u32,
}

fn describe(step: u32, flow: u32) -> String {
    format!("step {step} of {flow}")
}

fn bindings() -> u32 {
    let step = 3;
    let flow = 4;
    let charge = 5;
    step + flow + charge
}

fn patterns(pair: (u32, Option<u32>), point: Point) -> u32 {
    let (step, flow) = pair;
    let total = match flow {
        Some(flow) => step + flow,
        None => step,
    };
    let Point { step, flow } = point;
    let closure = |step: u32| step * 2;
    let mut sum = 0;
    for step in 0..step {
        sum += step;
    }
    if let Some(step) = Some(flow) {
        sum += step;
    }
    total + closure(step) + sum
}

async fn start(client: Client) -> weft::Result<u32> {
    let flow_handle = client.start_workflow(flow, "id", 1).await?;
    Ok(flow_handle.result().await?)
}

fn main() {
    let _ = Engine::builder()
        .register_workflow(flow)
        .register_activity(step)
        .register_activities(Arc::new(Payments));
    let _ = start;
    assert_eq!(describe(1, 2), "step 1 of 2");
    assert_eq!(bindings(), 12);
    assert_eq!(patterns((1, Some(2)), Point { step: 3, flow: 4 }), 3 + 6 + 3 + 4);
    use weft::{Activity, Workflow};
    assert_eq!(<step as Activity>::NAME, "step");
    assert_eq!(<flow as Workflow>::NAME, "flow");
}
