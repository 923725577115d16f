//! Idempotent start: an open id refuses a second start; a closed one follows
//! the reuse policy, as in Temporal.

use weft::testing::TestEnv;
use weft::{
    Engine, Error, RunStatus, WorkflowContext, WorkflowError, WorkflowIdReusePolicy, WorkflowOptions, WorkflowResult,
    workflow,
};

#[workflow]
async fn maybe_fail(_ctx: WorkflowContext, fail: bool) -> WorkflowResult<()> {
    if fail { Err(WorkflowError::new("asked to fail")) } else { Ok(()) }
}

fn with(id: &str, policy: WorkflowIdReusePolicy) -> WorkflowOptions {
    WorkflowOptions::new(id).id_reuse_policy(policy)
}

#[tokio::test(start_paused = true)]
async fn reuse_policies_decide_whether_a_closed_id_starts_again() -> weft::Result<()> {
    let env = TestEnv::start(Engine::builder().register_workflow(maybe_fail)).await?;
    let client = env.client();

    let first = client.start_workflow(maybe_fail, "ok", false).await?;
    first.result().await?;
    let err = client.start_workflow_with(maybe_fail, with("ok", WorkflowIdReusePolicy::RejectDuplicate), false).await;
    assert!(matches!(err, Err(Error::AlreadyStarted { ref run_id, .. }) if run_id == first.run_id()), "{err:?}");
    let err = client
        .start_workflow_with(maybe_fail, with("ok", WorkflowIdReusePolicy::AllowDuplicateFailedOnly), false)
        .await;
    assert!(matches!(err, Err(Error::AlreadyStarted { .. })), "a completed run is not reused: {err:?}");
    let again =
        client.start_workflow_with(maybe_fail, with("ok", WorkflowIdReusePolicy::AllowDuplicate), false).await?;
    assert_ne!(again.run_id(), first.run_id());
    again.result().await?;

    let failed = client.start_workflow(maybe_fail, "failed", true).await?;
    assert!(matches!(failed.result().await, Err(Error::WorkflowFailed { .. })));
    let retry = client
        .start_workflow_with(maybe_fail, with("failed", WorkflowIdReusePolicy::AllowDuplicateFailedOnly), false)
        .await?;
    retry.result().await?;
    assert_eq!(client.describe("failed").await?.status, RunStatus::Completed, "describe shows the newest run");
    let runs = client.list_workflows(weft::ListFilter::all()).await?;
    assert_eq!(runs.len(), 4);
    env.shutdown().await;
    Ok(())
}
