use std::time::Duration;

use weft::{activity, workflow, ActivityContext, ActivityError, ActivityOptions, WorkflowContext, WorkflowResult};

#[activity]
async fn seven(
    _ctx: ActivityContext,
    a: u8,
    b: u16,
    c: u32,
    d: u64,
    e: String,
    f: bool,
    g: Vec<i32>,
) -> Result<String, ActivityError> {
    Ok(format!("{a}{b}{c}{d}{e}{f}{g:?}"))
}

#[workflow]
async fn calls_seven(ctx: WorkflowContext, e: String, f: bool) -> WorkflowResult<String> {
    let options = ActivityOptions::start_to_close(Duration::from_secs(5));
    Ok(ctx.execute_activity(seven, (1, 2, 3, 4, e, f, vec![7]), options).await?)
}

fn main() {
    use weft::Workflow;
    let _: Option<<calls_seven as Workflow>::Input> = Some(("e".to_owned(), true));
}
