//! The store's own guarantees: fencing, uniqueness, schema, lock, checksums.

use std::time::{Duration, SystemTime};

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
    let location = Location::File { path: path.clone(), durability: Durability::Full, inline: true };
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
    let location = Location::File { path: path.clone(), durability: Durability::Normal, inline: true };
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
