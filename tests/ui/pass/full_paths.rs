// Result, the error types and the contexts may be written with full paths.
use weft::{Activity, Workflow, activity, workflow};

#[activity]
async fn short(_ctx: weft::ActivityContext) -> Result<u8, weft::ActivityError> {
    Ok(1)
}

#[activity]
async fn absolute(_ctx: ::weft::ActivityContext) -> ::core::result::Result<u8, ::weft::ActivityError> {
    Ok(1)
}

#[activity]
async fn std_result(_ctx: weft::ActivityContext) -> std::result::Result<Vec<u8>, weft::ActivityError> {
    Ok(Vec::new())
}

#[workflow]
async fn alias(_ctx: weft::WorkflowContext) -> weft::WorkflowResult<u8> {
    Ok(1)
}

#[workflow]
async fn explicit(_ctx: weft::WorkflowContext) -> Result<u8, weft::WorkflowError> {
    Ok(1)
}

#[workflow]
async fn absolute_explicit(_ctx: ::weft::WorkflowContext) -> ::std::result::Result<u8, ::weft::WorkflowError> {
    Ok(1)
}

fn activity_output<A: Activity<Output = O>, O>(_: A) {}
fn workflow_output<W: Workflow<Output = O>, O>(_: W) {}

fn main() {
    activity_output::<_, u8>(short);
    activity_output::<_, u8>(absolute);
    activity_output::<_, Vec<u8>>(std_result);
    workflow_output::<_, u8>(alias);
    workflow_output::<_, u8>(explicit);
    workflow_output::<_, u8>(absolute_explicit);
}
