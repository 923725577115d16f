//! The PostgreSQL store's own tests, against the server `WEFT_TEST_POSTGRES`
//! names (each in its own PostgreSQL schema); they print a notice and pass without one.

use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::time::Instant;

use tokio_postgres::{Client, NoTls};

use super::pool::{BACKOFF_MAX, BACKOFF_MIN, Pool};
use super::*;
use crate::activity::ActivityOptions;
use crate::history::{EventAttributes, Failure};
use crate::store::{Delivery, StepFence};

/// The test server's URL, if `WEFT_TEST_POSTGRES` names one.
pub(super) fn server() -> Option<String> {
    std::env::var("WEFT_TEST_POSTGRES").ok().filter(|url| !url.is_empty())
}

/// Prints `skipped: <why>` past the test harness's capture (straight to
/// stderr), so a run without a server says so.
pub(crate) fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

macro_rules! server_or_skip {
    () => {
        match server() {
            Some(url) => url,
            None => {
                skipped("WEFT_TEST_POSTGRES is not set");
                return;
            }
        }
    };
}

/// Opens a store (the tests' shorthand).
async fn connect(options: PostgresOptions) -> Result<PostgresStore> {
    PostgresStore::connect(options).await
}

/// The conformance suite, each test on a store in a schema of its own.
mod conformance {
    use super::*;

    /// Opens a store in a fresh PostgreSQL schema of the `WEFT_TEST_POSTGRES`
    /// server; `None` (the suite skips) without one.
    async fn open_for_conformance() -> Option<Box<dyn Store>> {
        let options = options(&server()?);
        Some(Box::new(connect(options).await.expect("the test server opens a store")))
    }

    crate::store::conformance::store_conformance!(open_for_conformance);
}

/// Options on `url` in a new, randomly named schema (tests run in parallel).
pub(super) fn options(url: &str) -> PostgresOptions {
    let mut options = PostgresOptions::new(url);
    options.schema = Some(format!("weft_test_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
    options.pool_size = 4;
    options
}

/// A plain connection to the test server, in `schema`, for poking at rows.
async fn raw(url: &str, schema: Option<&str>) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    if let Some(schema) = schema {
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""))
            .await
            .unwrap();
    }
    client
}

async fn drop_schema(url: &str, options: &PostgresOptions) {
    let client = raw(url, None).await;
    let schema = options.schema.as_deref().unwrap();
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await.unwrap();
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn secs(s: u64) -> SystemTime {
    t0() + Duration::from_secs(s)
}

fn payload(json: &str) -> Payload {
    Payload::from_json(json.to_owned()).unwrap()
}

fn worker(id: &str) -> Arc<WorkerInfo> {
    Arc::new(WorkerInfo {
        worker_id: id.into(),
        host: "test-host".into(),
        pid: 1,
        task_queues: vec!["q".into()],
        workflow_types: vec!["wf".into()],
        activity_types: vec!["act".into()],
        started_at: t0(),
    })
}

fn run_record(run_id: &str) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        workflow_id: format!("wf-{run_id}"),
        workflow_type: "wf".into(),
        task_queue: "q".into(),
        status: RunStatus::Running,
        created_at: t0(),
        closed_at: None,
        next_event_id: 1,
        held: None,
        held_at: None,
        lease: None,
        sticky: None,
    }
}

/// Creates run `run_id` with a `Start` in its inbox.
async fn start(store: &PostgresStore, run_id: &str) {
    let start = RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() });
    store.create_run(run_record(run_id), start, WorkflowIdReusePolicy::default()).await.unwrap();
}

/// Events `first..first + n` (timers started: the store does not read them).
fn events(first: u64, n: u64) -> Vec<HistoryEvent> {
    (first..first + n)
        .map(|id| {
            HistoryEvent::new(
                id,
                t0(),
                EventAttributes::TimerStarted { seq: id as u32, duration: Duration::from_secs(1) },
            )
        })
        .collect()
}

/// A step that appends `n` events and consumes `task`'s inbox.
fn step(task: &WorkflowTask, worker_id: &str, n: u64) -> StepCommit {
    StepCommit {
        run_id: task.run.run_id.clone(),
        fence: StepFence::Leased { token: task.lease.token },
        first_event_id: task.run.next_event_id,
        events: events(task.run.next_event_id, n),
        consumed: task.inbox.iter().map(|e| e.id).collect(),
        delivered: None,
        new_activities: Vec::new(),
        cancel_activities: Vec::new(),
        new_timers: Vec::new(),
        cancel_timers: Vec::new(),
        close: None,
        worker_id: worker_id.into(),
        replies: Vec::new(),
        signals_out: Vec::new(),
        continued: None,
        children_out: Vec::new(),
        cancel_children: Vec::new(),
        to_parent: None,
        may_have_children: false,
    }
}

fn queued_activity(run_id: &str, seq: u32, heartbeat: Option<Duration>) -> ActivityTask {
    ActivityTask {
        key: ActivityKey { run_id: run_id.into(), seq },
        workflow_id: format!("wf-{run_id}"),
        task_queue: "q".into(),
        scheduled_event_id: 2,
        activity_id: seq.to_string(),
        activity_type: "act".into(),
        input: payload("\"in\""),
        options: ActivityOptions::start_to_close(Duration::from_secs(10)),
        limits: AttemptLimits {
            start_to_close: Duration::from_secs(10),
            heartbeat,
            schedule_to_start: None,
            close_deadline: None,
        },
        scheduled_at: t0(),
        attempt: 0,
        running: false,
        ready_at: t0(),
        started_at: None,
        attempt_deadline: None,
        heartbeat_deadline: None,
        expires_at: None,
        lease: None,
        last_failure: None,
        heartbeat_details: None,
        cancel_requested: false,
    }
}

fn is_stale<T>(result: Result<T>) -> bool {
    matches!(result, Err(Error::StaleTask { .. }))
}

#[test]
fn passwords_are_redacted_from_urls_and_key_value_strings() {
    assert_eq!(redact("postgres://weft:s3cr3t@db:5432/weft"), "postgres://weft:***@db:5432/weft");
    assert_eq!(redact("postgres://weft@db/weft"), "postgres://weft@db/weft");
    assert_eq!(redact("postgresql://u:p@ss@h/d?sslmode=disable"), "postgresql://u:***@h/d?sslmode=disable");
    assert_eq!(redact("postgres://h/d?user=u&password=pw&x=1"), "postgres://h/d?user=u&password=***&x=1");
    assert_eq!(redact("host=h user=u password='a b' dbname=d"), "host=h user=u password=*** dbname=d");
    assert_eq!(redact("host=h PASSWORD=x"), "host=h PASSWORD=***");
    let options = format!("{:?}", PostgresOptions::new("postgres://weft:s3cr3t@db/weft"));
    assert!(!options.contains("s3cr3t") && options.contains("weft:***@db"), "{options}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_typed_error_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let mut options = PostgresOptions::new(format!("postgres://weft:hunter2@127.0.0.1:{port}/weft"));
    options.connect_timeout = Duration::from_secs(2);
    let error = connect(options).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(matches!(&error, Error::StoreConnect { url, .. } if url.contains("weft:***@")), "{error:?}");
    assert!(error.is_transient(), "a refused connection may go away: {error:?}");
    let chain = crate::ErrorChain(&error).to_string();
    assert!(!chain.contains("hunter2") && !format!("{error:?}").contains("hunter2"), "{chain}");
}

#[tokio::test]
async fn a_wrong_password_is_a_typed_error_that_is_not_transient() {
    let url = server_or_skip!();
    let config = tokio_postgres::Config::from_str(&url).unwrap();
    let user = config.get_user().unwrap().to_owned();
    let (host, port) = (&config.get_hosts()[0], config.get_ports()[0]);
    let host = match host {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        #[allow(unreachable_patterns)]
        _ => "127.0.0.1".into(),
    };
    let wrong = format!("postgres://{user}:not-the-password@{host}:{port}/{}", config.get_dbname().unwrap());
    let error = connect(PostgresOptions::new(wrong)).await.unwrap_err();
    assert!(matches!(&error, Error::StoreAuth { user: u, .. } if *u == user), "{error:?}");
    assert!(!error.is_transient());
    let text = format!("{} {error:?}", crate::ErrorChain(&error));
    assert!(!text.contains("not-the-password") && text.contains("***"), "{text}");
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_foreign_tables_need_consent() {
    let url = server_or_skip!();
    let options = options(&url);
    let schema = options.schema.clone().unwrap();
    connect(options.clone()).await.unwrap().close();
    let client = raw(&url, Some(&schema)).await;
    client.batch_execute("UPDATE weft_schema SET version = 99").await.unwrap();
    let error = connect(options.clone()).await.unwrap_err();
    assert!(matches!(error, Error::UnsupportedSchema { found: 99, supported: SCHEMA_VERSION }), "{error:?}");
    drop_schema(&url, &options).await;

    let client = raw(&url, Some(&schema)).await;
    client.batch_execute("CREATE TABLE orders (id bigint)").await.unwrap();
    let error = connect(options.clone()).await.unwrap_err();
    assert!(
        matches!(&error, Error::NotAWeftDatabase { schema: s, url } if *s == schema && url.contains("***")),
        "{error:?}"
    );
    let mut consent = options.clone();
    consent.foreign_tables = true;
    let store = connect(consent).await.unwrap();
    start(&store, "r1").await;
    assert!(store.run("r1".into()).await.unwrap().is_some());
    store.close();
    connect(options.clone()).await.unwrap().close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn an_earlier_store_gets_the_claimable_index_for_its_expiry_index() {
    let url = server_or_skip!();
    let options = options(&url);
    connect(options.clone()).await.unwrap().close();
    let client = raw(&url, options.schema.as_deref()).await;
    // The layout that builds before this index wrote: expiry on `expires_at` alone.
    client
        .batch_execute(
            "DROP INDEX activity_tasks_claimable;
             CREATE INDEX activity_tasks_expiry ON activity_tasks (expires_at) WHERE expires_at IS NOT NULL",
        )
        .await
        .unwrap();
    connect(options.clone()).await.unwrap().close();
    let names = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    let indexes = client
        .query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'activity_tasks'
             ORDER BY indexname",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        names(indexes),
        ["activity_tasks_claimable", "activity_tasks_pkey", "activity_tasks_ready", "activity_tasks_ready_by_age"]
    );
    // The expiry claim's scan is on it, in its order: claimed rows are out of its range.
    client.batch_execute("SET enable_seqscan = off").await.unwrap();
    let plan = client
        .query(
            concat!(
                "EXPLAIN SELECT run_id FROM activity_tasks WHERE expires_at IS NOT NULL AND ",
                claimable_at!(),
                " <= 5 ORDER BY ",
                claimable_at!(),
                " LIMIT 10 FOR UPDATE SKIP LOCKED"
            ),
            &[],
        )
        .await
        .unwrap();
    let plan = names(plan).join("\n");
    assert!(plan.contains("Index Scan using activity_tasks_claimable") && !plan.contains("Sort"), "{plan}");
    drop_schema(&url, &options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_opening_one_empty_schema_at_once_do_not_race() {
    let url = server_or_skip!();
    let options = options(&url);
    let opens = (0..6).map(|_| connect(options.clone()));
    for store in futures::future::join_all(opens).await {
        store.unwrap().close();
    }
    let client = raw(&url, options.schema.as_deref()).await;
    let rows = client.query("SELECT version FROM weft_schema", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_typed_error_not_a_hang() {
    let url = server_or_skip!();
    let mut options = options(&url);
    options.pool_size = 1;
    options.acquire_timeout = Duration::from_millis(200);
    let store = connect(options.clone()).await.unwrap();
    let held = store.pool.get().await.unwrap();
    let started = Instant::now();
    let error = store.run("r1".into()).await.unwrap_err();
    assert!(matches!(error, Error::PoolExhausted { size: 1, .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(held);
    assert!(store.run("r1".into()).await.unwrap().is_none());
    store.close();
    assert!(matches!(store.run("r1".into()).await, Err(Error::Shutdown)));
    drop_schema(&url, &options).await;
}

/// A listener that forwards what it hears.
struct Recorder(Mutex<mpsc::Sender<String>>);

impl StoreListener for Recorder {
    fn work_available(&self, task_queue: Option<&str>) {
        let _ = self.0.lock().send(format!("work {}", task_queue.unwrap_or("*")));
    }
    fn run_closed(&self, run_id: &str) {
        let _ = self.0.lock().send(format!("closed {run_id}"));
    }
}

fn recorder() -> (Arc<Recorder>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    (Arc::new(Recorder(Mutex::new(tx))), rx)
}

/// The next message, waiting at most `wait`.
async fn next(rx: &mpsc::Receiver<String>, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        if let Ok(m) = rx.try_recv() {
            return Some(m);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_store_s_writes_reach_a_listener_and_its_own_do_not() {
    let url = server_or_skip!();
    let options = options(&url);
    let listening = connect(options.clone()).await.unwrap();
    let writing = connect(options.clone()).await.unwrap();
    let (listener, rx) = recorder();
    listening.subscribe(listener);
    assert_eq!(next(&rx, Duration::from_secs(5)).await.as_deref(), Some("work *"), "reported on connecting");

    start(&listening, "own").await;
    assert_eq!(next(&rx, Duration::from_millis(300)).await, None, "its own writes are not reported");

    start(&writing, "r1").await;
    assert_eq!(next(&rx, Duration::from_secs(5)).await.as_deref(), Some("work q"));
    let task = writing.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap();
    let task = task.into_iter().find(|t| t.run.run_id == "r1").unwrap();
    let mut close = step(&task, "w1", 2);
    close.close = Some((RunStatus::Completed, secs(1)));
    writing.commit_workflow_task(close).await.unwrap();
    assert_eq!(next(&rx, Duration::from_secs(5)).await.as_deref(), Some("closed r1"));
    let run = writing.run("r1".into()).await.unwrap().unwrap();
    assert_eq!((run.status, run.closed_at, run.next_event_id), (RunStatus::Completed, Some(secs(1)), 3));
    listening.close();
    writing.close();
    drop_schema(&url, &options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_fail_transiently_then_are_replaced() {
    let url = server_or_skip!();
    let name = format!("weft_kill_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let sep = if url.contains('?') { '&' } else { '?' };
    let options = options(&format!("{url}{sep}application_name={name}"));
    let store = connect(options.clone()).await.unwrap();
    let (listener, rx) = recorder();
    store.subscribe(listener);
    assert_eq!(next(&rx, Duration::from_secs(5)).await.as_deref(), Some("work *"));
    start(&store, "r1").await;
    let killer = raw(&url, None).await;
    let killed = killer
        .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&name])
        .await
        .unwrap();
    assert!(killed.len() >= 2, "the pool's connection and the listener's");
    let mut transient = 0;
    let mut ok = false;
    for _ in 0..20 {
        match store.run("r1".into()).await {
            Ok(run) => {
                assert!(run.is_some());
                ok = true;
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{}", crate::ErrorChain(&e));
                transient += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok && transient <= 1, "{transient} transient errors before success");
    assert_eq!(next(&rx, Duration::from_secs(10)).await.as_deref(), Some("work *"), "the listener reconnected");
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn workflow_tasks_are_claimed_under_leases_and_stale_holders_write_nothing() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "r1").await;
    let lease = Duration::from_secs(10);
    let w1 = store.claim_workflow_tasks(worker("w1"), t0(), lease, 10).await.unwrap();
    assert_eq!(w1.len(), 1);
    assert!(matches!(w1[0].inbox[..], [InboxEntry { item: InboxItem::Start { .. }, .. }]));
    assert_eq!((w1[0].lease.owner.as_str(), w1[0].lease.deadline), ("w1", secs(10)));
    assert!(store.claim_workflow_tasks(worker("w2"), secs(5), lease, 10).await.unwrap().is_empty(), "leased");
    assert!(store.claim_workflow_task(worker("w2"), "r1".into(), secs(5), lease).await.unwrap().is_none());
    let other = worker("w2");
    let mut wrong_type = (*other).clone();
    wrong_type.workflow_types = vec!["other".into()];
    assert!(store.claim_workflow_tasks(Arc::new(wrong_type), secs(11), lease, 10).await.unwrap().is_empty());

    // w1's lease ran out; w2 takes the task over (w1 is not a registered, live worker).
    let w2 = store.claim_workflow_tasks(other.clone(), secs(11), lease, 10).await.unwrap();
    assert_eq!(w2.len(), 1);
    assert!(w2[0].lease.token != w1[0].lease.token);
    assert!(is_stale(store.commit_workflow_task(step(&w1[0], "w1", 2)).await));
    assert!(is_stale(store.release_workflow_task("r1".into(), w1[0].lease.token).await));
    assert!(matches!(
        store.hold_run("r1".into(), Some(w1[0].lease.token), Some("x".into()), secs(11)).await,
        Err(Error::StaleTask { .. })
    ));
    assert!(store.history("r1".into(), "wf-r1".into(), 0).await.unwrap().is_empty(), "nothing written");
    store.commit_workflow_task(step(&w2[0], "w2", 2)).await.unwrap();
    let run = store.run("r1".into()).await.unwrap().unwrap();
    assert_eq!((run.next_event_id, run.lease.is_none(), run.sticky.as_deref()), (3, true, Some("w2")));
    let history = store.history("r1".into(), "wf-r1".into(), 0).await.unwrap();
    assert_eq!(history.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 2]);
    assert!(store.claim_workflow_tasks(other.clone(), secs(12), lease, 10).await.unwrap().is_empty(), "inbox empty");
    // A step read at an old next_event_id is stale too.
    assert!(store.add_to_inbox("r1".into(), InboxItem::CancelRequested { reason: "r".into() }).await.unwrap());
    let again = store.claim_workflow_tasks(other, secs(12), lease, 10).await.unwrap();
    let mut old = step(&again[0], "w2", 1);
    old.first_event_id = 2;
    old.events = events(2, 1);
    assert!(is_stale(store.commit_workflow_task(old).await));
    store.release_workflow_task("r1".into(), again[0].lease.token).await.unwrap();
    assert!(
        store
            .create_run(
                run_record("r1b"),
                RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() }),
                WorkflowIdReusePolicy::default()
            )
            .await
            .is_ok(),
        "another workflow id"
    );
    let mut same_id = run_record("r2");
    same_id.workflow_id = "wf-r1".into();
    let error = store
        .create_run(
            same_id,
            RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() }),
            WorkflowIdReusePolicy::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::AlreadyStarted { run_id, .. } if run_id == "r1"), "{error:?}");
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn sticky_runs_wait_for_their_live_worker() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    let lease = Duration::from_secs(10);
    store.register_worker(worker("w1"), secs(100)).await.unwrap();
    store.register_worker(worker("w2"), secs(100)).await.unwrap();
    start(&store, "r1").await;
    let task = store.claim_workflow_tasks(worker("w1"), t0(), lease, 10).await.unwrap().pop().unwrap();
    store.commit_workflow_task(step(&task, "w1", 1)).await.unwrap();
    assert!(store.add_to_inbox("r1".into(), InboxItem::CancelRequested { reason: "r".into() }).await.unwrap());
    assert!(store.claim_workflow_tasks(worker("w2"), secs(1), lease, 10).await.unwrap().is_empty(), "sticky to w1");
    assert_eq!(store.next_due(worker("w2"), secs(1)).await.unwrap(), Some(secs(100)), "w1's expiry");
    // Past w1's expiry, the run is anyone's.
    assert_eq!(store.claim_workflow_tasks(worker("w2"), secs(101), lease, 10).await.unwrap().len(), 1);

    start(&store, "r2").await;
    store.heartbeat_worker("w1".into(), secs(300), secs(300)).await.unwrap();
    let task = store.claim_workflow_tasks(worker("w1"), secs(102), lease, 10).await.unwrap();
    let task = task.into_iter().find(|t| t.run.run_id == "r2").unwrap();
    // The worker heartbeat extends its workflow tasks' leases.
    store.heartbeat_worker("w1".into(), secs(300), secs(200)).await.unwrap();
    assert_eq!(store.run("r2".into()).await.unwrap().unwrap().lease.unwrap().deadline, secs(200));
    store.commit_workflow_task(step(&task, "w1", 1)).await.unwrap();
    assert!(store.add_to_inbox("r2".into(), InboxItem::CancelRequested { reason: "r".into() }).await.unwrap());
    assert!(store.claim_workflow_tasks(worker("w2"), secs(103), lease, 10).await.unwrap().is_empty());
    store.unregister_worker("w1".into()).await.unwrap();
    let workers = store.list_workers().await.unwrap();
    assert_eq!(workers.iter().map(|w| w.info.worker_id.as_str()).collect::<Vec<_>>(), ["w2"]);
    let task = store.claim_workflow_tasks(worker("w2"), secs(103), lease, 10).await.unwrap();
    assert_eq!(task.iter().map(|t| t.run.run_id.as_str()).collect::<Vec<_>>(), ["r2"]);
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn activities_are_claimed_once_heartbeat_expire_and_close_into_the_inbox() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "r1").await;
    let task =
        store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap().pop().unwrap();
    let mut commit = step(&task, "w1", 2);
    commit.new_activities =
        vec![queued_activity("r1", 1, Some(Duration::from_secs(2))), queued_activity("r1", 2, None)];
    store.commit_workflow_task(commit).await.unwrap();

    let mut only_one = (*worker("w1")).clone();
    only_one.activity_types = vec!["none".into()];
    assert!(store.claim_activity_tasks(Arc::new(only_one), t0(), 10).await.unwrap().is_empty(), "type filter");
    let claimed = store.claim_activity_tasks(worker("w1"), t0(), 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let a = &claimed[0];
    assert_eq!((a.key.seq, a.attempt, a.running, a.started_at), (1, 1, true, Some(t0())));
    assert_eq!(
        (a.attempt_deadline, a.heartbeat_deadline, a.expires_at),
        (Some(secs(10)), Some(secs(2)), Some(secs(2)))
    );
    assert_eq!(a.lease.as_ref().map(|l| l.deadline), Some(secs(2)));
    let second = store.claim_activity_tasks(worker("w2"), t0(), 10).await.unwrap();
    assert_eq!(second.iter().map(|a| a.key.seq).collect::<Vec<_>>(), [2], "seq 1 is claimed once");
    assert_eq!(second[0].expires_at, Some(secs(10)));
    let fence = ActivityFence { key: a.key.clone(), attempt: 1, token: a.lease.as_ref().unwrap().token };

    let beat = ActivityUpdate::Heartbeat { at: secs(1), details: Some(payload("7")) };
    store.update_activity(fence.clone(), beat).await.unwrap();
    assert!(store.claim_expired_activities("w9".into(), secs(2), Duration::from_secs(5), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due(worker("w1"), secs(2)).await.unwrap(), Some(secs(3)), "the heartbeat deadline");
    let expired = store.claim_expired_activities("w9".into(), secs(3), Duration::from_secs(5), 10).await.unwrap();
    assert_eq!(expired.len(), 1);
    let e = &expired[0];
    assert_eq!(
        (e.attempt, e.heartbeat_deadline, e.heartbeat_details.as_ref().map(|p| p.as_json())),
        (1, Some(secs(3)), Some("7"))
    );
    let close = |outcome| ActivityUpdate::Close { last_failure: None, outcome };
    let done = ActivityOutcome::Completed { result: payload("1") };
    assert!(is_stale(store.update_activity(fence.clone(), close(done.clone())).await), "w1 lost the attempt");
    let timeout = ActivityFence { token: e.lease.as_ref().unwrap().token, ..fence.clone() };
    let retry = ActivityUpdate::Retry {
        retry_at: secs(20),
        failure: Failure::new("Timeout", "heartbeat"),
        heartbeat_details: None,
    };
    store.update_activity(timeout.clone(), retry).await.unwrap();
    assert!(is_stale(store.update_activity(timeout, close(done.clone())).await), "released by the retry");
    assert!(store.claim_activity_tasks(worker("w1"), secs(19), 10).await.unwrap().is_empty(), "backoff");
    let retried = store.claim_activity_tasks(worker("w1"), secs(20), 10).await.unwrap();
    assert_eq!((retried[0].attempt, retried[0].last_failure.is_some()), (2, true));
    let fence = ActivityFence { attempt: 2, token: retried[0].lease.as_ref().unwrap().token, ..fence };
    store.update_activity(fence.clone(), close(done)).await.unwrap();
    let (pending, _) = store.pending("r1".into()).await.unwrap();
    assert_eq!(pending.iter().map(|a| a.key.seq).collect::<Vec<_>>(), [2]);
    let task = store.claim_workflow_tasks(worker("w1"), secs(21), Duration::from_secs(10), 10).await.unwrap();
    assert!(matches!(
        task[0].inbox[..],
        [InboxEntry { item: InboxItem::ActivityClosed { scheduled_event_id: 2, attempt: 2, .. }, .. }]
    ));
    // A queued activity with no attempt running is cancelled into the inbox; a running one is not.
    assert!(!store.cancel_queued_activity(ActivityKey { run_id: "r1".into(), seq: 2 }).await.unwrap(), "running");
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn due_timers_fire_inside_claims_and_next_due_names_them() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "r1").await;
    let task =
        store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap().pop().unwrap();
    let mut commit = step(&task, "w1", 2);
    commit.new_timers = vec![TimerTask { run_id: "r1".into(), seq: 1, started_event_id: 2, fire_at: secs(5) }];
    commit.new_activities = vec![queued_activity("r1", 2, None)];
    store.commit_workflow_task(commit).await.unwrap();
    assert!(store.cancel_queued_activity(ActivityKey { run_id: "r1".into(), seq: 2 }).await.unwrap());
    let task =
        store.claim_workflow_tasks(worker("w1"), secs(1), Duration::from_secs(1), 10).await.unwrap().pop().unwrap();
    assert!(matches!(
        task.inbox[..],
        [InboxEntry { item: InboxItem::ActivityClosed { outcome: ActivityOutcome::Canceled, .. }, .. }]
    ));
    store.commit_workflow_task(step(&task, "w1", 1)).await.unwrap();
    assert!(store.claim_workflow_tasks(worker("w1"), secs(2), Duration::from_secs(10), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due(worker("w1"), secs(2)).await.unwrap(), Some(secs(5)));
    let mut elsewhere = (*worker("w1")).clone();
    elsewhere.task_queues = vec!["other".into()];
    let elsewhere = Arc::new(elsewhere);
    assert_eq!(store.next_due(elsewhere.clone(), secs(2)).await.unwrap(), None);
    assert!(store.claim_workflow_tasks(elsewhere, secs(6), Duration::from_secs(10), 10).await.unwrap().is_empty());
    assert_eq!(store.pending("r1".into()).await.unwrap().1.len(), 1, "not fired for another queue");
    let task = store.claim_workflow_tasks(worker("w1"), secs(6), Duration::from_secs(10), 10).await.unwrap();
    assert!(matches!(task[0].inbox[..], [InboxEntry { item: InboxItem::TimerFired { started_event_id: 2 }, .. }]));
    assert!(store.pending("r1".into()).await.unwrap().1.is_empty());
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn a_delivered_timer_commits_unleased_and_a_damaged_history_is_corrupt() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "r1").await;
    let task =
        store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap().pop().unwrap();
    let mut commit = step(&task, "w1", 2);
    commit.new_timers = vec![TimerTask { run_id: "r1".into(), seq: 1, started_event_id: 2, fire_at: secs(5) }];
    store.commit_workflow_task(commit).await.unwrap();
    let deliver = |seq| StepCommit {
        run_id: "r1".into(),
        fence: StepFence::Unleased,
        first_event_id: 3,
        events: events(3, 1),
        consumed: Vec::new(),
        delivered: Some(Delivery::TimerFired { seq }),
        new_activities: Vec::new(),
        cancel_activities: Vec::new(),
        new_timers: Vec::new(),
        cancel_timers: Vec::new(),
        close: None,
        worker_id: "w1".into(),
        replies: Vec::new(),
        signals_out: Vec::new(),
        continued: None,
        children_out: Vec::new(),
        cancel_children: Vec::new(),
        to_parent: None,
        may_have_children: false,
    };
    assert!(is_stale(store.commit_workflow_task(deliver(9)).await), "no such timer");
    store.commit_workflow_task(deliver(1)).await.unwrap();
    assert!(is_stale(store.commit_workflow_task(deliver(1)).await), "delivered once");
    assert_eq!(store.history("r1".into(), "wf-r1".into(), 1).await.unwrap().len(), 2);

    let client = raw(&url, options.schema.as_deref()).await;
    client
        .batch_execute("UPDATE events SET data = replace(data, '\"seq\":2', '\"seq\":7') WHERE event_id = 2")
        .await
        .unwrap();
    let error = store.history("r1".into(), "wf-r1".into(), 0).await.unwrap_err();
    assert!(matches!(&error, Error::CorruptHistory { reason, .. } if reason.contains("checksum")), "{error:?}");
    client.batch_execute("DELETE FROM events WHERE event_id = 2").await.unwrap();
    let error = store.history("r1".into(), "wf-r1".into(), 0).await.unwrap_err();
    assert!(matches!(&error, Error::CorruptHistory { reason, .. } if reason.contains("missing")), "{error:?}");
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn expire_all_ends_every_lease_now() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    assert!(!store.exclusive());
    store.register_worker(worker("w1"), secs(100)).await.unwrap();
    start(&store, "r1").await;
    let task =
        store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap().pop().unwrap();
    let mut commit = step(&task, "w1", 2);
    commit.new_activities = vec![queued_activity("r1", 1, None)];
    store.commit_workflow_task(commit).await.unwrap();
    store.claim_activity_tasks(worker("w1"), t0(), 10).await.unwrap();
    store.add_to_inbox("r1".into(), InboxItem::CancelRequested { reason: "r".into() }).await.unwrap();
    store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(10), 10).await.unwrap().pop().unwrap();
    store.expire_all(secs(1)).await.unwrap();
    assert!(store.list_workers().await.unwrap().is_empty());
    let expired = store.claim_expired_activities("w2".into(), secs(1), Duration::from_secs(5), 10).await.unwrap();
    assert_eq!((expired.len(), expired[0].attempt_deadline), (1, Some(secs(10))), "deadlines kept");
    assert_eq!(store.claim_workflow_tasks(worker("w2"), secs(1), Duration::from_secs(10), 10).await.unwrap().len(), 1);
    store.close();
    drop_schema(&url, &options).await;
}

/// One worker's loop in the load test: claims workflow tasks and
/// activities until every run is closed; returns (run, worker) per step.
async fn work(store: Arc<PostgresStore>, id: String, runs: usize) -> Vec<(String, u64, String)> {
    let me = worker(&id);
    let mut steps = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the load test did not finish");
        let tasks = store.claim_workflow_tasks(me.clone(), t0(), Duration::from_secs(600), 4).await.unwrap();
        for task in &tasks {
            let mut commit = step(task, &id, 1);
            if task.run.next_event_id == 1 {
                commit.new_activities = vec![queued_activity(&task.run.run_id, 1, None)];
            } else {
                commit.close = Some((RunStatus::Completed, secs(1)));
            }
            steps.push((task.run.run_id.clone(), task.run.next_event_id, id.clone()));
            store.commit_workflow_task(commit).await.unwrap();
        }
        let activities = store.claim_activity_tasks(me.clone(), t0(), 4).await.unwrap();
        for a in &activities {
            let fence =
                ActivityFence { key: a.key.clone(), attempt: a.attempt, token: a.lease.as_ref().unwrap().token };
            let close = ActivityUpdate::Close {
                last_failure: None,
                outcome: ActivityOutcome::Completed { result: payload("1") },
            };
            store.update_activity(fence, close).await.unwrap();
        }
        if tasks.is_empty() && activities.is_empty() {
            let open = RunFilter { status: Some(RunStatus::Running), ..RunFilter::default() };
            if store.list_runs(open).await.unwrap().is_empty() {
                let all = store.list_runs(RunFilter::default()).await.unwrap();
                assert_eq!(all.len(), runs);
                return steps;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_of_three_stores_run_each_step_once_and_keep_sticky() {
    let url = server_or_skip!();
    let options = options(&url);
    let stores: Vec<Arc<PostgresStore>> = futures::future::join_all((0..3).map(|_| connect(options.clone())))
        .await
        .into_iter()
        .map(|s| Arc::new(s.unwrap()))
        .collect();
    const RUNS: usize = 120;
    for i in 0..RUNS {
        start(&stores[i % 3], &format!("r{i}")).await;
    }
    for w in 0..6 {
        stores[0].register_worker(worker(&format!("w{w}")), secs(1000)).await.unwrap();
    }
    let started = Instant::now();
    let workers = (0..6).map(|w| tokio::spawn(work(stores[w % 3].clone(), format!("w{w}"), RUNS)));
    let mut steps: Vec<(String, u64, String)> =
        futures::future::join_all(workers).await.into_iter().flat_map(|r| r.unwrap()).collect();
    let elapsed = started.elapsed();
    eprintln!("{RUNS} runs, {} steps and {RUNS} activities by 6 workers in {elapsed:?}", steps.len());
    steps.sort();
    assert_eq!(steps.len(), 2 * RUNS, "each step once");
    for pair in steps.chunks(2) {
        assert_eq!((pair[0].1, pair[1].1), (1, 2), "{pair:?}");
        assert_eq!(pair[0].2, pair[1].2, "the second step stays with the sticky worker: {pair:?}");
    }
    for i in 0..RUNS {
        let history = stores[1].history(format!("r{i}"), format!("wf-r{i}"), 0).await.unwrap();
        assert_eq!(history.len(), 2);
        let (activities, timers) = stores[2].pending(format!("r{i}")).await.unwrap();
        assert!(activities.is_empty() && timers.is_empty());
    }
    for store in &stores {
        store.close();
    }
    drop_schema(&url, &options).await;
}

/// The load of the restart test: start a run, claim it, commit a step;
/// counts successes, and fails on any error that is not transient.
async fn load(store: Arc<PostgresStore>, id: usize, stop: Arc<AtomicBool>, ok: Arc<AtomicU64>) -> (u64, Vec<String>) {
    let (mut transient, mut runs) = (0, Vec::new());
    let me = worker(&format!("w{id}"));
    for i in 0.. {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let run_id = format!("r{id}-{i}");
        let created = store
            .create_run(
                run_record(&run_id),
                RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() }),
                WorkflowIdReusePolicy::default(),
            )
            .await;
        let step_result = match created {
            Ok(()) => {
                runs.push(run_id.clone());
                match store.claim_workflow_task(me.clone(), run_id.clone(), t0(), Duration::from_secs(600)).await {
                    Ok(Some(task)) => store.commit_workflow_task(step(&task, &me.worker_id, 2)).await.map(drop),
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match step_result {
            Ok(()) => drop(ok.fetch_add(1, Ordering::AcqRel)),
            Err(e) if e.is_transient() => {
                transient += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // A commit whose reply was lost in the restart may have committed.
            Err(Error::StaleTask { .. }) => {}
            Err(e) => panic!("a non-transient error under a restart: {}", crate::ErrorChain(&e)),
        }
    }
    (transient, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_under_load_fails_calls_transiently_then_recovers() {
    let url = server_or_skip!();
    let (Ok(_), Ok(ctl)) = (std::env::var("WEFT_TEST_POSTGRES_RESTART"), std::env::var("WEFT_TEST_POSTGRES_CTL"))
    else {
        skipped("WEFT_TEST_POSTGRES_RESTART and WEFT_TEST_POSTGRES_CTL are not both set");
        return;
    };
    let options = options(&url);
    let store = Arc::new(connect(options.clone()).await.unwrap());
    let (listener, rx) = recorder();
    store.subscribe(listener);
    assert_eq!(next(&rx, Duration::from_secs(5)).await.as_deref(), Some("work *"));
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let loads: Vec<_> = (0..4).map(|id| tokio::spawn(load(store.clone(), id, stop.clone(), ok.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut args = ctl.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    args.extend(["-m", "fast", "-w", "-t", "60", "restart"].map(str::to_owned));
    let restarted = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&args[0]).args(&args[1..]).stdout(std::process::Stdio::null()).status().unwrap()
    })
    .await
    .unwrap();
    assert!(restarted.success(), "pg_ctl restart: {restarted}");
    // After the restart: the load goes on (new connections), the listener reconnects.
    let at_restart = ok.load(Ordering::Acquire);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Release);
    let (mut transient, mut runs) = (0, Vec::new());
    for load in loads {
        let (t, r) = load.await.unwrap();
        transient += t;
        runs.extend(r);
    }
    let ok = ok.load(Ordering::Acquire);
    assert!(ok > at_restart, "steps commit again after the restart ({at_restart} before, {ok} in all)");
    eprintln!("restart under load: {ok} steps committed, {transient} transient errors");
    assert!(transient > 0, "the restart was felt");
    // The listener reconnects within its backoff (at most `BACKOFF_MAX`
    // after the server is back), whenever its last try was.
    let mut heard = Vec::new();
    while let Some(m) = next(&rx, BACKOFF_MAX * 5).await {
        let reconnected = m == "work *";
        heard.push(m);
        if reconnected {
            break;
        }
    }
    assert!(heard.iter().any(|m| m == "work *"), "the listener reconnected: {heard:?}");
    // Every history reads back whole, and the store takes new steps.
    for run_id in &runs {
        let workflow_id = format!("wf-{run_id}");
        let history = store.history(run_id.clone(), workflow_id, 0).await.unwrap();
        assert!(history.is_empty() || history.len() == 2, "{run_id}: {}", history.len());
    }
    start(&store, "after").await;
    let task = store.claim_workflow_task(worker("w"), "after".into(), t0(), Duration::from_secs(5)).await.unwrap();
    store.commit_workflow_task(step(&task.unwrap(), "w", 1)).await.unwrap();
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn a_pool_backs_off_after_a_failed_connection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url: Arc<str> = format!("postgres://weft@127.0.0.1:{port}/weft").into();
    let pool = Pool {
        config: tokio_postgres::Config::from_str(&url).unwrap(),
        url: url.clone(),
        setup: String::new(),
        size: 1,
        permits: Semaphore::new(1),
        idle: Mutex::new(Vec::new()),
        pids: Arc::default(),
        connect_timeout: Duration::from_secs(2),
        acquire_timeout: Duration::from_secs(2),
        closed: AtomicBool::new(false),
        backoff: Mutex::new(None),
    };
    let first = pool.get().await.err().unwrap();
    let second = pool.get().await.err().unwrap();
    for error in [&first, &second] {
        assert!(matches!(error, Error::StoreConnect { .. }) && error.is_transient(), "{error:?}");
    }
    let chain = crate::ErrorChain(&second).to_string();
    assert!(chain.contains("not reconnecting for"), "{chain}");
    tokio::time::sleep(BACKOFF_MIN * 2).await;
    let third = crate::ErrorChain(&pool.get().await.err().unwrap()).to_string();
    assert!(!third.contains("not reconnecting"), "tried again after the backoff: {third}");
}

#[tokio::test]
async fn durability_sets_synchronous_commit_per_session() {
    let url = server_or_skip!();
    for (durability, expected) in [(Durability::Full, "on"), (Durability::Normal, "off")] {
        let mut options = options(&url);
        options.durability = durability;
        let store = connect(options.clone()).await.unwrap();
        let conn = store.pool.get().await.unwrap();
        let row = conn.client.query_one("SHOW synchronous_commit", &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), expected);
        drop(conn);
        store.close();
        drop_schema(&url, &options).await;
    }
}

#[tokio::test]
async fn held_runs_are_not_claimed_until_released() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "r1").await;
    let lease = Duration::from_secs(10);
    let task = store.claim_workflow_tasks(worker("w1"), t0(), lease, 10).await.unwrap().pop().unwrap();
    store.hold_run("r1".into(), Some(task.lease.token), Some("non-determinism".into()), secs(1)).await.unwrap();
    let run = store.run("r1".into()).await.unwrap().unwrap();
    assert_eq!(
        (run.held.as_deref(), run.held_at, run.lease.is_none()),
        (Some("non-determinism"), Some(secs(1)), true),
        "held and released"
    );
    assert!(store.claim_workflow_tasks(worker("w1"), secs(2), lease, 10).await.unwrap().is_empty());
    assert!(store.claim_workflow_task(worker("w1"), "r1".into(), secs(2), lease).await.unwrap().is_none());
    // A worker started after the hold (new code, maybe) may claim it.
    let mut newer = (*worker("w3")).clone();
    newer.started_at = secs(2);
    let newer = Arc::new(newer);
    let task = store.claim_workflow_tasks(newer.clone(), secs(2), lease, 10).await.unwrap().pop().unwrap();
    store.release_workflow_task("r1".into(), task.lease.token).await.unwrap();
    let task = store.claim_workflow_task(newer, "r1".into(), secs(2), lease).await.unwrap().unwrap();
    store.release_workflow_task("r1".into(), task.lease.token).await.unwrap();
    store.hold_run("r1".into(), None, None, secs(3)).await.unwrap();
    assert_eq!(store.run("r1".into()).await.unwrap().unwrap().held_at, None);
    let task = store.claim_workflow_task(worker("w2"), "r1".into(), secs(3), lease).await.unwrap().unwrap();
    assert_eq!(task.inbox.len(), 1, "the inbox is kept");
    // Its holder claims it again (a retried step): a new token fences out the old one.
    let again = store.claim_workflow_task(worker("w2"), "r1".into(), secs(3), lease).await.unwrap().unwrap();
    assert_ne!(again.lease.token, task.lease.token);
    assert!(is_stale(store.release_workflow_task("r1".into(), task.lease.token).await));
    let task = again;
    // The step clears a hold too.
    store.hold_run("r1".into(), None, Some("again".into()), secs(3)).await.unwrap();
    assert!(!store.commit_workflow_task(step(&task, "w2", 1)).await.unwrap(), "nothing left in the inbox");
    let run = store.run("r1".into()).await.unwrap().unwrap();
    assert_eq!((run.held, run.held_at), (None, None));
    assert!(!store.add_to_inbox("nope".into(), InboxItem::CancelRequested { reason: "r".into() }).await.unwrap());
    store.close();
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn a_run_started_with_its_step_closes_an_eager_activity_in_the_next() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    let mut eager = queued_activity("r1", 1, None);
    eager.attempt = 1;
    eager.running = true;
    eager.started_at = Some(t0());
    eager.attempt_deadline = Some(secs(10));
    eager.expires_at = Some(secs(10));
    eager.lease = Some(Lease { owner: "w1".into(), token: 5, deadline: secs(10) });
    let first = StepCommit {
        run_id: "r1".into(),
        fence: StepFence::Unleased,
        first_event_id: 1,
        events: events(1, 3),
        consumed: Vec::new(),
        delivered: None,
        new_activities: vec![eager],
        cancel_activities: Vec::new(),
        new_timers: Vec::new(),
        cancel_timers: Vec::new(),
        close: None,
        worker_id: "w1".into(),
        replies: Vec::new(),
        signals_out: Vec::new(),
        continued: None,
        children_out: Vec::new(),
        cancel_children: Vec::new(),
        to_parent: None,
        may_have_children: false,
    };
    store.create_run(run_record("r1"), RunStart::Step(first), WorkflowIdReusePolicy::default()).await.unwrap();
    let run = store.run("r1".into()).await.unwrap().unwrap();
    assert_eq!((run.next_event_id, run.sticky.as_deref(), run.lease.is_none()), (4, Some("w1"), true));
    let (pending, _) = store.pending("r1".into()).await.unwrap();
    assert_eq!(pending[0].lease, Some(Lease { owner: "w1".into(), token: 5, deadline: secs(10) }));
    assert!(store.claim_activity_tasks(worker("w2"), secs(1), 10).await.unwrap().is_empty(), "running");
    let key = ActivityKey { run_id: "r1".into(), seq: 1 };
    let closing = |token, first_event_id| StepCommit {
        run_id: "r1".into(),
        fence: StepFence::Unleased,
        first_event_id,
        events: events(first_event_id, 1),
        consumed: Vec::new(),
        delivered: Some(Delivery::ActivityClosed(ActivityFence { key: key.clone(), attempt: 1, token })),
        new_activities: Vec::new(),
        cancel_activities: vec![2],
        new_timers: Vec::new(),
        cancel_timers: Vec::new(),
        close: None,
        worker_id: "w1".into(),
        replies: Vec::new(),
        signals_out: Vec::new(),
        continued: None,
        children_out: Vec::new(),
        cancel_children: Vec::new(),
        to_parent: None,
        may_have_children: false,
    };
    assert!(is_stale(store.commit_workflow_task(closing(6, 4)).await), "another token");
    assert!(is_stale(store.commit_workflow_task(closing(5, 3)).await), "an old next_event_id");
    assert_eq!(store.pending("r1".into()).await.unwrap().0.len(), 1, "nothing written");
    store.commit_workflow_task(closing(5, 4)).await.unwrap();
    assert!(store.pending("r1".into()).await.unwrap().0.is_empty());
    assert_eq!(store.history("r1".into(), "wf-r1".into(), 0).await.unwrap().len(), 4);
    // An unleased step is refused while a live lease is held.
    start(&store, "r2").await;
    let task =
        store.claim_workflow_tasks(worker("w2"), t0(), Duration::from_secs(60), 10).await.unwrap().pop().unwrap();
    let mut unleased = step(&task, "w1", 1);
    unleased.fence = StepFence::Unleased;
    assert!(is_stale(store.commit_workflow_task(unleased).await));
    store.close();
    drop_schema(&url, &options).await;
}

/// Where `store` writes its batches, for writing one batch by hand.
fn batch_target(store: &PostgresStore) -> batch::Target {
    batch::Target { pool: store.pool.clone(), channels: store.channels.clone(), schema: store.schema.as_str().into() }
}

/// A creation of `run_id` with a `Start` in its inbox, under `workflow_id`.
fn create(run_id: &str, workflow_id: &str) -> Write {
    let mut run = run_record(run_id);
    run.workflow_id = workflow_id.into();
    Write::Create {
        run,
        start: RunStart::Inbox(InboxItem::Start { input: payload("1"), signal: None, attributes: Default::default() }),
        reuse: WorkflowIdReusePolicy::AllowDuplicate,
    }
}

#[tokio::test]
async fn one_batch_commits_its_good_writes_and_refuses_each_bad_one_alone() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "a").await;
    start(&store, "b").await;
    let tasks = store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(30), 10).await.unwrap();
    let task = |id: &str| tasks.iter().find(|t| t.run.run_id == id).unwrap();
    let good = step(task("a"), "w1", 2);
    let mut lost = step(task("b"), "w1", 2);
    lost.fence = StepFence::Leased { token: task("b").lease.token ^ 1 };
    let writes = vec![
        Write::Step(good),
        Write::Step(lost),
        create("c", "wf-c"),
        create("d", "wf-a"),
        create("e", "wf-e"),
        create("f", "wf-e"),
    ];
    let outcomes = batch_target(&store).transaction(Arc::new(writes)).await.unwrap();
    assert!(matches!(outcomes[0], Ok(false)), "{:?}", outcomes[0]);
    assert!(matches!(&outcomes[1], Err(Error::StaleTask { run_id, .. }) if run_id == "b"), "{:?}", outcomes[1]);
    assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
    assert!(
        matches!(&outcomes[3], Err(Error::AlreadyStarted { run_id, .. }) if run_id == "a"),
        "a running id is refused: {:?}",
        outcomes[3]
    );
    assert!(outcomes[4].is_ok(), "{:?}", outcomes[4]);
    assert!(
        matches!(&outcomes[5], Err(Error::AlreadyStarted { run_id, .. }) if run_id == "e"),
        "the second creation of an id in one batch sees the first: {:?}",
        outcomes[5]
    );
    assert_eq!(store.history("a".into(), "wf-a".into(), 0).await.unwrap().len(), 2);
    assert!(store.history("b".into(), "wf-b".into(), 0).await.unwrap().is_empty(), "the stale step wrote nothing");
    let b = store.run("b".into()).await.unwrap().unwrap();
    assert_eq!((b.next_event_id, b.lease.map(|l| l.token)), (1, Some(task("b").lease.token)));
    assert!(store.run("d".into()).await.unwrap().is_none() && store.run("f".into()).await.unwrap().is_none());
    let claimed = store.claim_workflow_tasks(worker("w2"), secs(1), Duration::from_secs(30), 10).await.unwrap();
    let mut claimed: Vec<&str> = claimed.iter().map(|t| t.run.run_id.as_str()).collect();
    claimed.sort();
    assert_eq!(claimed, ["c", "e"], "the new runs are ready, each with its start");
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn a_batch_the_server_rejects_is_written_again_one_write_at_a_time() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "a").await;
    let tasks = store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(30), 10).await.unwrap();
    // Run id `a` exists: its second creation passes the fences (another
    // workflow id) and fails at the insert, failing the batch's transaction.
    let writes = [create("a", "wf-other"), Write::Step(step(&tasks[0], "w1", 3)), create("g", "wf-g")];
    let mut requests = Vec::new();
    let mut outcomes = Vec::new();
    for write in writes {
        let (reply, outcome) = tokio::sync::oneshot::channel();
        requests.push(batch::Request { write, reply });
        outcomes.push(outcome);
    }
    batch_target(&store).write(requests).await;
    let mut outcomes = futures::future::join_all(outcomes).await.into_iter().map(|o| o.unwrap());
    let refused = outcomes.next().unwrap();
    assert!(matches!(refused, Err(Error::Store { .. })), "{refused:?}");
    assert!(matches!(outcomes.next().unwrap(), Ok(false)));
    assert!(matches!(outcomes.next().unwrap(), Ok(false)));
    assert_eq!(store.history("a".into(), "wf-a".into(), 0).await.unwrap().len(), 3, "the step was written");
    assert!(store.run("g".into()).await.unwrap().is_some(), "so was the other creation");
    assert_eq!(store.run("a".into()).await.unwrap().unwrap().workflow_id, "wf-a", "run a is the first one");
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn sessions_plan_by_index_and_never_compile_statements() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    let mut conn = store.pool.get().await.unwrap();
    let row = conn
        .query_opt(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_hashjoin'),
                 current_setting('enable_mergejoin'), current_setting('jit')",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    let settings: Vec<String> = (0..4).map(|i| row.get(i)).collect();
    assert_eq!(settings, ["off", "off", "off", "off"]);
    drop(conn);
    drop_schema(&url, &options).await;
}

#[tokio::test]
async fn a_creation_of_an_open_id_is_refused_alone_in_a_batch_hoped_to_pass() {
    let url = server_or_skip!();
    let options = options(&url);
    let store = connect(options.clone()).await.unwrap();
    start(&store, "a").await;
    let tasks = store.claim_workflow_tasks(worker("w1"), t0(), Duration::from_secs(30), 10).await.unwrap();
    // Every fence holds and the creation is `AllowDuplicate`: the batch is
    // written in one round trip, until the open-id index refuses it.
    let writes = vec![Write::Step(step(&tasks[0], "w1", 2)), create("b", "wf-a"), create("c", "wf-c")];
    let outcomes = batch_target(&store).transaction(Arc::new(writes)).await.unwrap();
    assert!(matches!(outcomes[0], Ok(false)), "{:?}", outcomes[0]);
    assert!(matches!(&outcomes[1], Err(Error::AlreadyStarted { run_id, .. }) if run_id == "a"), "{:?}", outcomes[1]);
    assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
    assert_eq!(store.history("a".into(), "wf-a".into(), 0).await.unwrap().len(), 2);
    assert!(store.run("b".into()).await.unwrap().is_none() && store.run("c".into()).await.unwrap().is_some());
    // And a batch that passes writes everything.
    let writes = vec![create("d", "wf-d"), create("e", "wf-e")];
    let outcomes = batch_target(&store).transaction(Arc::new(writes)).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(store.run("e".into()).await.unwrap().is_some());
    drop_schema(&url, &options).await;
}
