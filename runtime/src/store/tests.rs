//! The store's own guarantees: fencing, uniqueness, schema, lock, checksums.

use std::time::{Duration, SystemTime};

use rusqlite::params;

use super::sqlite::{Location, SqliteStore};
use super::*;
use crate::activity::ActivityOptions;
use crate::client::WorkflowIdReusePolicy;
use crate::engine::Durability;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::{Error, Result};

fn memory_store() -> Result<SqliteStore> {
    SqliteStore::open(&Location::Memory)
}

fn run(workflow_id: &str, run_id: &str) -> RunRecord {
    RunRecord {
        run_id: run_id.to_owned(),
        workflow_id: workflow_id.to_owned(),
        workflow_type: "wf".to_owned(),
        status: RunStatus::Running,
        created_at: SystemTime::now(),
        closed_at: None,
        next_event_id: 1,
        held: None,
    }
}

async fn inbox(store: &SqliteStore) -> Result<Vec<InboxEntry>> {
    Ok(store.step_input("r1".into()).await?.map(|(_, inbox)| inbox).unwrap_or_default())
}

fn payload(json: &str) -> Payload {
    Payload::from_json(json.to_owned()).unwrap()
}

/// Creates run `r1` with events 1 (started) and 2 (an activity scheduled, seq 1).
async fn run_with_activity(store: &SqliteStore) -> Result<ActivityKey> {
    store
        .create_run(
            run("wf-1", "r1"),
            RunStart::Inbox(InboxItem::Start { input: payload("1") }),
            WorkflowIdReusePolicy::default(),
        )
        .await?;
    let inbox = inbox(store).await?;
    let now = SystemTime::now();
    let events = vec![
        HistoryEvent::new(
            1,
            now,
            EventAttributes::WorkflowExecutionStarted {
                workflow_type: "wf".into(),
                workflow_id: "wf-1".into(),
                run_id: "r1".into(),
                input: payload("1"),
            },
        ),
        HistoryEvent::new(
            2,
            now,
            EventAttributes::ActivityTaskScheduled {
                seq: 1,
                activity_id: "1".into(),
                activity_type: "act".into(),
                input: payload("2"),
                options: ActivityOptions::start_to_close(Duration::from_secs(1)),
            },
        ),
    ];
    let commit = WorkflowTaskCommit {
        run_id: "r1".into(),
        workflow_id: "wf-1".into(),
        first_event_id: 1,
        events,
        consumed: inbox.iter().map(|e| e.id).collect(),
        eager_starts: vec![],
    };
    assert!(store.commit_workflow_task(commit).await?);
    Ok(ActivityKey { run_id: "r1".into(), seq: 1 })
}

#[tokio::test]
async fn a_second_open_run_of_an_id_is_already_started() -> Result<()> {
    let store = memory_store()?;
    let start = || RunStart::Inbox(InboxItem::Start { input: payload("1") });
    store.create_run(run("wf", "r1"), start(), WorkflowIdReusePolicy::AllowDuplicate).await?;
    let err = store.create_run(run("wf", "r2"), start(), WorkflowIdReusePolicy::AllowDuplicate).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyStarted { run_id, .. } if run_id == "r1"));
    Ok(())
}

#[tokio::test]
async fn workflow_steps_are_fenced_on_the_next_event_id() -> Result<()> {
    let store = memory_store()?;
    run_with_activity(&store).await?;
    let stale = WorkflowTaskCommit {
        run_id: "r1".into(),
        workflow_id: "wf-1".into(),
        first_event_id: 2,
        events: vec![HistoryEvent::new(2, SystemTime::now(), EventAttributes::WorkflowExecutionCanceled {})],
        consumed: vec![],
        eager_starts: vec![],
    };
    assert!(!store.commit_workflow_task(stale).await?, "a step from a stale view is refused");
    assert_eq!(store.history("r1".into(), "wf-1".into(), 0).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn activity_updates_are_fenced_on_the_attempt() -> Result<()> {
    let store = memory_store()?;
    let key = run_with_activity(&store).await?;
    let now = SystemTime::now();
    assert!(!store.update_activity(key.clone(), ActivityUpdate::Start { attempt: 2, at: now }).await?);
    assert!(store.update_activity(key.clone(), ActivityUpdate::Start { attempt: 1, at: now }).await?);
    assert!(!store.update_activity(key.clone(), ActivityUpdate::Start { attempt: 1, at: now }).await?, "started twice");
    let failure = crate::history::Failure::new("E", "boom");
    let retry = ActivityUpdate::Retry { attempt: 1, retry_at: now, failure, heartbeat_details: None };
    assert!(store.update_activity(key.clone(), retry).await?);
    assert!(store.update_activity(key.clone(), ActivityUpdate::Start { attempt: 2, at: now }).await?);
    // A late completion from attempt 1 changes nothing.
    let late = ActivityUpdate::Close {
        attempt: 1,
        last_failure: None,
        outcome: ActivityOutcome::Completed { result: payload("\"late\"") },
    };
    assert!(!store.update_activity(key.clone(), late).await?);
    assert!(inbox(&store).await?.is_empty());
    let fresh = ActivityUpdate::Close {
        attempt: 2,
        last_failure: None,
        outcome: ActivityOutcome::Completed { result: payload("\"fresh\"") },
    };
    assert!(store.update_activity(key.clone(), fresh).await?);
    let inbox = inbox(&store).await?;
    assert!(matches!(
        &inbox[..],
        [InboxEntry { item: InboxItem::ActivityClosed { attempt: 2, outcome: ActivityOutcome::Completed { result }, .. }, .. }]
            if result.as_json() == "\"fresh\""
    ));
    Ok(())
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
    assert!(matches!(err, Error::UnsupportedSchema { found: 99, supported: 1 }), "{err:?}");
    Ok(())
}

fn file(path: &std::path::Path, inline: bool) -> Location {
    Location::File { path: path.to_owned(), durability: Durability::Normal, inline, foreign_tables: false }
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

/// The WAL file's size in bytes (0 if there is none).
fn wal_size(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

#[tokio::test]
async fn the_wal_stays_below_its_bound() -> Result<()> {
    use super::sqlite::WAL_LIMIT;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&file(&path, false))?;
    let big = payload(&format!("\"{}\"", "x".repeat(64 * 1024)));
    let start = |i: usize, input: &Payload| {
        store.create_run(
            run(&format!("wf-{i}"), &format!("r{i}")),
            RunStart::Inbox(InboxItem::Start { input: input.clone() }),
            WorkflowIdReusePolicy::default(),
        )
    };
    // A reader keeps its snapshot while the store writes ~25 MiB: no checkpoint can reset the WAL meanwhile.
    let reader = rusqlite::Connection::open(&path)?;
    reader.execute_batch("BEGIN")?;
    let _: i64 = reader.query_row("SELECT count(*) FROM runs", [], |r| r.get(0))?;
    for i in 0..400 {
        start(i, &big).await?;
    }
    let grown = wal_size(&path);
    assert!(grown > WAL_LIMIT, "the test grows the WAL past the bound ({grown} bytes)");
    reader.execute_batch("COMMIT")?;
    for i in 400..600 {
        start(i, &payload("1")).await?;
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
