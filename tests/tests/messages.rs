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

    #[query]
    pub fn items(&self) -> Vec<String> {
        self.items.clone()
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

/// Knocks on another workflow's door, then on a door that is not there.
#[workflow]
async fn pinger(ctx: WorkflowContext, target: String) -> WorkflowResult<String> {
    ctx.signal_external(target, KNOCK, "from pinger".to_owned()).await?;
    match ctx.signal_external("nobody-home", KNOCK, "lost".to_owned()).await {
        Err(error) => Ok(error.reason),
        Ok(()) => Ok("delivered".to_owned()),
    }
}

#[tokio::test(start_paused = true)]
async fn a_workflow_signals_another_and_both_histories_record_it() {
    for cache in [0, 100] {
        let env = TestEnv::start(engine().cache_size(cache).register_workflow(pinger)).await.unwrap();
        let client = env.client();
        let door_handle = client.start_workflow(door, "door-2", ()).await.unwrap();
        client.signal(&door_handle, KNOCK, "a".to_owned()).await.unwrap();
        let ping = client.start_workflow(pinger, "pinger", "door-2".to_owned()).await.unwrap();
        assert!(ping.result().await.unwrap().contains("no open run"));
        client.signal(&door_handle, KNOCK, "c".to_owned()).await.unwrap();
        assert_eq!(door_handle.result().await.unwrap(), ["a", "from pinger", "c"]);
        let sent = ping.history().await.unwrap();
        assert_eq!(
            event_types(&sent)[1..5],
            [
                "SignalExternalWorkflowExecutionInitiated",
                "ExternalWorkflowExecutionSignaled",
                "SignalExternalWorkflowExecutionInitiated",
                "SignalExternalWorkflowExecutionFailed"
            ]
        );
        let received = door_handle.history().await.unwrap();
        assert_eq!(event_types(&received).iter().filter(|t| **t == "WorkflowExecutionSignaled").count(), 3);
        Replayer::new().register_workflow(pinger).replay(&sent).unwrap();
        Replayer::new().register_workflow(door).replay(&received).unwrap();
        env.shutdown().await;
    }
}

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

/// Event types with what the messages carried, without ids and times: two
/// runs of one scenario compare equal on it.
fn shape(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .map(|e| match e.attributes() {
            EventAttributes::WorkflowExecutionSignaled { signal_name, input } => {
                format!("Signaled {signal_name} {}", input.as_json())
            }
            EventAttributes::WorkflowExecutionUpdateAccepted { update_name, input, .. } => {
                format!("UpdateAccepted {update_name} {}", input.as_json())
            }
            EventAttributes::WorkflowExecutionUpdateCompleted { outcome, .. } => format!("UpdateCompleted {outcome:?}"),
            other => other.event_type().to_owned(),
        })
        .collect()
}

/// One scenario of signals and updates, on a cache of `cache` workflows.
async fn scenario(cache: usize) -> Vec<HistoryEvent> {
    let env = env(cache).await;
    let client = env.client();
    let handle = client.start_workflow(Order::run, "order-eq", "apple".to_owned()).await.unwrap();
    client.update(&handle, Order::add_item, "pear".to_owned()).await.unwrap();
    let _ = client.update(&handle, Order::add_item, String::new()).await.unwrap_err();
    assert_eq!(client.update(&handle, Order::reserve_now, ()).await.unwrap(), 2);
    for i in 0..20 {
        client.signal(&handle, Order::approve, Approval { by: format!("p{i}") }).await.unwrap();
    }
    let (by, _) = handle.result().await.unwrap();
    assert_eq!(by, (0..20).map(|i| format!("p{i}")).collect::<Vec<_>>(), "in order of arrival");
    let history = handle.history().await.unwrap();
    env.shutdown().await;
    history
}

#[tokio::test(start_paused = true)]
async fn a_cached_and_a_replayed_workflow_give_the_same_history() {
    let cached = scenario(100).await;
    let replayed = scenario(0).await;
    assert_eq!(shape(&cached), shape(&replayed));
    for history in [&cached, &replayed] {
        Replayer::new().register_workflow(Order::run).replay(history).unwrap();
    }
}

/// Waits for an activity or a signal, whichever comes first.
#[derive(Debug, Default)]
pub struct Race {
    poked: bool,
}

#[workflow]
impl Race {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, millis: u64) -> WorkflowResult<String> {
        let activity = ctx.start_activity(nap, millis, ActivityOptions::start_to_close(secs(10)));
        let poked = ctx.wait_condition(|s| s.poked);
        let winner = futures_lite::future::or(
            async { activity.await.map(|_| "activity").map_err(WorkflowError::from) },
            async { poked.await.map(|()| "signal").map_err(WorkflowError::from) },
        )
        .await?;
        Ok(winner.to_owned())
    }

    #[signal]
    pub fn poke(&mut self) {
        self.poked = true;
    }
}

#[activity]
async fn nap(_ctx: ActivityContext, millis: u64) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(millis)
}

#[tokio::test(start_paused = true)]
async fn a_signal_racing_an_activity_completion_replays_as_it_ran() {
    for cache in [0, 100] {
        let env =
            TestEnv::start(Engine::builder().cache_size(cache).register_workflow(Race::run).register_activity(nap))
                .await
                .unwrap();
        let client = env.client();
        for (i, signal_after) in [0u64, 499, 500, 501, 1000].into_iter().enumerate() {
            let handle = client.start_workflow(Race::run, format!("race-{cache}-{i}"), 500).await.unwrap();
            tokio::time::sleep(Duration::from_millis(signal_after)).await;
            let sent = client.signal(&handle, Race::poke, ()).await;
            let winner = handle.result().await.unwrap();
            let history = handle.history().await.unwrap();
            let types = event_types(&history);
            let signaled = types.iter().position(|t| *t == "WorkflowExecutionSignaled");
            let completed = types.iter().position(|t| *t == "ActivityTaskCompleted");
            // The winner is whichever the history records first.
            let first = match (signaled, completed) {
                (Some(s), Some(c)) if s < c => "signal",
                (Some(_), None) => "signal",
                _ => "activity",
            };
            assert_eq!(winner, first, "signal after {signal_after} ms: {types:?}");
            if sent.is_err() {
                assert!(signaled.is_none(), "a refused signal is not recorded");
            }
            Replayer::new().register_workflow(Race::run).replay(&history).unwrap();
        }
        env.shutdown().await;
    }
}

/// Returns when told to; an update may still be running then.
#[derive(Debug, Default)]
pub struct Finisher {
    done: bool,
    log: Vec<String>,
}

#[workflow]
impl Finisher {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, abandon: bool) -> WorkflowResult<Vec<String>> {
        if abandon {
            ctx.allow_unfinished_handlers();
        }
        ctx.wait_condition(|s| s.done).await?;
        ctx.state_mut(|s| s.log.push("body returned".into()));
        Ok(ctx.state(|s| s.log.clone()))
    }

    #[signal]
    pub fn finish(&mut self) {
        self.done = true;
    }

    /// Takes its time: a durable timer.
    #[update]
    pub async fn slow(ctx: WorkflowContext<Self>, seconds: u64) -> WorkflowResult<String> {
        ctx.sleep(secs(seconds)).await?;
        ctx.state_mut(|s| s.log.push(format!("slept {seconds}")));
        Ok(format!("slept {seconds}"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_workflow_does_not_close_while_an_update_runs_unless_it_allows_it() {
    let env = TestEnv::start(Engine::builder().register_workflow(Finisher::run)).await.unwrap();
    let client = env.client();
    let handle = client.start_workflow(Finisher::run, "finisher-1", false).await.unwrap();
    let update = {
        let (client, handle) = (client.clone(), handle.clone());
        tokio::spawn(async move { client.update(&handle, Finisher::slow, 30).await })
    };
    tokio::time::sleep(secs(1)).await;
    client.signal(&handle, Finisher::finish, ()).await.unwrap();
    assert_eq!(update.await.unwrap().unwrap(), "slept 30");
    let history = handle.history().await.unwrap();
    let types = event_types(&history);
    let completed = types.iter().position(|t| *t == "WorkflowExecutionUpdateCompleted").unwrap();
    assert_eq!(types[completed + 1..], ["WorkflowExecutionCompleted"], "the close waited for the update");
    // The body's log was taken when it returned, before the update finished.
    assert_eq!(handle.result().await.unwrap(), ["body returned"]);
    Replayer::new().register_workflow(Finisher::run).replay(&history).unwrap();

    // Allowed: the run closes at once; the update's caller hears it closed.
    let handle = client.start_workflow(Finisher::run, "finisher-2", true).await.unwrap();
    let update = {
        let (client, handle) = (client.clone(), handle.clone());
        tokio::spawn(async move { client.update(&handle, Finisher::slow, 30).await })
    };
    tokio::time::sleep(secs(1)).await;
    client.signal(&handle, Finisher::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), ["body returned"]);
    assert!(matches!(update.await.unwrap(), Err(Error::NotRunning { status: RunStatus::Completed, .. })));
    env.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_update_racing_the_completion_gets_a_result_or_a_typed_error() {
    let env = TestEnv::start(Engine::builder().register_workflow(Finisher::run)).await.unwrap();
    let client = env.client();
    for i in 0..10 {
        let handle = client.start_workflow(Finisher::run, format!("racer-{i}"), false).await.unwrap();
        let update = {
            let (client, handle) = (client.clone(), handle.clone());
            tokio::spawn(async move { client.update(&handle, Finisher::slow, 0).await })
        };
        if i % 2 == 0 {
            tokio::task::yield_now().await;
        }
        client.signal(&handle, Finisher::finish, ()).await.unwrap();
        match update.await.unwrap() {
            Ok(slept) => assert_eq!(slept, "slept 0"),
            Err(Error::NotRunning { .. } | Error::UpdateRejected { .. }) => {}
            Err(other) => panic!("update {i}: {other:?}"),
        }
        handle.result().await.unwrap();
        Replayer::new().register_workflow(Finisher::run).replay(&handle.history().await.unwrap()).unwrap();
    }
    env.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_signal_racing_the_close_is_recorded_or_refused_never_dropped() {
    for cache in [0, 100] {
        let env = TestEnv::start(Engine::builder().cache_size(cache).register_workflow(Finisher::run)).await.unwrap();
        let client = env.client();
        for i in 0..10 {
            let handle = client.start_workflow(Finisher::run, format!("closing-{cache}-{i}"), false).await.unwrap();
            let senders: Vec<_> = (0..5)
                .map(|_| {
                    let (client, handle) = (client.clone(), handle.clone());
                    tokio::spawn(async move { client.signal(&handle, Finisher::finish, ()).await })
                })
                .collect();
            let mut accepted = 0;
            for sender in senders {
                match sender.await.unwrap() {
                    Ok(()) => accepted += 1,
                    Err(Error::NotRunning { .. }) => {}
                    Err(other) => panic!("{other:?}"),
                }
            }
            handle.result().await.unwrap();
            let history = handle.history().await.unwrap();
            let recorded = event_types(&history).iter().filter(|t| **t == "WorkflowExecutionSignaled").count();
            assert_eq!(recorded, accepted, "every signal the client sent is in the history");
            assert_eq!(event_types(&history).last(), Some(&"WorkflowExecutionCompleted"));
        }
        env.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn bad_names_and_payloads_are_typed_errors_that_record_nothing() {
    let env = TestEnv::start(engine().payload_limit(1000)).await.unwrap();
    let client = env.client();
    let handle = client.start_workflow(Order::run, "order-bad", "apple".to_owned()).await.unwrap();
    let no_query = weft::workflow::Query::<Order, (), u32>::__new("nope");
    assert!(
        matches!(client.query(&handle, no_query).await, Err(Error::UnknownQuery { query_name, .. }) if query_name == "nope")
    );
    let no_update = weft::workflow::Update::<Order, (), u32>::__new("nope");
    assert!(
        matches!(client.update(&handle, no_update, ()).await, Err(Error::UnknownUpdate { update_name, .. }) if update_name == "nope")
    );
    let before = handle.history().await.unwrap().len();
    let big = "x".repeat(2000);
    assert!(matches!(
        client.signal(&handle, Order::approve, Approval { by: big.clone() }).await,
        Err(Error::Payload { .. })
    ));
    assert!(matches!(client.update(&handle, Order::add_item, big.clone()).await, Err(Error::Payload { .. })));
    assert_eq!(handle.history().await.unwrap().len(), before, "nothing recorded");
    // An answer over the limit: the query fails, typed.
    for _ in 0..3 {
        client.update(&handle, Order::add_item, "y".repeat(400)).await.unwrap();
    }
    assert!(client.query_with(&handle, Order::item_at, 1).await.is_ok());
    match client.query(&handle, Order::items).await {
        Err(Error::QueryFailed { query_name, reason, .. }) => {
            assert_eq!(query_name, "items");
            assert!(reason.contains("limit"), "{reason}");
        }
        other => panic!("expected a failed query, got {other:?}"),
    }
    env.shutdown().await;
}

/// Panics in its signal handler when told to.
#[derive(Debug, Default)]
pub struct Fragile {
    seen: u32,
}

#[workflow]
impl Fragile {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.wait_condition(|s| s.seen >= 100).await?;
        Ok(ctx.state(|s| s.seen))
    }

    #[signal]
    pub fn hit(&mut self, n: u32) {
        assert!(n != 13, "unlucky");
        self.seen += n;
    }

    #[query]
    pub fn seen(&self) -> u32 {
        self.seen
    }
}

#[tokio::test(start_paused = true)]
async fn a_held_run_answers_queries_from_its_committed_history() {
    let env = TestEnv::start(Engine::builder().register_workflow(Fragile::run)).await.unwrap();
    let client = env.client();
    let handle = client.start_workflow(Fragile::run, "fragile", ()).await.unwrap();
    client.signal(&handle, Fragile::hit, 5).await.unwrap();
    tokio::time::sleep(secs(1)).await;
    client.signal(&handle, Fragile::hit, 13).await.unwrap();
    tokio::time::sleep(secs(1)).await;
    let described = client.describe("fragile").await.unwrap();
    assert!(described.held.as_deref().is_some_and(|h| h.contains("unlucky")), "{described:?}");
    // The step with the signal that panics was not committed (the signal
    // waits in the inbox): the run answers as of before it.
    assert_eq!(client.query(&handle, Fragile::seen).await.unwrap(), 5);
    let history = handle.history().await.unwrap();
    assert_eq!(event_types(&history).iter().filter(|t| **t == "WorkflowExecutionSignaled").count(), 1);
    env.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_signal_that_comes_before_its_channel_waits_for_it() {
    let env = TestEnv::start(Engine::builder().register_workflow(late_listener)).await.unwrap();
    let client = env.client();
    let handle = client.start_workflow(late_listener, "late", ()).await.unwrap();
    client.signal(&handle, KNOCK_LATE, "early".to_owned()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), "early");
    env.shutdown().await;
}

/// Listens only after a minute.
#[workflow]
async fn late_listener(ctx: WorkflowContext) -> WorkflowResult<String> {
    ctx.sleep(secs(60)).await?;
    Ok(ctx.signal_channel(KNOCK_LATE).recv().await?)
}

const KNOCK_LATE: Signal<late_listener, String> = Signal::new("knock");

mod v1 {
    use super::*;

    /// The shipped version: the update runs an activity.
    #[derive(Debug, Default)]
    pub(crate) struct Cart;

    #[workflow(name = "Cart")]
    impl Cart {
        #[run]
        pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
            ctx.sleep(secs(3600)).await?;
            Ok(())
        }

        #[update]
        pub async fn pay(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
            Ok(ctx.execute_activity(nap, 10, ActivityOptions::start_to_close(secs(10))).await?)
        }
    }
}

mod v2 {
    use super::*;

    /// Changed code: the update sleeps instead.
    #[derive(Debug, Default)]
    pub(crate) struct Cart;

    #[workflow(name = "Cart")]
    impl Cart {
        #[run]
        pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
            ctx.sleep(secs(3600)).await?;
            Ok(())
        }

        #[update]
        pub async fn pay(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
            ctx.sleep(secs(1)).await?;
            Ok(0)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_changed_handler_is_non_determinism_on_replay() {
    let env = TestEnv::start(Engine::builder().register_workflow(v1::Cart::run).register_activity(nap)).await.unwrap();
    let client = env.client();
    let handle = client.start_workflow(v1::Cart::run, "cart-v1", ()).await.unwrap();
    assert_eq!(client.update(&handle, v1::Cart::pay, ()).await.unwrap(), 10);
    let history = handle.history().await.unwrap();
    env.shutdown().await;
    Replayer::new().register_workflow(v1::Cart::run).replay(&history).unwrap();
    match Replayer::new().register_workflow(v2::Cart::run).replay(&history) {
        Err(Error::NonDeterminism { expected, found, .. }) => {
            assert!(expected.contains("ActivityTaskScheduled") && found.contains("StartTimer"), "{expected} / {found}");
        }
        other => panic!("expected non-determinism, got {other:?}"),
    }
}
