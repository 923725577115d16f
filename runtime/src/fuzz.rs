//! What the fuzz targets in `runtime/fuzz` need of the crate's internals.
//! Behind the `fuzzing` feature; not public API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::executor::block_on;
use rusqlite::types::Value;

use crate::Error;
use crate::history::Payload;
use crate::list::ListFilter;
use crate::store::codec::checksum;
use crate::store::sqlite::{Location, SqliteStore};
use crate::store::{RunFilter, Store, WorkerInfo};

/// Parses a payload's JSON text the way the store does when it reads a row.
pub fn payload_from_json(json: String) -> Result<Payload, crate::PayloadError> {
    Payload::from_json(json)
}

/// Separates the rows of a [`store_rows`] input.
pub const ROW_SEPARATOR: u8 = 0x1e;
/// Separates the cells of a row.
pub const CELL_SEPARATOR: u8 = 0x1f;

/// The tables a [`store_rows`] input may fill, with their columns in order.
pub const TABLES: &[(&str, &[&str])] = &[
    (
        "runs",
        &[
            "run_id",
            "workflow_id",
            "workflow_type",
            "status",
            "created_at",
            "closed_at",
            "next_event_id",
            "held",
            "task_queue",
            "inbox_count",
            "lease_owner",
            "lease_token",
            "lease_deadline",
            "sticky_owner",
        ],
    ),
    ("events", &["run_id", "event_id", "event_type", "data", "checksum"]),
    (
        "activity_tasks",
        &[
            "run_id",
            "seq",
            "workflow_id",
            "scheduled_event_id",
            "activity_id",
            "activity_type",
            "input",
            "options",
            "scheduled_at",
            "attempt",
            "running",
            "started_at",
            "last_failure",
            "heartbeat_details",
            "cancel_requested",
            "task_queue",
            "start_to_close_us",
            "heartbeat_us",
            "schedule_to_start_us",
            "close_deadline",
            "ready_at",
            "attempt_deadline",
            "heartbeat_deadline",
            "expires_at",
            "lease_owner",
            "lease_token",
            "lease_deadline",
        ],
    ),
    ("timers", &["run_id", "seq", "started_event_id", "fire_at", "task_queue"]),
    ("inbox", &["id", "run_id", "item"]),
    (
        "workers",
        &["worker_id", "host", "pid", "task_queues", "workflow_types", "activity_types", "started_at", "expires_at"],
    ),
];

/// Writes the rows `input` describes into a fresh in-memory weft store, then
/// reads everything back through the store's read functions, its claims
/// (which decode the rows they claim) and the queries the client and the
/// `weft` command use.
///
/// `input`: rows separated by [`ROW_SEPARATOR`], each the table's name then
/// its cells (columns in the order of [`TABLES`]) separated by
/// [`CELL_SEPARATOR`]. A cell is bound as text (SQLite's column affinity
/// turns numbers into integers), as `NULL` when empty, as a blob when not
/// UTF-8. An event's empty `checksum` cell gets the right checksum of its
/// `data`, so that the decoder behind the check is reached. A row the schema
/// refuses is skipped.
///
/// Returns the errors the reads gave; each must be a typed decoding error
/// ([`Error::Store`] or [`Error::CorruptHistory`]) or [`Error::WorkflowNotFound`].
pub fn store_rows(input: &[u8]) -> Vec<Error> {
    // One store for every input (a new schema each time would cost more than
    // the reads); emptied first.
    static STORE: std::sync::LazyLock<SqliteStore> =
        std::sync::LazyLock::new(|| SqliteStore::open(&Location::Memory).expect("an in-memory store opens"));
    let store = &*STORE;
    store.with_connection(|conn| {
        for (name, _) in TABLES {
            conn.execute(&format!("DELETE FROM {name}"), []).expect("a table empties");
        }
        for row in input.split(|b| *b == ROW_SEPARATOR) {
            let mut cells = row.split(|b| *b == CELL_SEPARATOR);
            let table = cells.next().unwrap_or_default();
            let Some((name, columns)) = TABLES.iter().find(|(name, _)| name.as_bytes() == table) else { continue };
            let mut values: Vec<Value> = cells.take(columns.len()).map(cell).collect();
            if *name == "events" && values.len() == 5 && values[4] == Value::Null {
                let data = match &values[3] {
                    Value::Text(data) => data.clone(),
                    _ => String::new(),
                };
                values[4] = Value::Integer(checksum(&data));
            }
            let sql = format!(
                "INSERT OR REPLACE INTO {name} ({}) VALUES ({})",
                columns[..values.len()].join(", "),
                vec!["?"; values.len()].join(", ")
            );
            let _ = conn.prepare_cached(&sql).and_then(|mut s| s.execute(rusqlite::params_from_iter(values)));
        }
    });
    let mut errors = Vec::new();
    let mut check = |result: crate::Result<()>| {
        if let Err(error) = result {
            assert!(
                matches!(error, Error::Store { .. } | Error::CorruptHistory { .. } | Error::WorkflowNotFound { .. }),
                "an untyped read error: {error:?}"
            );
            errors.push(error);
        }
    };
    let ids: Vec<(String, String)> = store
        .with_connection(|conn| {
            let mut stmt = conn.prepare("SELECT CAST(run_id AS TEXT), CAST(workflow_id AS TEXT) FROM runs")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()
        })
        .and_then(Result::ok)
        .unwrap_or_default();
    check(block_on(store.list_runs(RunFilter::default())).map(drop));
    check(block_on(crate::query::list(store, ListFilter::all())).map(drop));
    check(block_on(store.list_workers()).map(drop));
    // A worker of every queue and type the rows name, at a time when everything is due.
    let names = |sql: &str| -> Vec<String> {
        store
            .with_connection(|conn| {
                let mut stmt = conn.prepare(sql)?;
                stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()
            })
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let worker = Arc::new(WorkerInfo {
        worker_id: "fuzz".into(),
        host: "fuzz".into(),
        pid: 0,
        task_queues: names(
            "SELECT CAST(task_queue AS TEXT) FROM runs UNION SELECT CAST(task_queue AS TEXT) FROM activity_tasks",
        ),
        workflow_types: names("SELECT DISTINCT CAST(workflow_type AS TEXT) FROM runs"),
        activity_types: names("SELECT DISTINCT CAST(activity_type AS TEXT) FROM activity_tasks"),
        started_at: SystemTime::UNIX_EPOCH,
    });
    let late = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40);
    check(block_on(store.next_due(worker.clone(), SystemTime::UNIX_EPOCH)).map(drop));
    check(block_on(store.claim_expired_activities("fuzz".into(), late, Duration::from_secs(1), 100)).map(drop));
    check(block_on(store.claim_activity_tasks(worker.clone(), late, 100)).map(drop));
    check(block_on(store.claim_workflow_tasks(worker.clone(), late, Duration::from_secs(1), 100)).map(drop));
    for (run_id, workflow_id) in ids {
        check(block_on(store.run(run_id.clone())).map(drop));
        check(block_on(store.latest_run(workflow_id.clone())).map(drop));
        check(block_on(store.history(run_id.clone(), workflow_id.clone(), 0)).map(drop));
        check(
            block_on(store.claim_workflow_task(worker.clone(), run_id.clone(), late, Duration::from_secs(1))).map(drop),
        );
        check(block_on(store.pending(run_id)).map(drop));
        check(block_on(crate::query::describe(store, &workflow_id)).map(drop));
        check(block_on(crate::query::history(store, &workflow_id)).map(drop));
    }
    errors
}

fn cell(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok("") => Value::Null,
        Ok(text) => Value::Text(text.to_owned()),
        Err(_) => Value::Blob(bytes.to_vec()),
    }
}
