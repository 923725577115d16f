//! The SQLite store's own guarantees: the conformance suite in each mode,
//! then schema (version, migration), lock, checksums, foreign tables, WAL
//! bound, bad rows and wake-ups.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use rusqlite::params;

use super::conformance::store_conformance;
use super::sqlite::{Location, SqliteStore};
use super::*;
use crate::activity::ActivityOptions;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::{Error, Result};

/// Where the file stores of the conformance suite live (one per test).
static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

fn suite_file(inline: bool) -> Option<Box<dyn Store>> {
    let path = DIR.path().join(format!("{}.db", uuid::Uuid::new_v4().simple()));
    let location = Location::File { path, durability: Durability::Normal, inline, foreign_tables: false };
    Some(Box::new(SqliteStore::open(&location).unwrap()))
}

mod memory {
    async fn open() -> Option<Box<dyn super::Store>> {
        Some(Box::new(super::memory_store().unwrap()))
    }
    super::store_conformance!(open);
}

mod file {
    async fn open() -> Option<Box<dyn super::Store>> {
        super::suite_file(false)
    }
    super::store_conformance!(open);
}

mod file_inline {
    async fn open() -> Option<Box<dyn super::Store>> {
        super::suite_file(true)
    }
    super::store_conformance!(open);
}

fn memory_store() -> Result<SqliteStore> {
    SqliteStore::open(&Location::Memory)
}

fn file(path: &std::path::Path, inline: bool) -> Location {
    Location::File { path: path.to_owned(), durability: Durability::Normal, inline, foreign_tables: false }
}

fn payload(json: &str) -> Payload {
    Payload::from_json(json.to_owned()).unwrap()
}

fn run(workflow_id: &str, run_id: &str) -> RunRecord {
    RunRecord {
        run_id: run_id.to_owned(),
        workflow_id: workflow_id.to_owned(),
        workflow_type: "wf".to_owned(),
        task_queue: "default".to_owned(),
        status: RunStatus::Running,
        created_at: SystemTime::now(),
        closed_at: None,
        next_event_id: 1,
        held: None,
        held_at: None,
        lease: None,
        sticky: None,
    }
}

/// Creates run `r1` of `wf-1` with events 1 (started) and 2 (an activity
/// scheduled, seq 1) and the activity's queued row.
async fn run_with_activity(store: &SqliteStore) -> Result<ActivityKey> {
    let now = SystemTime::now();
    let options = ActivityOptions::start_to_close(Duration::from_secs(1));
    let started = EventAttributes::WorkflowExecutionStarted {
        workflow_type: "wf".into(),
        workflow_id: "wf-1".into(),
        run_id: "r1".into(),
        input: payload("1"),
        continued_from_run_id: None,
        run_timeout: None,
        execution_timeout: None,
        execution_expires_at: None,
        parent: None,
    };
    let scheduled = EventAttributes::ActivityTaskScheduled {
        seq: 1,
        activity_id: "1".into(),
        activity_type: "act".into(),
        input: payload("2"),
        options: options.clone(),
    };
    let key = ActivityKey { run_id: "r1".into(), seq: 1 };
    let activity = ActivityTask {
        key: key.clone(),
        workflow_id: "wf-1".into(),
        task_queue: "default".into(),
        scheduled_event_id: 2,
        activity_id: "1".into(),
        activity_type: "act".into(),
        input: payload("2"),
        limits: AttemptLimits::of(&options, now),
        options,
        scheduled_at: now,
        attempt: 0,
        running: false,
        ready_at: now,
        started_at: None,
        attempt_deadline: None,
        heartbeat_deadline: None,
        expires_at: None,
        lease: None,
        last_failure: None,
        heartbeat_details: None,
        cancel_requested: false,
    };
    let step = StepCommit {
        run_id: "r1".into(),
        fence: StepFence::Unleased,
        first_event_id: 1,
        events: vec![HistoryEvent::new(1, now, started), HistoryEvent::new(2, now, scheduled)],
        consumed: vec![],
        delivered: None,
        new_activities: vec![activity],
        cancel_activities: vec![],
        new_timers: vec![],
        cancel_timers: vec![],
        close: None,
        worker_id: "w".into(),
        replies: Vec::new(),
        signals_out: Vec::new(),
        continued: None,
        children_out: Vec::new(),
        cancel_children: Vec::new(),
        to_parent: None,
        may_have_children: false,
    };
    store.create_run(run("wf-1", "r1"), RunStart::Step(step), WorkflowIdReusePolicy::default()).await?;
    Ok(key)
}

#[tokio::test]
async fn a_damaged_event_is_reported_as_corrupt_history() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let location =
        Location::File { path: path.clone(), durability: Durability::Full, inline: true, foreign_tables: false };
    {
        let store = SqliteStore::open(&location)?;
        run_with_activity(&store).await?;
    }
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute("UPDATE events SET data = replace(data, '\"seq\":1', '\"seq\":7') WHERE event_id = 2", [])?;
    drop(conn);
    let store = SqliteStore::open(&location)?;
    let err = store.history("r1".into(), "wf-1".into(), 0).await.unwrap_err();
    assert!(
        matches!(&err, Error::CorruptHistory { workflow_id, reason, .. } if workflow_id == "wf-1" && reason.contains("checksum")),
        "{err:?}"
    );
    // A missing event is a gap.
    store.with_test_connection(|conn| conn.execute("DELETE FROM events WHERE event_id = 1", []))?;
    let err = store.history("r1".into(), "wf-1".into(), 0).await.unwrap_err();
    assert!(matches!(&err, Error::CorruptHistory { reason, .. } if reason.contains("missing")), "{err:?}");
    Ok(())
}

/// An inbox item and an event as a build before `started_time` wrote them
/// (no start): both decode, the event's checksum (of its stored text) holds,
/// and a close without a start still writes them so.
#[tokio::test]
async fn rows_written_before_the_attempt_s_start_was_kept_still_decode() -> Result<()> {
    const OLD_ITEM: &str = r#"{"ActivityClosed":{"scheduled_event_id":2,"attempt":1,"last_failure":null,"outcome":{"Completed":{"result":3}}}}"#;
    const OLD_EVENT: &str = r#"{"event_id":3,"timestamp":"2026-11-22T15:31:24.668279Z","event_type":"ActivityTaskStarted","attributes":{"scheduled_event_id":2,"attempt":1}}"#;
    let item = InboxItem::ActivityClosed {
        scheduled_event_id: 2,
        attempt: 1,
        last_failure: None,
        outcome: ActivityOutcome::Completed { result: payload("3") },
        started_at: None,
    };
    assert_eq!(super::codec::to_json(&item)?, OLD_ITEM, "no start: the old form");
    let store = memory_store()?;
    let key = run_with_activity(&store).await?;
    store.with_test_connection(|conn| {
        conn.execute(
            "INSERT INTO events (run_id, event_id, event_type, data, checksum) VALUES ('r1', 3, 'ActivityTaskStarted', ?1, ?2)",
            params![OLD_EVENT, super::codec::checksum(OLD_EVENT)],
        )?;
        conn.execute("INSERT INTO inbox (run_id, item) VALUES ('r1', ?1)", [OLD_ITEM])?;
        conn.execute("UPDATE runs SET next_event_id = 4, inbox_count = 1 WHERE run_id = 'r1'", [])
    })?;
    let history = store.history(key.run_id.clone(), "wf-1".into(), 2).await?;
    assert!(
        matches!(
            history[..],
            [HistoryEvent {
                event_id: 3,
                attributes: EventAttributes::ActivityTaskStarted { attempt: 1, started_time: None, .. },
                ..
            }]
        ),
        "{history:?}"
    );
    let worker = worker_w(SystemTime::now());
    let task = store.claim_workflow_task(worker, key.run_id, SystemTime::now(), Duration::from_secs(10)).await?;
    let inbox = task.expect("the run is ready").inbox;
    assert!(
        matches!(&inbox[..], [InboxEntry { item: InboxItem::ActivityClosed { attempt: 1, started_at: None, .. }, .. }]),
        "{inbox:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_row_is_a_typed_error_not_a_panic() -> Result<()> {
    let store = memory_store()?;
    let key = run_with_activity(&store).await?;
    store.with_test_connection(|conn| conn.execute("UPDATE activity_tasks SET options = '{'", []))?;
    assert!(matches!(store.pending(key.run_id.clone()).await, Err(Error::Store { .. })));
    store.with_test_connection(|conn| conn.execute("UPDATE runs SET status = 'sleeping'", []))?;
    assert!(matches!(store.run(key.run_id.clone()).await, Err(Error::Store { .. })));
    assert!(matches!(store.list_runs(RunFilter::default()).await, Err(Error::Store { .. })));
    store.with_test_connection(|conn| {
        conn.execute("UPDATE runs SET status = 'running', next_event_id = 'x'", [])?;
        conn.execute("INSERT INTO inbox (run_id, item) VALUES ('r1', 'not json')", [])
    })?;
    assert!(matches!(store.run(key.run_id.clone()).await, Err(Error::Store { .. })));
    let worker = worker_w(SystemTime::now());
    store.with_test_connection(|conn| conn.execute("UPDATE runs SET next_event_id = 3, inbox_count = 1", []))?;
    let claimed = store.claim_workflow_tasks(worker, SystemTime::now(), Duration::from_secs(1), 10).await;
    assert!(matches!(claimed, Err(Error::Store { .. })), "{claimed:?}");
    Ok(())
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_a_second_engine_is_locked_out() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let location =
        Location::File { path: path.clone(), durability: Durability::Normal, inline: true, foreign_tables: false };
    let store = SqliteStore::open(&location)?;
    assert!(matches!(SqliteStore::open(&location), Err(Error::StoreLocked { .. })));
    drop(store);
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "user_version", 99)?;
    drop(conn);
    let err = SqliteStore::open(&location).unwrap_err();
    assert!(matches!(err, Error::UnsupportedSchema { found: 99, supported: 2 }), "{err:?}");
    Ok(())
}

/// The schema of version 1, as weft wrote it.
const SCHEMA_V1: &str = "
CREATE TABLE runs (
    run_id        TEXT PRIMARY KEY,
    workflow_id   TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    next_event_id INTEGER NOT NULL,
    held          TEXT
);
CREATE UNIQUE INDEX runs_open_workflow_id ON runs (workflow_id) WHERE status = 'running';
CREATE INDEX runs_by_workflow_id ON runs (workflow_id, created_at);
CREATE INDEX runs_by_created_at ON runs (created_at);
CREATE TABLE events (
    run_id     TEXT NOT NULL,
    event_id   INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    data       TEXT NOT NULL,
    checksum   INTEGER NOT NULL,
    PRIMARY KEY (run_id, event_id)
) WITHOUT ROWID;
CREATE TABLE activity_tasks (
    run_id             TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    workflow_id        TEXT NOT NULL,
    scheduled_event_id INTEGER NOT NULL,
    activity_id        TEXT NOT NULL,
    activity_type      TEXT NOT NULL,
    input              TEXT NOT NULL,
    options            TEXT NOT NULL,
    scheduled_at       INTEGER NOT NULL,
    attempt            INTEGER NOT NULL DEFAULT 0,
    running            INTEGER NOT NULL DEFAULT 0,
    started_at         INTEGER,
    retry_at           INTEGER,
    last_failure       TEXT,
    heartbeat_details  TEXT,
    cancel_requested   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE timers (
    run_id           TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    started_event_id INTEGER NOT NULL,
    fire_at          INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE inbox (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    item   TEXT NOT NULL
);
CREATE INDEX inbox_by_run ON inbox (run_id, id);
PRAGMA user_version = 1;
";

/// Each table's columns, in order.
fn columns(path: &std::path::Path) -> Result<Vec<(String, Vec<String>)>> {
    let conn = rusqlite::Connection::open(path)?;
    let mut tables = Vec::new();
    for table in ["runs", "events", "activity_tasks", "timers", "inbox", "workers"] {
        let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"))?;
        let names = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        tables.push((table.to_owned(), names));
    }
    Ok(tables)
}

/// Each index's name and definition, by name.
fn indexes(path: &std::path::Path) -> Result<Vec<(String, Option<String>)>> {
    let conn = rusqlite::Connection::open(path)?;
    let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")?;
    Ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
}

#[tokio::test]
async fn an_earlier_version_2_store_gets_the_claimable_index_for_its_expiry_index() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("earlier.db");
    let fresh = dir.path().join("fresh.db");
    drop(SqliteStore::open(&file(&fresh, true))?);
    // The layout that builds before this index wrote: expiry on `expires_at` alone.
    {
        let store = SqliteStore::open(&file(&path, true))?;
        run_with_activity(&store).await?;
    }
    rusqlite::Connection::open(&path)?.execute_batch(
        "DROP INDEX activity_tasks_claimable;
         CREATE INDEX activity_tasks_expiry ON activity_tasks (expires_at) WHERE expires_at IS NOT NULL;",
    )?;
    assert_ne!(indexes(&path)?, indexes(&fresh)?);
    let store = SqliteStore::open(&file(&path, true))?;
    // Its attempt, started, expires after its 1 s start-to-close; the expiry is claimed once, and again when that lease ends.
    let now = SystemTime::now();
    let started = store.claim_activity_tasks(worker_w(now), now, 10).await?;
    assert_eq!(started.len(), 1);
    let expired = |at| store.claim_expired_activities("w".into(), at, Duration::from_secs(5), 10);
    let at = |s| now + Duration::from_secs(s);
    assert!(expired(at(0)).await?.is_empty(), "not yet expired");
    assert_eq!(expired(at(2)).await?.len(), 1);
    assert!(expired(at(3)).await?.is_empty(), "the expiry's lease holds it");
    assert_eq!(expired(at(8)).await?.len(), 1, "claimable again after its lease");
    drop(store);
    assert_eq!(indexes(&path)?, indexes(&fresh)?);
    Ok(())
}

#[tokio::test]
async fn a_version_1_store_is_migrated_with_its_rows() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let us = |s: u64| (s * 1_000_000) as i64;
    let options = ActivityOptions::start_to_close(Duration::from_secs(10))
        .schedule_to_close_timeout(Duration::from_secs(100))
        .schedule_to_start_timeout(Duration::from_secs(30))
        .heartbeat_timeout(Duration::from_secs(5));
    let options_json = serde_json::to_string(&options).unwrap();
    let event =
        HistoryEvent::new(1, super::codec::from_micros(us(1000)), EventAttributes::TimerFired { started_event_id: 9 });
    let event_json = serde_json::to_string(&event).unwrap();
    {
        let conn = rusqlite::Connection::open(&path)?;
        conn.execute_batch(SCHEMA_V1)?;
        conn.execute(
            "INSERT INTO runs VALUES ('r1', 'wf-1', 'wf', 'running', ?1, NULL, 2, NULL),
                                     ('r0', 'wf-0', 'wf', 'completed', ?1, ?2, 5, NULL)",
            params![us(1000), us(1001)],
        )?;
        conn.execute(
            "INSERT INTO events VALUES ('r1', 1, 'TimerFired', ?1, ?2)",
            params![event_json, super::codec::checksum(&event_json)],
        )?;
        // Seq 1 queued in backoff (retry at 1100), seq 2 running since 1050.
        let insert =
            "INSERT INTO activity_tasks (run_id, seq, workflow_id, scheduled_event_id, activity_id, activity_type,
                          input, options, scheduled_at, attempt, running, started_at, retry_at)
                      VALUES ('r1', ?1, 'wf-1', ?2, ?3, 'act', '\"x\"', ?4, ?5, ?6, ?7, ?8, ?9)";
        conn.execute(insert, params![1, 2, "1", options_json, us(1000), 1, 0, None::<i64>, us(1100)])?;
        conn.execute(insert, params![2, 3, "2", options_json, us(1000), 2, 1, us(1050), None::<i64>])?;
        conn.execute("INSERT INTO timers VALUES ('r1', 3, 4, ?1)", [us(2000)])?;
        conn.execute("INSERT INTO inbox (run_id, item) VALUES ('r1', ?1)", [r#"{"CancelRequested":{"reason":"r"}}"#])?;
    }
    let store = SqliteStore::open(&file(&path, true))?;
    let at = |s: u64| super::codec::from_micros(us(s));
    let run = store.run("r1".into()).await?.unwrap();
    assert_eq!((run.task_queue.as_str(), run.next_event_id, run.lease, run.sticky), ("default", 2, None, None));
    assert_eq!(store.run("r0".into()).await?.unwrap().closed_at, Some(at(1001)));
    assert_eq!(store.history("r1".into(), "wf-1".into(), 0).await?.len(), 1);
    let (activities, timers) = store.pending("r1".into()).await?;
    let limits = AttemptLimits {
        start_to_close: Duration::from_secs(10),
        heartbeat: Some(Duration::from_secs(5)),
        schedule_to_start: Some(Duration::from_secs(30)),
        close_deadline: Some(at(1100)),
    };
    let [queued, running] = &activities[..] else { panic!("{activities:?}") };
    assert_eq!((queued.limits, queued.task_queue.as_str()), (limits, "default"));
    assert_eq!((queued.attempt, queued.running, queued.ready_at), (1, false, at(1100)));
    assert_eq!((queued.attempt_deadline, queued.expires_at), (None, Some(at(1100))), "the close deadline comes first");
    assert_eq!((running.attempt, running.running, running.started_at), (2, true, Some(at(1050))));
    assert_eq!((running.attempt_deadline, running.heartbeat_deadline), (Some(at(1060)), Some(at(1055))));
    assert_eq!((running.expires_at, running.lease.as_ref()), (Some(at(1055)), None));
    assert_eq!(timers.iter().map(|t| (t.seq, t.started_event_id, t.fire_at)).collect::<Vec<_>>(), [(3, 4, at(2000))]);
    // The inbox item made the run's workflow task ready.
    let worker = worker_w(at(0));
    let tasks = store.claim_workflow_tasks(worker, at(1200), Duration::from_secs(1), 10).await?;
    assert!(matches!(&tasks[..], [t] if t.run.run_id == "r1" && t.inbox.len() == 1), "{tasks:?}");
    drop(store);
    // The same tables as a new store, column for column.
    let fresh = dir.path().join("v2.db");
    drop(SqliteStore::open(&file(&fresh, true))?);
    assert_eq!(columns(&path)?, columns(&fresh)?);
    assert_eq!(indexes(&path)?, indexes(&fresh)?);
    let version: u32 = rusqlite::Connection::open(&path)?.pragma_query_value(None, "user_version", |r| r.get(0))?;
    assert_eq!(version, 2);
    Ok(())
}

#[tokio::test]
async fn a_second_engine_through_a_symlink_or_a_hard_link_is_locked_out() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&file(&path, false))?;
    let symlink = dir.path().join("symlink.db");
    std::os::unix::fs::symlink(&path, &symlink).unwrap();
    let err = SqliteStore::open(&file(&symlink, false)).unwrap_err();
    assert!(matches!(&err, Error::StoreLocked { path } if *path == symlink), "{err:?}");
    let hard_link = dir.path().join("hard-link.db");
    std::fs::hard_link(&path, &hard_link).unwrap();
    let err = SqliteStore::open(&file(&hard_link, false)).unwrap_err();
    assert!(matches!(&err, Error::StoreLocked { path } if *path == hard_link), "{err:?}");
    // The first engine carries on.
    run_with_activity(&store).await?;
    drop(store);
    // With two names, the store opens under neither: each name would get its own WAL.
    for name in [&path, &hard_link] {
        let err = SqliteStore::open(&file(name, true)).unwrap_err();
        assert!(matches!(&err, Error::StoreHasLinks { links: 2, .. }), "{err:?}");
        let err = SqliteStore::open(&Location::Inspect { path: name.clone(), busy_timeout: Duration::from_secs(1) })
            .unwrap_err();
        assert!(matches!(&err, Error::StoreHasLinks { links: 2, .. }), "{err:?}");
    }
    std::fs::remove_file(&hard_link).unwrap();
    let store = SqliteStore::open(&file(&symlink, true))?;
    assert!(store.run("r1".into()).await?.is_some(), "the symlink reaches the same store");
    Ok(())
}

#[tokio::test]
async fn a_database_with_other_tables_is_refused_unless_shared() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    rusqlite::Connection::open(&path)?.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY);")?;
    let err = SqliteStore::open(&file(&path, true)).unwrap_err();
    assert!(matches!(&err, Error::NotAStore { path: p } if *p == path), "{err:?}");
    let tables = |path: &std::path::Path| -> Result<Vec<String>> {
        let conn = rusqlite::Connection::open(path)?;
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
        Ok(stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
    };
    assert_eq!(tables(&path)?, ["orders"], "a refused database is left as it was");

    let shared =
        Location::File { path: path.clone(), durability: Durability::Normal, inline: true, foreign_tables: true };
    let store = SqliteStore::open(&shared)?;
    run_with_activity(&store).await?;
    drop(store);
    assert!(tables(&path)?.iter().any(|t| t == "orders") && tables(&path)?.iter().any(|t| t == "runs"));
    // Once it is a weft store, it opens without the opt-in.
    drop(SqliteStore::open(&file(&path, true))?);

    // A missing or empty file becomes a new store.
    let missing = dir.path().join("missing.db");
    drop(SqliteStore::open(&file(&missing, true))?);
    let empty = dir.path().join("empty.db");
    std::fs::File::create(&empty).unwrap();
    drop(SqliteStore::open(&file(&empty, true))?);
    assert!(tables(&empty)?.iter().any(|t| t == "runs"));
    Ok(())
}

#[test]
fn a_directory_or_a_fifo_is_not_a_store_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.db");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for (path, kind) in [(dir.path().to_owned(), crate::FileKind::Directory), (fifo, crate::FileKind::Fifo)] {
        for location in [
            file(&path, true),
            file(&path, false),
            Location::Inspect { path: path.clone(), busy_timeout: Duration::from_secs(1) },
        ] {
            // On a thread: opening a FIFO must not hang the test if it hangs the store.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(SqliteStore::open(&location).map(drop)));
            let result = rx.recv_timeout(Duration::from_secs(10)).expect("opening did not hang");
            let err = result.unwrap_err();
            assert!(matches!(&err, Error::NotAFile { path: p, kind: k } if *p == path && *k == kind), "{err:?}");
        }
    }
}

/// Counts the wake-ups a store reports.
#[derive(Default)]
struct Wakes(std::sync::Mutex<usize>, std::sync::Condvar);

impl StoreListener for Wakes {
    fn work_available(&self, task_queue: Option<&str>) {
        assert_eq!(task_queue, None);
        *self.0.lock().unwrap() += 1;
        self.1.notify_all();
    }

    fn run_closed(&self, _: &str) {}
}

#[tokio::test]
async fn an_inbox_item_from_the_weft_command_wakes_the_engine() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let engine = SqliteStore::open(&file(&path, false))?;
    assert!(engine.exclusive());
    let wakes = Arc::new(Wakes::default());
    engine.subscribe(wakes.clone());
    run_with_activity(&engine).await?;
    let inspect = SqliteStore::open(&Location::Inspect { path: path.clone(), busy_timeout: Duration::from_secs(1) })?;
    assert!(!inspect.exclusive());
    assert!(inspect.add_to_inbox("r1".into(), InboxItem::CancelRequested { reason: "cli".into() }).await?);
    assert!(!inspect.add_to_inbox("missing".into(), InboxItem::CancelRequested { reason: "cli".into() }).await?);
    let woken = wakes.1.wait_timeout_while(wakes.0.lock().unwrap(), Duration::from_secs(5), |n| *n == 0).unwrap();
    assert_eq!(*woken.0, 1, "one wake-up, for the item added");
    drop(woken);
    let mut socket = path.as_os_str().to_owned();
    socket.push("-wake");
    assert!(std::path::Path::new(&socket).exists());
    engine.close();
    assert!(!std::path::Path::new(&socket).exists(), "closing removes the socket");
    // No engine: the command's item is added all the same.
    assert!(inspect.add_to_inbox("r1".into(), InboxItem::CancelRequested { reason: "again".into() }).await?);
    Ok(())
}

/// The WAL file's size in bytes (0 if there is none).
fn wal_size(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// Starts run `r{i}` (workflow `wf-{i}`) with `input`: one commit.
async fn start_run(store: &SqliteStore, i: usize, input: &Payload) -> Result<()> {
    store
        .create_run(
            run(&format!("wf-{i}"), &format!("r{i}")),
            RunStart::Inbox(InboxItem::Start { input: input.clone(), signal: None, attributes: Default::default() }),
            WorkflowIdReusePolicy::default(),
        )
        .await
}

/// Every 64 commits a passive checkpoint copies the WAL into the database
/// file: on the writer thread at `Full`, on the checkpoint thread at `Normal`.
#[tokio::test]
async fn commits_are_checkpointed_into_the_database_file_at_either_durability() -> Result<()> {
    for durability in [Durability::Full, Durability::Normal] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let location = Location::File { path: path.clone(), durability, inline: false, foreign_tables: false };
        let store = SqliteStore::open(&location)?;
        let empty = std::fs::metadata(&path).unwrap().len();
        let input = payload(&format!("\"{}\"", "x".repeat(4096)));
        // One commit each (every start is awaited): 200 commits, about 2 MB of WAL, below its bound.
        for i in 0..200 {
            start_run(&store, i, &input).await?;
        }
        assert!(wal_size(&path) <= super::sqlite::WAL_LIMIT, "{durability:?}: no truncating checkpoint was needed");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let grown = loop {
            let size = std::fs::metadata(&path).unwrap().len();
            if size > empty + 500_000 || std::time::Instant::now() > deadline {
                break size;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(grown > empty + 500_000, "{durability:?}: the database file is {grown} bytes, {empty} when empty");
        // Closing stops the checkpoint thread with the writer: the file opens again at once.
        drop(store);
        let store = SqliteStore::open(&location)?;
        assert!(store.run("r199".to_owned()).await?.is_some(), "{durability:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_wal_stays_below_its_bound() -> Result<()> {
    use super::sqlite::WAL_LIMIT;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&file(&path, false))?;
    let big = payload(&format!("\"{}\"", "x".repeat(64 * 1024)));
    // A reader keeps its snapshot while the store writes ~25 MiB: no checkpoint can reset the WAL meanwhile.
    let reader = rusqlite::Connection::open(&path)?;
    reader.execute_batch("BEGIN")?;
    let _: i64 = reader.query_row("SELECT count(*) FROM runs", [], |r| r.get(0))?;
    for i in 0..400 {
        start_run(&store, i, &big).await?;
    }
    let grown = wal_size(&path);
    assert!(grown > WAL_LIMIT, "the test grows the WAL past the bound ({grown} bytes)");
    reader.execute_batch("COMMIT")?;
    for i in 400..600 {
        start_run(&store, i, &payload("1")).await?;
    }
    let size = wal_size(&path);
    assert!(size <= WAL_LIMIT, "the WAL is {size} bytes after it grew to {grown}; the bound is {WAL_LIMIT}");
    drop(store);

    // A WAL left large (by a crash, or another connection) is truncated when the store opens.
    let other = rusqlite::Connection::open(&path)?;
    other.pragma_update(None, "wal_autocheckpoint", 0)?;
    for i in 0..400 {
        other.execute("INSERT INTO inbox (run_id, item) VALUES (?1, ?2)", params![format!("x{i}"), big.as_json()])?;
    }
    let left = wal_size(&path);
    assert!(left > WAL_LIMIT, "{left}");
    let store = SqliteStore::open(&file(&path, false))?;
    let size = wal_size(&path);
    assert!(size <= WAL_LIMIT, "the WAL is {size} bytes after opening on a WAL of {left}");
    drop(other);
    drop(store);
    Ok(())
}

/// Worker `w` of queue `default`, for workflow type `wf` and activity type `act`.
fn worker_w(started_at: SystemTime) -> Arc<WorkerInfo> {
    Arc::new(WorkerInfo {
        worker_id: "w".into(),
        host: "h".into(),
        pid: 1,
        task_queues: vec!["default".into()],
        workflow_types: vec!["wf".into()],
        activity_types: vec!["act".into()],
        started_at,
    })
}

/// Each statement the connection holds that SQLite prepared again after its
/// first preparation (a schema change, or a bound value its plan used), with
/// how often.
fn reprepared(conn: &rusqlite::Connection) -> Vec<(String, i32)> {
    use rusqlite::ffi;
    let mut found = Vec::new();
    // SAFETY: the connection is borrowed for the walk and its statements are
    // only read (their text and a counter), not stepped or finalized.
    unsafe {
        let db = conn.handle();
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            let count = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            if count > 0 {
                let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt)).to_string_lossy().into_owned();
                found.push((sql, count));
            }
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    found
}

#[tokio::test]
async fn claims_are_not_prepared_again_at_each_call() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&file(&dir.path().join("s.db"), true))?;
    for i in 0..20 {
        start_run(&store, i, &payload("1")).await?;
    }
    let now = SystemTime::now();
    let worker = worker_w(now);
    for round in 0..5u64 {
        let at = now + Duration::from_secs(round * 10);
        store.claim_workflow_tasks(worker.clone(), at, Duration::from_secs(1), 4).await?;
        store.claim_activity_tasks(worker.clone(), at, 4).await?;
        store.claim_expired_activities("w".into(), at, Duration::from_secs(5), 4).await?;
        store.next_due(worker.clone(), at).await?;
    }
    let again = store.with_test_connection(|conn| Ok(reprepared(conn)))?;
    assert!(again.is_empty(), "{again:#?}");
    Ok(())
}
