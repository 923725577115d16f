// Several inputs become one tuple, of any arity; patterns and `mut` still work.
use serde::{Deserialize, Serialize};
use weft::{Activity, ActivityContext, ActivityError, Workflow, WorkflowContext, WorkflowResult, activity, workflow};

#[derive(Serialize, Deserialize)]
pub struct Account(pub String);

#[activity]
async fn transfer(_ctx: ActivityContext, from: Account, to: Account, cents: u64) -> Result<String, ActivityError> {
    Ok(format!("{} -> {}: {cents}", from.0, to.0))
}

#[activity]
async fn seven(
    _ctx: ActivityContext,
    a: u8,
    mut b: u16,
    (c, d): (u32, u64),
    e: String,
    f: Vec<i32>,
    Account(g): Account,
    h: Option<bool>,
) -> Result<usize, ActivityError> {
    b += 1;
    Ok(a as usize + b as usize + c as usize + d as usize + e.len() + f.len() + g.len() + usize::from(h.is_some()))
}

#[workflow]
async fn pair(_ctx: WorkflowContext, left: String, right: String) -> WorkflowResult<String> {
    Ok(left + &right)
}

fn activity_types<A: Activity<Input = I, Output = O>, I, O>(_: A) {}
fn workflow_types<W: Workflow<Input = I, Output = O>, I, O>(_: W) {}

fn main() {
    activity_types::<_, (Account, Account, u64), String>(transfer);
    activity_types::<_, (u8, u16, (u32, u64), String, Vec<i32>, Account, Option<bool>), usize>(seven);
    workflow_types::<_, (String, String), String>(pair);
}
