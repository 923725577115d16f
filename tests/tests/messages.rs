//! Signals, queries and updates (issue 13), on virtual time: order, replay
//! and cache equivalence, races, bad names and payloads, closed and held runs.

mod common;

use std::time::Duration;

use common::{event_types, secs};
use serde::{Deserialize, Serialize};
use weft::history::{EventAttributes, HistoryEvent};
use weft::testing::{Replayer, TestEnv};
use weft::workflow::Signal;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, Error, RunStatus, UpdateOptions, WorkflowContext,
    WorkflowError, WorkflowOptions, WorkflowResult, activity, workflow,
};

#[activity]
async fn reserve(_ctx: ActivityContext, items: Vec<String>) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(items.len() as u32)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Status {
    Open,
    Approved,
    Reserved(u32),
}

/// An order: items come by update, an approval by signal; then it reserves.
#[derive(Debug, Default)]
pub struct Order {
    items: Vec<String>,
    approvals: Vec<Approval>,
    status: Option<Status>,
}

#[workflow]
impl Order {
    #[init]
    fn new(first: &str) -> Self {
        Order { items: vec![first.to_owned()], ..Order::default() }
    }

    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, _first: String) -> WorkflowResult<(Vec<String>, u32)> {
        ctx.state_mut(|s| s.status = Some(Status::Open));
        ctx.wait_condition(|s| !s.approvals.is_empty()).await?;
        ctx.state_mut(|s| s.status = Some(Status::Approved));
        let items = ctx.state(|s| s.items.clone());
        let reserved = ctx.execute_activity(reserve, items, ActivityOptions::start_to_close(secs(10))).await?;
        ctx.state_mut(|s| s.status = Some(Status::Reserved(reserved)));
        let by = ctx.state(|s| s.approvals.iter().map(|a| a.by.clone()).collect());
        Ok((by, reserved))
    }

    /// Someone approved the order.
    #[signal]
    pub fn approve(&mut self, approval: Approval) {
        self.approvals.push(approval);
    }

    #[query]
    pub fn status(&self) -> Option<Status> {
        self.status.clone()
    }

    #[query(name = "item")]
    pub fn item_at(&self, index: usize) -> Option<String> {
        self.items.get(index).cloned()
    }

    #[update]
    pub fn add_item(&mut self, item: String) -> WorkflowResult<usize> {
        self.items.push(item);
        Ok(self.items.len())
    }

    #[validator(add_item)]
    fn check_item(&self, item: &str) -> Result<(), WorkflowError> {
        if item.is_empty() {
            return Err(WorkflowError::new("an item has a name").with_type("EmptyItem"));
        }
        if self.status != Some(Status::Open) {
            return Err(WorkflowError::new("the order is approved").with_type("Closed"));
        }
        Ok(())
    }

    /// Reserves now, while the order is open: an activity in an update.
    #[update]
    pub async fn reserve_now(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        let items = ctx.state(|s| s.items.clone());
        Ok(ctx.execute_activity(reserve, items, ActivityOptions::start_to_close(secs(10))).await?)
    }
}

fn engine() -> weft::EngineBuilder {
    Engine::builder().register_workflow(Order::run).register_activity(reserve).register_workflow(door)
}

async fn env(cache: usize) -> TestEnv {
    TestEnv::start(engine().cache_size(cache)).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn signals_reach_the_handler_in_order_and_updates_return_results() {
    for cache in [0, 100] {
        let env = env(cache).await;
        let client = env.client();
        let handle = client.start_workflow(Order::run, "order-1", "apple".to_owned()).await.unwrap();
        assert_eq!(client.update(&handle, Order::add_item, "pear".to_owned()).await.unwrap(), 2);
        assert_eq!(client.query(&handle, Order::status).await.unwrap(), Some(Status::Open));
        assert_eq!(client.query_with(&handle, Order::item_at, 1).await.unwrap(), Some("pear".to_owned()));
        for by in ["ann", "bob", "cy"] {
            client.signal(&handle, Order::approve, Approval { by: by.into() }).await.unwrap();
        }
        let (by, reserved) = handle.result().await.unwrap();
        assert_eq!(by, ["ann", "bob", "cy"], "cache {cache}");
        assert_eq!(reserved, 2);
        // The closed run answers from its replayed state.
        assert_eq!(client.query(&handle, Order::status).await.unwrap(), Some(Status::Reserved(2)));
        let history = handle.history().await.unwrap();
        let types = event_types(&history);
        assert_eq!(types.iter().filter(|t| **t == "WorkflowExecutionSignaled").count(), 3);
        assert!(
            types.contains(&"WorkflowExecutionUpdateAccepted") && types.contains(&"WorkflowExecutionUpdateCompleted")
        );
        Replayer::new().register_workflow(Order::run).replay(&history).unwrap();
        env.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_rejected_update_leaves_no_history_and_an_update_id_runs_once() {
    let env = env(100).await;
    let client = env.client();
    let handle = client.start_workflow(Order::run, "order-2", "apple".to_owned()).await.unwrap();
    let before = handle.history().await.unwrap().len();
    match client.update(&handle, Order::add_item, String::new()).await {
        Err(Error::UpdateRejected { failure, .. }) => assert_eq!(failure.error_type(), "EmptyItem"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(handle.history().await.unwrap().len(), before, "a rejection records nothing");
    let options = || UpdateOptions::new().update_id("add-pear");
    assert_eq!(client.update_with(&handle, Order::add_item, "pear".into(), options()).await.unwrap(), 2);
    // The same id again: the first outcome, not a second item.
    assert_eq!(client.update_with(&handle, Order::add_item, "plum".into(), options()).await.unwrap(), 2);
    assert_eq!(client.query_with(&handle, Order::item_at, 2).await.unwrap(), None);
    client.signal(&handle, Order::approve, Approval { by: "ann".into() }).await.unwrap();
    handle.result().await.unwrap();
    // After the close the id still answers; a new update is refused.
    assert_eq!(client.update_with(&handle, Order::add_item, "plum".into(), options()).await.unwrap(), 2);
    assert!(matches!(
        client.update(&handle, Order::add_item, "fig".into()).await,
        Err(Error::NotRunning { status: RunStatus::Completed, .. })
    ));
    env.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_async_update_runs_an_activity_beside_the_body() {
    let env = env(100).await;
    let client = env.client();
    let handle = client.start_workflow(Order::run, "order-3", "apple".to_owned()).await.unwrap();
    assert_eq!(client.update(&handle, Order::reserve_now, ()).await.unwrap(), 1);
    client.signal(&handle, Order::approve, Approval { by: "ann".into() }).await.unwrap();
    assert_eq!(handle.result().await.unwrap().1, 1);
    let history = handle.history().await.unwrap();
    Replayer::new().register_workflow(Order::run).replay(&history).unwrap();
    env.shutdown().await;
}

/// A function workflow reads its signals from a channel.
#[workflow]
async fn door(ctx: WorkflowContext) -> WorkflowResult<Vec<String>> {
    let mut knocks = ctx.signal_channel(KNOCK);
    let mut heard = Vec::new();
    while heard.len() < 3 {
        heard.push(knocks.recv().await?);
    }
    Ok(heard)
}

const KNOCK: Signal<door, String> = Signal::new("knock");

#[tokio::test(start_paused = true)]
async fn a_function_workflow_reads_signals_from_a_channel_and_signal_with_start_starts_once() {
    let env = env(0).await;
    let client = env.client();
    let options = || WorkflowOptions::new("door-1");
    let handle = client.signal_with_start(door, options(), (), KNOCK, "a".to_owned()).await.unwrap();
    let again = client.signal_with_start(door, options(), (), KNOCK, "b".to_owned()).await.unwrap();
    assert_eq!(handle.run_id(), again.run_id(), "the second call signals the open run");
    client.signal(&handle, KNOCK, "c".to_owned()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), ["a", "b", "c"]);
    let history = handle.history().await.unwrap();
    assert_eq!(event_types(&history)[..2], ["WorkflowExecutionStarted", "WorkflowExecutionSignaled"]);
    env.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unknown_names_are_typed_errors_and_an_unknown_signal_is_kept() {
    let env = env(100).await;
    let client = env.client();
    let handle = client.start_workflow(Order::run, "order-4", "apple".to_owned()).await.unwrap();
    let ghost: Signal<Order, u32> = Signal::new("ghost");
    client.signal(&handle, ghost, 7).await.unwrap();
    tokio::time::sleep(secs(1)).await;
    let history = handle.history().await.unwrap();
    let signaled = history.iter().find_map(|e| match e.attributes() {
        EventAttributes::WorkflowExecutionSignaled { signal_name, input } => {
            Some((signal_name.clone(), input.as_json().to_owned()))
        }
        _ => None,
    });
    assert_eq!(signaled, Some(("ghost".to_owned(), "7".to_owned())), "recorded, not dropped");
    env.shutdown().await;
}

fn _assert_history_is_events(_: &[HistoryEvent]) {}
