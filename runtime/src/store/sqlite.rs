//! The SQLite store: one file (WAL, group commit) or memory.
//!
//! On a file, one writer thread owns the writing connection. Each write (a
//! step's commit, a claim, an activity update) is a job on its queue; the
//! thread takes every job waiting, runs them in one `BEGIN IMMEDIATE`
//! transaction, commits once, and only then answers them: many workflows'
//! steps share one fsync (group commit). A write that fails undoes only
//! itself (see [`group_commit`]). Reads use a second connection on the
//! caller's thread, so they never wait behind a commit. In memory, and in
//! `inline` mode, every call runs on the caller's thread under a mutex, which
//! keeps virtual time (`tokio::time::pause`) deterministic.
//!
//! The engine owns the file (the engine lock), so the only other writer is a
//! `weft` command (an [`Location::Inspect`] store): after adding to a run's
//! inbox it sends a datagram to the engine's socket at `<path>-wake`, which
//! the engine's store turns into [`StoreListener::work_available`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, named_params, params};
use tokio::sync::oneshot;

use super::codec::{StoredEvent, check_event, checksum, duration_micros, from_json, from_micros, micros, to_json};
use super::{
    ActivityFence, ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate, AttemptLimits, Delivery, Dialect,
    Durability, InboxEntry, InboxItem, Lease, ListPosition, ListedRun, RUN_TABLES, RunCounts, RunFilter, RunRecord,
    RunStart, RunStatus, Shape, SqlValue, StepCommit, StepFence, Store, StoreListener, TimerTask, WorkerInfo,
    WorkerRecord, WorkflowIdReusePolicy, WorkflowTask, expired_runs_sql,
};
use super::{CHILD_CANCEL_REASON, INBOX_GREW, ReplyBody, host_name, lock, new_token, parent_closed};
use crate::activity::ActivityOptions;
use crate::history::{HistoryEvent, Payload};
use crate::{Error, Result};

/// The schema version this build writes; older stores are migrated, newer refused.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The most jobs one group commit takes.
const MAX_BATCH: usize = 2048;

/// Group commits between two WAL checkpoints (automatic checkpoints are off:
/// they would run inside a commit, before its callers are answered).
const CHECKPOINT_EVERY: u32 = 64;

/// The bound on the WAL file's size, in bytes: past it, the writer runs a
/// truncating checkpoint (outside its commits).
pub(crate) const WAL_LIMIT: u64 = 8 << 20;

/// How long a truncating checkpoint waits for readers to leave the WAL.
const TRUNCATE_WAIT: Duration = Duration::from_millis(100);

/// The schema of a new store. A store of version 1 is migrated to the same
/// tables ([`MIGRATE_V1`]): the columns added since come last.
///
/// A run's workflow task is ready while `inbox_count > 0` (kept with the
/// inbox); `runs_ready` indexes the ready runs only, so a claim reads them
/// and nothing else.
const SCHEMA: &str = "
CREATE TABLE runs (
    run_id         TEXT PRIMARY KEY,
    workflow_id    TEXT NOT NULL,
    workflow_type  TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    closed_at      INTEGER,
    next_event_id  INTEGER NOT NULL,
    held           TEXT,
    task_queue     TEXT NOT NULL DEFAULT 'default',
    inbox_count    INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_token    INTEGER,
    lease_deadline INTEGER,
    sticky_owner   TEXT,
    held_at        INTEGER
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
    run_id               TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    workflow_id          TEXT NOT NULL,
    scheduled_event_id   INTEGER NOT NULL,
    activity_id          TEXT NOT NULL,
    activity_type        TEXT NOT NULL,
    input                TEXT NOT NULL,
    options              TEXT NOT NULL,
    scheduled_at         INTEGER NOT NULL,
    attempt              INTEGER NOT NULL DEFAULT 0,
    running              INTEGER NOT NULL DEFAULT 0,
    started_at           INTEGER,
    last_failure         TEXT,
    heartbeat_details    TEXT,
    cancel_requested     INTEGER NOT NULL DEFAULT 0,
    task_queue           TEXT NOT NULL DEFAULT 'default',
    start_to_close_us    INTEGER,
    heartbeat_us         INTEGER,
    schedule_to_start_us INTEGER,
    close_deadline       INTEGER,
    ready_at             INTEGER,
    attempt_deadline     INTEGER,
    heartbeat_deadline   INTEGER,
    expires_at           INTEGER,
    lease_owner          TEXT,
    lease_token          INTEGER,
    lease_deadline       INTEGER,
    queued_seq           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE timers (
    run_id           TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    started_event_id INTEGER NOT NULL,
    fire_at          INTEGER NOT NULL,
    task_queue       TEXT NOT NULL DEFAULT 'default',
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE inbox (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    item   TEXT NOT NULL
);
CREATE INDEX inbox_by_run ON inbox (run_id, id);
";

/// A claim's row limit. An expression, not the bare parameter: SQLite's
/// planner reads a bare `LIMIT` parameter, so it would prepare the statement
/// again at every call.
const CLAIM_LIMIT: &str = "LIMIT :limit + 0";

/// [`claimable_at!`]. The queries on it name `activity_tasks_claimable`
/// (`INDEXED BY`), so one that could not use the index fails to prepare.
const CLAIMABLE_AT: &str = claimable_at!();

/// Steps' replies to requests (rejected updates, queries from the `weft`
/// command), for their callers: no event records them, and the later
/// indexes. Additive, like `weft_engine`: older builds ignore it, so the
/// schema version stays; every opening (the `weft` command's too) creates it.
/// `activity_tasks_claimable` replaced `activity_tasks_expiry` (on `expires_at`
/// alone, which kept claimed rows in the claim's range).
const ADDED_TABLES: &str = concat!(
    "
CREATE TABLE IF NOT EXISTS replies (
    run_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    reply      TEXT NOT NULL,
    PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_parents (
    run_id             TEXT PRIMARY KEY,
    parent_run_id      TEXT NOT NULL,
    initiated_event_id INTEGER NOT NULL,
    close_policy       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_parents_by_parent ON run_parents (parent_run_id, initiated_event_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at);
CREATE INDEX IF NOT EXISTS runs_held ON runs (status) WHERE held IS NOT NULL;
CREATE INDEX IF NOT EXISTS activity_tasks_claimable ON activity_tasks (",
    claimable_at!(),
    ") WHERE expires_at IS NOT NULL;
DROP INDEX IF EXISTS activity_tasks_expiry;
"
);

/// What version 2 adds to either schema: the claim indexes and the workers.
const SCHEMA_V2_ADDITIONS: &str = "
CREATE INDEX runs_ready ON runs (task_queue, sticky_owner)
    WHERE status = 'running' AND inbox_count > 0;
CREATE INDEX runs_leased ON runs (lease_owner) WHERE lease_token IS NOT NULL;
CREATE INDEX activity_tasks_queued ON activity_tasks (task_queue, ready_at, queued_seq) WHERE running = 0;
CREATE INDEX timers_due ON timers (task_queue, fire_at);
CREATE INDEX timers_by_run ON timers (run_id, fire_at);
CREATE TABLE workers (
    worker_id      TEXT PRIMARY KEY,
    host           TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    task_queues    TEXT NOT NULL,
    workflow_types TEXT NOT NULL,
    activity_types TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
";

/// Version 1 to 2, the SQL part: new columns (queue `default`, no leases),
/// each run's inbox count; [`migrate_v1`] then computes the activity rows'
/// limits and deadlines from their options, and drops `retry_at` (now `ready_at`).
const MIGRATE_V1: &str = "
ALTER TABLE runs ADD COLUMN task_queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE runs ADD COLUMN inbox_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_token INTEGER;
ALTER TABLE runs ADD COLUMN lease_deadline INTEGER;
ALTER TABLE runs ADD COLUMN sticky_owner TEXT;
ALTER TABLE runs ADD COLUMN held_at INTEGER;
UPDATE runs SET inbox_count = (SELECT count(*) FROM inbox WHERE inbox.run_id = runs.run_id)
    WHERE run_id IN (SELECT run_id FROM inbox);
ALTER TABLE activity_tasks ADD COLUMN task_queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE activity_tasks ADD COLUMN start_to_close_us INTEGER;
ALTER TABLE activity_tasks ADD COLUMN heartbeat_us INTEGER;
ALTER TABLE activity_tasks ADD COLUMN schedule_to_start_us INTEGER;
ALTER TABLE activity_tasks ADD COLUMN close_deadline INTEGER;
ALTER TABLE activity_tasks ADD COLUMN ready_at INTEGER;
ALTER TABLE activity_tasks ADD COLUMN attempt_deadline INTEGER;
ALTER TABLE activity_tasks ADD COLUMN heartbeat_deadline INTEGER;
ALTER TABLE activity_tasks ADD COLUMN expires_at INTEGER;
ALTER TABLE activity_tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE activity_tasks ADD COLUMN lease_token INTEGER;
ALTER TABLE activity_tasks ADD COLUMN lease_deadline INTEGER;
ALTER TABLE activity_tasks ADD COLUMN queued_seq INTEGER NOT NULL DEFAULT 0;
UPDATE activity_tasks SET ready_at = coalesce(retry_at, scheduled_at);
ALTER TABLE timers ADD COLUMN task_queue TEXT NOT NULL DEFAULT 'default';
";

/// Where the store lives and how it commits.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    Memory,
    File {
        path: PathBuf,
        durability: Durability,
        inline: bool,
        /// Whether a database with other applications' tables may become a store.
        foreign_tables: bool,
    },
    /// An existing file, opened by the `weft` command: no lock, no schema changes.
    Inspect {
        path: PathBuf,
        /// How long a write waits for the write lock before it fails with [`Error::StoreBusy`].
        busy_timeout: Duration,
    },
}

/// The writer thread's queue and handle; `None` in the mode once closed.
type WriterThread = (mpsc::Sender<Box<dyn WriteJob>>, std::thread::JoinHandle<()>);

/// A write waiting for its group commit. It may run twice: when a neighbour
/// fails, the batch is rolled back and run again, one savepoint per write.
trait WriteJob: Send {
    /// Runs the write; false if it failed (its changes must be undone).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch has committed (`None`) or not.
    fn reply(self: Box<Self>, commit_error: Option<&rusqlite::Error>);
}

struct Write<T, F> {
    op: F,
    result: Option<Result<T>>,
    tx: oneshot::Sender<Result<T>>,
}

impl<T: Send, F: FnMut(&Connection) -> Result<T> + Send> WriteJob for Write<T, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.op)(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn reply(self: Box<Self>, commit_error: Option<&rusqlite::Error>) {
        let _ = self.tx.send(match (commit_error, self.result) {
            (Some(e), _) => Err(Error::from_shared_sqlite(e)),
            (None, Some(result)) => result,
            (None, None) => Err(Error::store("the write did not run")),
        });
    }
}

enum Mode {
    /// `None` once closed.
    Inline(Mutex<Option<Connection>>),
    /// Writes go to the writer thread; reads use their own connection on the
    /// caller's thread, so they never wait behind a commit's fsync (WAL lets
    /// a reader see every committed write while the writer works).
    Thread { writer: Mutex<Option<WriterThread>>, reader: Mutex<Option<Connection>> },
}

/// The SQLite implementation of [`Store`].
pub(crate) struct SqliteStore {
    mode: Mode,
    /// Held until the store's connections are closed (the engine lock, for an engine).
    claim: Mutex<Option<lock::FileClaim>>,
    /// An inspector's path and busy timeout: its busy writes become [`Error::StoreBusy`].
    inspect: Option<(PathBuf, Duration)>,
    /// An engine's store file: where [`subscribe`](Store::subscribe) listens (`<path>-wake`).
    file: Option<PathBuf>,
    /// The engine's listener, once subscribed.
    listener: Arc<Mutex<Option<Arc<dyn StoreListener>>>>,
    /// The thread receiving wake-ups, while subscribed.
    #[cfg(unix)]
    wake: Mutex<Option<wake::Receiver>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    fn new(
        mode: Mode,
        claim: Option<lock::FileClaim>,
        inspect: Option<(PathBuf, Duration)>,
        file: Option<PathBuf>,
    ) -> Self {
        SqliteStore {
            mode,
            claim: Mutex::new(claim),
            inspect,
            file,
            listener: Arc::default(),
            #[cfg(unix)]
            wake: Mutex::new(None),
        }
    }

    /// Opens (creating or migrating) the store, taking the engine lock on a file.
    pub(crate) fn open(location: &Location) -> Result<Self> {
        match location {
            Location::Memory => {
                let conn = Connection::open_in_memory()?;
                prepare(&conn, None, false)?;
                Ok(SqliteStore::new(Mode::Inline(Mutex::new(Some(conn))), None, None, None))
            }
            Location::File { path, durability, inline, foreign_tables } => {
                // Declared first, dropped last: after every connection on the file.
                let claim = lock::claim_engine(path, *foreign_tables)?;
                let conn = Connection::open(path)?;
                prepare(&conn, Some((*durability, path)), *foreign_tables)?;
                // A WAL left large by a crash (or anyone) starts again from zero,
                // unless a reader (a `weft` command) is in it: then the writer does it later.
                conn.busy_timeout(TRUNCATE_WAIT)?;
                let _ = checkpoint(&conn, "TRUNCATE");
                conn.busy_timeout(BUSY_TIMEOUT)?;
                record_engine(&conn)?;
                let mode = if *inline {
                    Mode::Inline(Mutex::new(Some(conn)))
                } else {
                    // The writer checkpoints itself, outside its commits.
                    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                    let reader = Connection::open(path)?;
                    reader.busy_timeout(BUSY_TIMEOUT)?;
                    reader.pragma_update(None, "cache_size", -16_384)?;
                    // Its page cache is dropped whenever the writer commits; a
                    // mapping serves the re-reads without a system call each.
                    reader.pragma_update(None, "mmap_size", 1_i64 << 30)?;
                    // At `synchronous=NORMAL` a checkpoint is the only fsync, so
                    // it runs beside the commits; at FULL every commit fsyncs the
                    // WAL, and the writer's own checkpoints, between commits, keep
                    // the WAL short (see `Checkpointer`).
                    let checkpointer = match durability {
                        Durability::Normal => Some(Checkpointer::start(path)?),
                        Durability::Full => None,
                    };
                    let (tx, rx) = mpsc::channel();
                    let wal = wal_path(path);
                    let thread = std::thread::Builder::new()
                        .name("weft-sqlite".into())
                        .spawn(move || writer(conn, rx, wal, checkpointer))
                        .map_err(Error::store)?;
                    Mode::Thread { writer: Mutex::new(Some((tx, thread))), reader: Mutex::new(Some(reader)) }
                };
                Ok(SqliteStore::new(mode, Some(claim), None, Some(path.clone())))
            }
            Location::Inspect { path, busy_timeout } => {
                let claim = lock::claim_inspect(path)?;
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)?;
                conn.busy_timeout(*busy_timeout)?;
                if classify(&conn)? != Contents::Weft {
                    return Err(Error::NotAStore { path: path.to_owned() });
                }
                // The command changes no schema: an older store is migrated by the next engine on it.
                let version = schema_version(&conn)?;
                if version < SCHEMA_VERSION {
                    return Err(Error::store(format!(
                        "store {} has schema version {version}: open it with an engine of this version once to migrate it",
                        path.display()
                    )));
                }
                conn.execute_batch(ADDED_TABLES)?;
                let mode = Mode::Inline(Mutex::new(Some(conn)));
                Ok(SqliteStore::new(mode, Some(claim), Some((path.clone(), *busy_timeout)), None))
            }
        }
    }

    fn write<T, F>(&self, mut op: F) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T> + Send + 'static,
    {
        match &self.mode {
            Mode::Inline(conn) => {
                let mut conn = conn.lock();
                let Some(conn) = conn.as_mut() else { return futures::future::ready(Err(Error::Shutdown)).boxed() };
                let mut result: Result<T> = (|| {
                    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    let value = op(&tx)?;
                    tx.commit()?;
                    Ok(value)
                })();
                if let (Some((path, waited)), Err(e)) = (&self.inspect, &result)
                    && matches!(
                        e.sqlite_code(),
                        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                    )
                {
                    result =
                        Err(Error::StoreBusy { path: path.clone(), waited: *waited, holder: describe_holder(conn) });
                }
                futures::future::ready(result).boxed()
            }
            Mode::Thread { writer: sender, .. } => {
                let (tx, rx) = oneshot::channel();
                let job: Box<dyn WriteJob> = Box::new(Write { op, result: None, tx });
                let sent = match &*sender.lock() {
                    Some((sender, _)) => sender.send(job).map_err(drop),
                    None => Err(()),
                };
                async move {
                    sent.map_err(|_| Error::Shutdown)?;
                    rx.await.map_err(|_| Error::Shutdown)?
                }
                .boxed()
            }
        }
    }

    fn read<T, F>(&self, op: F) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let conn = match &self.mode {
            Mode::Inline(conn) | Mode::Thread { reader: conn, .. } => conn,
        };
        let result = match conn.lock().as_ref() {
            Some(conn) => op(conn),
            None => Err(Error::Shutdown),
        };
        futures::future::ready(result).boxed()
    }

    /// Closes the store: queued writes finish, later calls fail with
    /// `Shutdown`, the wake-up socket is removed and the file lock released.
    pub(crate) fn close(&self) {
        #[cfg(unix)]
        if let Some(wake) = self.wake.lock().take() {
            wake.stop();
        }
        match &self.mode {
            Mode::Inline(conn) => drop(conn.lock().take()),
            Mode::Thread { writer, reader } => {
                drop(reader.lock().take());
                if let Some((sender, thread)) = writer.lock().take() {
                    drop(sender);
                    // The writer drains its queue, then exits; it never waits on us.
                    let _ = thread.join();
                }
            }
        }
        self.claim.lock().take();
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// How long a connection waits for SQLite's locks before it reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a database holds, as far as opening it as a store goes.
#[derive(Debug, PartialEq, Eq)]
enum Contents {
    /// No tables at all: a new store.
    Empty,
    /// A weft store (of any schema version up to [`SCHEMA_VERSION`]).
    Weft,
    /// Another application's tables, no weft store.
    Foreign,
}

/// Reads what the database holds; refuses a newer weft's store.
fn classify(conn: &Connection) -> Result<Contents> {
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::UnsupportedSchema { found: version, supported: SCHEMA_VERSION });
    }
    let (tables, has_runs): (i64, bool) = conn.query_row(
        "SELECT count(*), coalesce(sum(name = 'runs'), 0) > 0 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match (version, tables, has_runs) {
        (0, 0, _) => Contents::Empty,
        (1.., _, true) => Contents::Weft,
        _ => Contents::Foreign,
    })
}

/// Sets pragmas and creates, migrates or refuses the schema. `file`: the
/// durability and path of a file store; `foreign_tables`: whether a database
/// with other applications' tables may become a store.
fn prepare(conn: &Connection, file: Option<(Durability, &Path)>, foreign_tables: bool) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // 64 MiB of page cache (SQLite's default is 2 MiB): run ids are random,
    // so history and task-row inserts touch pages all over their B-trees.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Refused before anything is changed (journal mode included).
    let contents = classify(conn)?;
    if let Some((_, path)) = file
        && contents == Contents::Foreign
        && !foreign_tables
    {
        return Err(Error::NotAStore { path: path.to_owned() });
    }
    if let Some((durability, _)) = file {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // A reset WAL is cut back to this size instead of keeping its largest.
        conn.pragma_update(None, "journal_size_limit", (WAL_LIMIT / 2) as i64)?;
    }
    if contents != Contents::Weft {
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} {SCHEMA_V2_ADDITIONS} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))?;
    } else if schema_version(conn)? < SCHEMA_VERSION {
        let tx = conn.unchecked_transaction()?;
        migrate_v1(&tx)?;
        tx.commit()?;
    }
    conn.execute_batch(ADDED_TABLES)?;
    Ok(())
}

fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Migrates a version-1 store to version 2 (inside the caller's transaction).
///
/// Every row is kept. Runs, activities and timers go to queue `default`; an
/// activity's limits come from its stored options, its `ready_at` is its
/// retry time or else its scheduling, and an attempt that was running gets the
/// deadlines it had from its start (the engine then expires it, see
/// [`Store::expire_all`]). A row whose options do not parse keeps null
/// limits: reading it is a typed error, as it was.
fn migrate_v1(conn: &Connection) -> Result<()> {
    conn.execute_batch(MIGRATE_V1)?;
    conn.execute_batch(SCHEMA_V2_ADDITIONS)?;
    let mut rows = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT run_id, seq, options, scheduled_at, running, started_at, ready_at FROM activity_tasks")?;
        let mut query = stmt.query([])?;
        while let Some(row) = query.next()? {
            let options = row.get_ref(2)?.as_str().ok().and_then(|o| serde_json::from_str::<ActivityOptions>(o).ok());
            let (Some(options), Ok(scheduled_at), Ok(running), Ok(started_at), Ok(ready_at)) = (
                options,
                row.get::<_, i64>(3),
                row.get::<_, bool>(4),
                row.get::<_, Option<i64>>(5),
                row.get::<_, i64>(6),
            ) else {
                continue;
            };
            let run_id: String = row.get(0)?;
            let seq: i64 = row.get(1)?;
            let limits = AttemptLimits::of(&options, from_micros(scheduled_at));
            let (attempt_deadline, heartbeat_deadline, expires_at) = if running {
                let started = started_at.map_or(ready_at, |s| s);
                let (attempt, heartbeat, expiry) = attempt_deadlines(&limits, from_micros(started));
                (Some(attempt), heartbeat, Some(expiry))
            } else {
                (None, None, queued_expiry(&limits, from_micros(ready_at)))
            };
            rows.push((run_id, seq, limits, attempt_deadline, heartbeat_deadline, expires_at));
        }
    }
    let mut update = conn.prepare(
        "UPDATE activity_tasks SET start_to_close_us = ?3, heartbeat_us = ?4, schedule_to_start_us = ?5,
             close_deadline = ?6, attempt_deadline = ?7, heartbeat_deadline = ?8, expires_at = ?9
         WHERE run_id = ?1 AND seq = ?2",
    )?;
    for (run_id, seq, limits, attempt, heartbeat, expiry) in rows {
        update.execute(params![
            run_id,
            seq,
            duration_micros(limits.start_to_close),
            limits.heartbeat.map(duration_micros),
            limits.schedule_to_start.map(duration_micros),
            limits.close_deadline.map(micros),
            attempt.map(micros),
            heartbeat.map(micros),
            expiry.map(micros),
        ])?;
    }
    conn.execute_batch(&format!(
        "ALTER TABLE activity_tasks DROP COLUMN retry_at; PRAGMA user_version = {SCHEMA_VERSION};"
    ))?;
    Ok(())
}

/// Records this process as the store's engine, for a `weft` command that
/// finds the store busy ([`describe_holder`]). The table is additive: older
/// builds ignore it, so the schema version stays.
fn record_engine(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS weft_engine (
             id         INTEGER PRIMARY KEY CHECK (id = 1),
             pid        INTEGER NOT NULL,
             host       TEXT NOT NULL,
             started_at INTEGER NOT NULL
         )",
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO weft_engine (id, pid, host, started_at) VALUES (1, ?1, ?2, ?3)",
        params![std::process::id(), host_name(), micros(SystemTime::now())],
    )?;
    Ok(())
}

/// Who likely holds the write lock, and what to do: read from the engine row.
fn describe_holder(conn: &Connection) -> String {
    let row: Option<(u32, String, i64)> = conn
        .query_row("SELECT pid, host, started_at FROM weft_engine WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .ok();
    let Some((pid, host, started_at)) = row else {
        return "no engine has recorded itself in this store, so an SQLite client or another `weft` command holds it: retry when it is done".to_owned();
    };
    let engine = format!(
        "the store's engine is pid {pid} on host {host}, started {}",
        humantime::format_rfc3339_seconds(from_micros(started_at))
    );
    if host != host_name() {
        return format!("{engine}: check that process, then retry");
    }
    match process_state(pid) {
        ProcessState::Stopped => {
            format!("{engine}, and that process is stopped: resume it (`kill -CONT {pid}`) or end it, then retry")
        }
        ProcessState::Running => {
            format!(
                "{engine}, and it is running (a long write or checkpoint): retry in a moment, or check that process"
            )
        }
        ProcessState::Gone => format!(
            "{engine}, but that process has exited, so an SQLite client or another `weft` command holds it: retry when it is done"
        ),
        ProcessState::Unknown => format!("{engine}: check that process, then retry"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ProcessState {
    Running,
    Stopped,
    Gone,
    Unknown,
}

/// A process's state, from `/proc` (`Unknown` where there is none).
fn process_state(pid: u32) -> ProcessState {
    if !Path::new("/proc/self/stat").exists() {
        return ProcessState::Unknown;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return ProcessState::Gone };
    // `pid (comm) state ...`; comm may hold spaces and parentheses.
    match stat.rfind(')').and_then(|i| stat[i + 1..].trim_start().chars().next()) {
        Some('T' | 't') => ProcessState::Stopped,
        Some('Z' | 'X') => ProcessState::Gone,
        Some(_) => ProcessState::Running,
        None => ProcessState::Unknown,
    }
}

/// Runs `PRAGMA wal_checkpoint(MODE)`; true if it completed (no reader was in the way).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<bool> {
    let busy: i64 = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))?;
    Ok(busy == 0)
}

fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// The thread that runs the passive WAL checkpoints of a store at
/// `synchronous=NORMAL`, on a connection of its own, so that no commit waits
/// behind one: a passive checkpoint copies WAL frames into the database file
/// and fsyncs it without the write lock, so the writer's commits go on
/// meanwhile (it cut `normal`'s p99 latency by about half).
///
/// Not at FULL, where each commit fsyncs the WAL: commits made during a
/// concurrent checkpoint keep the WAL from starting again at its beginning,
/// so it grows, and a growing file's fsync costs more (p50 went up by a
/// third). The figures: docs/decisions.md, "`Normal` checkpoints beside the commits".
struct Checkpointer {
    /// One pending request at most: a request while one is pending is
    /// dropped (the pending one takes those commits too).
    requests: mpsc::SyncSender<()>,
    /// Held while a checkpoint runs: the writer's truncating checkpoint
    /// waits for it rather than finding it in the way.
    running: Arc<Mutex<()>>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (requests, rx) = mpsc::sync_channel::<()>(1);
        let running = Arc::new(Mutex::new(()));
        let held = running.clone();
        let thread = std::thread::Builder::new()
            .name("weft-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _running = held.lock();
                    // PASSIVE: copies what no reader needs into the database file, never waits.
                    let _ = checkpoint(&conn, "PASSIVE");
                }
            })
            .map_err(Error::store)?;
        Ok(Checkpointer { requests, running, thread })
    }

    /// Asks for a checkpoint; never waits.
    fn request(&self) {
        let _ = self.requests.try_send(());
    }

    /// Lets a running checkpoint end, and its connection close.
    fn stop(self) {
        drop(self.requests);
        let _ = self.thread.join();
    }
}

/// The writer thread: group commit.
///
/// Every write waiting is run in one `BEGIN IMMEDIATE` transaction, committed
/// once (one fsync), and only then answered. Writes rarely fail, so they run
/// without savepoints; when one does fail, the batch is rolled back and run
/// again with a savepoint per write, so the failure undoes only its own.
/// Every [`CHECKPOINT_EVERY`] commits a passive checkpoint runs: on the
/// [`Checkpointer`] beside the commits if there is one, else here, after the
/// answers are sent, never inside a commit. Once the WAL file passes
/// [`WAL_LIMIT`] (readers kept the checkpoints from reaching its end), the
/// writer runs a truncating checkpoint after its answers are sent (once the
/// checkpoint thread's is done), which empties it (waiting at most
/// [`TRUNCATE_WAIT`] for readers; tried again after [`CHECKPOINT_EVERY`]
/// commits if a reader was in the way).
fn writer(conn: Connection, rx: mpsc::Receiver<Box<dyn WriteJob>>, wal: PathBuf, checkpointer: Option<Checkpointer>) {
    let mut since_checkpoint: i64 = 0;
    while let Ok(first) = rx.recv() {
        let mut writes = vec![first];
        while writes.len() < MAX_BATCH
            && let Ok(write) = rx.try_recv()
        {
            writes.push(write);
        }
        group_commit(&conn, writes);
        since_checkpoint += 1;
        let over = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_LIMIT);
        if over && since_checkpoint > 0 {
            // After the checkpoint thread's passive checkpoint, if one runs.
            let _idle = checkpointer.as_ref().map(|c| c.running.lock());
            let _ = conn.busy_timeout(TRUNCATE_WAIT);
            let done = checkpoint(&conn, "TRUNCATE").unwrap_or(false);
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
            // Not done: a reader is in the way; try again in a while.
            since_checkpoint = if done { 0 } else { -(CHECKPOINT_EVERY as i64) };
        } else if since_checkpoint >= CHECKPOINT_EVERY as i64 {
            since_checkpoint = 0;
            match &checkpointer {
                Some(checkpointer) => checkpointer.request(),
                // PASSIVE: copies what no reader needs into the database file, never waits.
                None => drop(checkpoint(&conn, "PASSIVE")),
            }
        }
    }
    if let Some(checkpointer) = checkpointer {
        checkpointer.stop();
    }
}

/// Commits `writes` together and answers each.
fn group_commit(conn: &Connection, mut writes: Vec<Box<dyn WriteJob>>) {
    let mut commit = run_batch(conn, &mut writes, false);
    if let Ok(false) = commit {
        commit = run_batch(conn, &mut writes, true);
    }
    let error = commit.err();
    for write in writes {
        write.reply(error.as_ref());
    }
}

/// Runs `writes` in one transaction and commits it. `Ok(false)`: a write
/// failed without savepoints, and the batch was rolled back to run again.
fn run_batch(conn: &Connection, writes: &mut [Box<dyn WriteJob>], savepoints: bool) -> rusqlite::Result<bool> {
    let exec = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop);
    exec("BEGIN IMMEDIATE")?;
    let mut run = || -> rusqlite::Result<bool> {
        for write in writes.iter_mut() {
            if !savepoints {
                if !write.run(conn) {
                    return Ok(false);
                }
                continue;
            }
            exec("SAVEPOINT job")?;
            let ok = write.run(conn);
            if !ok {
                exec("ROLLBACK TO job")?;
            }
            exec("RELEASE job")?;
        }
        exec("COMMIT")?;
        Ok(true)
    };
    let result = run();
    // Whatever did not commit is undone, so the connection is never left in a transaction.
    if !matches!(result, Ok(true)) && !conn.is_autocommit() {
        let _ = exec("ROLLBACK");
    }
    result
}

/// A stored duration; a negative one is a bad row.
fn duration_from_micros(m: i64) -> Result<Duration> {
    u64::try_from(m).map(Duration::from_micros).map_err(|_| Error::store(format!("negative duration {m}us in a row")))
}

/// The earlier of two optional times (`None`: never).
fn earliest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn add(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or(t + crate::activity::MAX_DURATION)
}

/// An attempt started at `started`: its attempt deadline, heartbeat deadline
/// and expiry. The SQL of [`claim_activity_tasks`](Store::claim_activity_tasks)
/// computes the same (see [`ATTEMPT_DEADLINE`]).
fn attempt_deadlines(limits: &AttemptLimits, started: SystemTime) -> (SystemTime, Option<SystemTime>, SystemTime) {
    let attempt = earliest(Some(add(started, limits.start_to_close)), limits.close_deadline).unwrap_or(started);
    let heartbeat = limits.heartbeat.map(|h| add(started, h).min(attempt));
    (attempt, heartbeat, heartbeat.unwrap_or(attempt))
}

/// When a row queued from `ready_at` expires (`None`: never).
fn queued_expiry(limits: &AttemptLimits, ready_at: SystemTime) -> Option<SystemTime> {
    earliest(limits.schedule_to_start.map(|s| add(ready_at, s)), limits.close_deadline)
}

/// A text cell parsed as JSON, borrowed from the row (a non-text cell is a bad row).
fn json_cell<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, i: usize) -> Result<T> {
    from_json(row.get_ref(i)?.as_str().map_err(Error::store)?)
}

fn payload_cell(row: &rusqlite::Row<'_>, i: usize) -> Result<Option<Payload>> {
    row.get::<_, Option<String>>(i)?.map(Payload::from_json).transpose().map_err(Error::store)
}

fn stale(run_id: &str, task: impl Into<String>, reason: &'static str) -> Error {
    Error::StaleTask { run_id: run_id.to_owned(), task: task.into(), reason }
}

/// A lease from its three columns; all set or it is none.
fn lease_cells(row: &rusqlite::Row<'_>, first: usize) -> Result<Option<Lease>> {
    let owner: Option<String> = row.get(first)?;
    let token: Option<i64> = row.get(first + 1)?;
    let deadline: Option<i64> = row.get(first + 2)?;
    Ok(match (owner, token, deadline) {
        (Some(owner), Some(token), Some(deadline)) => Some(Lease { owner, token, deadline: from_micros(deadline) }),
        _ => None,
    })
}

const RUN_COLUMNS: &str = "run_id, workflow_id, workflow_type, task_queue, status, created_at, closed_at, next_event_id, \
     held, lease_owner, lease_token, lease_deadline, sticky_owner, held_at";

/// How this store's SQL spells a run list's clause.
const SQLITE: Dialect = Dialect { param: |n| format!("?{n}"), seq: "rowid", byte_ordered_text: true };

fn sql_value(value: &SqlValue) -> rusqlite::types::Value {
    match value {
        SqlValue::Text(text) => rusqlite::types::Value::Text(text.clone()),
        SqlValue::Int(int) => rusqlite::types::Value::Integer(*int),
    }
}

fn run_from_row(row: &rusqlite::Row<'_>) -> Result<RunRecord> {
    let run_id: String = row.get(0)?;
    let status = row.get_ref(4)?.as_str().map_err(Error::store)?;
    let status =
        RunStatus::parse(status).ok_or_else(|| Error::store(format!("run {run_id} has unknown status {status:?}")))?;
    Ok(RunRecord {
        workflow_id: row.get(1)?,
        workflow_type: row.get(2)?,
        task_queue: row.get(3)?,
        status,
        created_at: from_micros(row.get(5)?),
        closed_at: row.get::<_, Option<i64>>(6)?.map(from_micros),
        next_event_id: u64::try_from(row.get::<_, i64>(7)?).map_err(Error::store)?,
        held: row.get(8)?,
        lease: lease_cells(row, 9)?,
        sticky: row.get(12)?,
        held_at: row.get::<_, Option<i64>>(13)?.map(from_micros),
        run_id,
    })
}

/// The rows of a query on `runs` selecting [`RUN_COLUMNS`].
fn runs_from(mut rows: rusqlite::Rows<'_>) -> Result<Vec<RunRecord>> {
    let mut runs = Vec::new();
    while let Some(row) = rows.next()? {
        runs.push(run_from_row(row)?);
    }
    Ok(runs)
}

const ACTIVITY_COLUMNS: &str = "run_id, seq, workflow_id, task_queue, scheduled_event_id, activity_id, activity_type, \
     input, options, start_to_close_us, heartbeat_us, schedule_to_start_us, close_deadline, scheduled_at, attempt, \
     running, ready_at, started_at, attempt_deadline, heartbeat_deadline, expires_at, lease_owner, lease_token, \
     lease_deadline, last_failure, heartbeat_details, cancel_requested";

fn activity_from_row(row: &rusqlite::Row<'_>) -> Result<ActivityTask> {
    let time = |i: usize| -> Result<Option<SystemTime>> { Ok(row.get::<_, Option<i64>>(i)?.map(from_micros)) };
    let start_to_close: Option<i64> = row.get(9)?;
    let start_to_close = start_to_close.ok_or_else(|| Error::store("an activity row has no start-to-close limit"))?;
    Ok(ActivityTask {
        key: ActivityKey { run_id: row.get(0)?, seq: row.get(1)? },
        workflow_id: row.get(2)?,
        task_queue: row.get(3)?,
        scheduled_event_id: u64::try_from(row.get::<_, i64>(4)?).map_err(Error::store)?,
        activity_id: row.get(5)?,
        activity_type: row.get(6)?,
        input: Payload::from_json(row.get(7)?).map_err(Error::store)?,
        options: json_cell(row, 8)?,
        limits: AttemptLimits {
            start_to_close: duration_from_micros(start_to_close)?,
            heartbeat: row.get::<_, Option<i64>>(10)?.map(duration_from_micros).transpose()?,
            schedule_to_start: row.get::<_, Option<i64>>(11)?.map(duration_from_micros).transpose()?,
            close_deadline: time(12)?,
        },
        scheduled_at: from_micros(row.get(13)?),
        attempt: row.get(14)?,
        running: row.get(15)?,
        ready_at: time(16)?.ok_or_else(|| Error::store("an activity row has no ready time"))?,
        started_at: time(17)?,
        attempt_deadline: time(18)?,
        heartbeat_deadline: time(19)?,
        expires_at: time(20)?,
        lease: lease_cells(row, 21)?,
        last_failure: row.get::<_, Option<String>>(24)?.as_deref().map(from_json).transpose()?,
        heartbeat_details: payload_cell(row, 25)?,
        cancel_requested: row.get(26)?,
    })
}

fn activities_from(mut rows: rusqlite::Rows<'_>) -> Result<Vec<ActivityTask>> {
    let mut activities = Vec::new();
    while let Some(row) = rows.next()? {
        activities.push(activity_from_row(row)?);
    }
    Ok(activities)
}

fn timer_from_row(row: &rusqlite::Row<'_>) -> Result<TimerTask> {
    Ok(TimerTask {
        run_id: row.get(0)?,
        seq: row.get(1)?,
        started_event_id: u64::try_from(row.get::<_, i64>(2)?).map_err(Error::store)?,
        fire_at: from_micros(row.get(3)?),
    })
}

const WORKER_COLUMNS: &str =
    "worker_id, host, pid, task_queues, workflow_types, activity_types, started_at, expires_at";

fn worker_from_row(row: &rusqlite::Row<'_>) -> Result<WorkerRecord> {
    Ok(WorkerRecord {
        info: WorkerInfo {
            worker_id: row.get(0)?,
            host: row.get(1)?,
            pid: row.get(2)?,
            task_queues: json_cell(row, 3)?,
            workflow_types: json_cell(row, 4)?,
            activity_types: json_cell(row, 5)?,
            started_at: from_micros(row.get(6)?),
        },
        expires_at: from_micros(row.get(7)?),
    })
}

/// Adds `item` to an open run's inbox, making its workflow task ready; false
/// if the run is closed or unknown.
fn push_inbox(conn: &Connection, run_id: &str, item: &InboxItem) -> Result<bool> {
    let open = conn
        .prepare_cached("UPDATE runs SET inbox_count = inbox_count + 1 WHERE run_id = ?1 AND status = 'running'")?
        .execute([run_id])?;
    if open == 1 {
        conn.prepare_cached("INSERT INTO inbox (run_id, item) VALUES (?1, ?2)")?
            .execute(params![run_id, to_json(item)?])?;
    }
    Ok(open == 1)
}

fn read_inbox(conn: &Connection, run_id: &str) -> Result<Vec<InboxEntry>> {
    let mut stmt = conn.prepare_cached("SELECT id, item FROM inbox WHERE run_id = ?1 ORDER BY id")?;
    let mut rows = stmt.query([run_id])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        entries.push(InboxEntry { id: row.get(0)?, item: json_cell(row, 1)? });
    }
    Ok(entries)
}

fn read_run(conn: &Connection, run_id: &str) -> Result<Option<RunRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1"))?;
    let mut rows = stmt.query([run_id])?;
    rows.next()?.map(run_from_row).transpose()
}

/// Fires the due timers a claim selects (`filter`: `task_queue = ?1` or
/// `run_id = ?1`): each row is removed and `TimerFired` added to its run's inbox.
fn fire_due_timers(conn: &Connection, filter: &str, key: &str, now: SystemTime) -> Result<()> {
    let fired: Vec<(String, i64)> = conn
        .prepare_cached(&format!(
            "DELETE FROM timers WHERE {filter} AND fire_at <= ?2 RETURNING run_id, started_event_id"
        ))?
        .query_map(params![key, micros(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (run_id, started_event_id) in fired {
        let started_event_id = u64::try_from(started_event_id).map_err(Error::store)?;
        push_inbox(conn, &run_id, &InboxItem::TimerFired { started_event_id })?;
    }
    Ok(())
}

/// A run's workflow task may be claimed at `:now` by a worker that started
/// at `:started` (queue, type, sticky worker and lease aside): a held run only
/// by a worker that started after the hold. Its first terms are
/// `runs_ready`'s, so that index can serve it; the queries name it
/// (`INDEXED BY`), because the planner, which has no statistics, otherwise
/// takes `runs_by_status` and reads every running run at each claim.
const CLAIMABLE: &str = "status = 'running' AND inbox_count > 0 AND (held IS NULL OR held_at < :started)";

/// Leases the workflow tasks `filter` selects among the claimable runs, and
/// reads their inboxes. The statement's other parameters: `:worker`,
/// `:started`, `:token`, `:deadline`, `:now`, `:limit`.
fn claim_runs(
    conn: &Connection,
    filter: &str,
    params: &[(&str, &dyn rusqlite::ToSql)],
    tasks: &mut Vec<WorkflowTask>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE runs SET lease_owner = :worker, lease_token = :token, lease_deadline = :deadline
         WHERE run_id IN (SELECT run_id FROM runs AS r INDEXED BY runs_ready WHERE {CLAIMABLE} AND {filter} {CLAIM_LIMIT})
         RETURNING {RUN_COLUMNS}"
    ))?;
    let runs = runs_from(stmt.query(params)?)?;
    for run in runs {
        let inbox = read_inbox(conn, &run.run_id)?;
        let lease = run.lease.clone().ok_or_else(|| Error::store("a claimed run has no lease"))?;
        tasks.push(WorkflowTask { run, inbox, lease });
    }
    Ok(())
}

/// A name list as the JSON array `json_each` reads in the claim queries.
fn name_list(names: &[String]) -> Result<String> {
    to_json(&names)
}

fn claim_workflow_tasks(
    conn: &Connection,
    worker: &WorkerInfo,
    now: SystemTime,
    lease: Duration,
    limit: usize,
    token: i64,
) -> Result<Vec<WorkflowTask>> {
    for queue in &worker.task_queues {
        fire_due_timers(conn, "task_queue = ?1", queue, now)?;
    }
    let types = name_list(&worker.workflow_types)?;
    let (now, deadline) = (micros(now), micros(add(now, lease)));
    let mut tasks = Vec::new();
    // Runs sticky to this worker first, on every queue; then anyone's.
    let sticky_to_me = "r.task_queue = :queue AND r.sticky_owner = :worker
         AND (r.lease_token IS NULL OR r.lease_deadline <= :now)
         AND r.workflow_type IN (SELECT value FROM json_each(:types))";
    let anyones = "r.task_queue = :queue AND r.lease_token IS NOT :token
         AND (r.lease_token IS NULL OR r.lease_deadline <= :now)
         AND r.workflow_type IN (SELECT value FROM json_each(:types))
         AND (r.sticky_owner IS NULL OR r.sticky_owner = :worker OR NOT EXISTS
              (SELECT 1 FROM workers WHERE worker_id = r.sticky_owner AND expires_at > :now))";
    for filter in [sticky_to_me, anyones] {
        for queue in &worker.task_queues {
            let left = limit.saturating_sub(tasks.len());
            if left == 0 {
                return Ok(tasks);
            }
            let left = left.min(i64::MAX as usize) as i64;
            let params = named_params! {
                ":worker": worker.worker_id, ":started": micros(worker.started_at), ":token": token,
                ":deadline": deadline, ":now": now, ":limit": left, ":queue": queue, ":types": types,
            };
            claim_runs(conn, filter, params, &mut tasks)?;
        }
    }
    Ok(tasks)
}

/// The start of attempt `attempt + 1` at `:now`: its deadline, bounded by the
/// activity's close deadline (as [`attempt_deadlines`] computes it).
const ATTEMPT_DEADLINE: &str = "min(:now + start_to_close_us, coalesce(close_deadline, :now + start_to_close_us))";

fn claim_activity_tasks(
    conn: &Connection,
    worker: &WorkerInfo,
    now: SystemTime,
    limit: usize,
    token: i64,
) -> Result<Vec<ActivityTask>> {
    // `min` is NULL when any argument is: no heartbeat timeout, no heartbeat deadline.
    let heartbeat = format!("min(:now + heartbeat_us, {ATTEMPT_DEADLINE})");
    let expiry = format!("coalesce({heartbeat}, {ATTEMPT_DEADLINE})");
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE activity_tasks SET attempt = attempt + 1, running = 1, started_at = :now,
             attempt_deadline = {ATTEMPT_DEADLINE}, heartbeat_deadline = {heartbeat}, expires_at = {expiry},
             lease_owner = :worker, lease_token = :token, lease_deadline = {expiry}
         WHERE (run_id, seq) IN (
             SELECT run_id, seq FROM activity_tasks
             WHERE task_queue = :queue AND running = 0 AND ready_at <= :now
               AND activity_type IN (SELECT value FROM json_each(:types))
               AND (expires_at IS NULL OR expires_at > :now)
               AND (lease_token IS NULL OR lease_deadline <= :now)
             ORDER BY ready_at, queued_seq {CLAIM_LIMIT})
         RETURNING {ACTIVITY_COLUMNS}"
    ))?;
    let types = name_list(&worker.activity_types)?;
    let mut claimed = Vec::new();
    for queue in &worker.task_queues {
        let left = limit.saturating_sub(claimed.len()).min(i64::MAX as usize) as i64;
        if left == 0 {
            break;
        }
        let params = named_params! {
            ":now": micros(now), ":worker": worker.worker_id, ":token": token,
            ":queue": queue, ":types": types, ":limit": left,
        };
        claimed.extend(activities_from(stmt.query(params)?)?);
    }
    claimed.sort_by_key(|a| a.ready_at);
    Ok(claimed)
}

/// Why an activity fence failed, read after the fenced write changed nothing.
fn activity_stale(conn: &Connection, fence: &ActivityFence) -> Result<Error> {
    let row: Option<(u32, Option<i64>)> = conn
        .prepare_cached("SELECT attempt, lease_token FROM activity_tasks WHERE run_id = ?1 AND seq = ?2")?
        .query_row(params![fence.key.run_id, fence.key.seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let reason = match row {
        None => "the activity is no longer pending",
        Some((attempt, _)) if attempt != fence.attempt => "the activity is at another attempt",
        Some(_) => "the attempt's lease was lost",
    };
    Ok(stale(&fence.key.run_id, format!("activity {} attempt {}", fence.key.seq, fence.attempt), reason))
}

/// Removes a fenced attempt's row; its scheduled event id, and when its
/// running attempt started (`None` if it was queued).
fn delete_activity(conn: &Connection, fence: &ActivityFence) -> Result<(u64, Option<SystemTime>)> {
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached(
            "DELETE FROM activity_tasks WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3 AND lease_token = ?4
             RETURNING scheduled_event_id, started_at",
        )?
        .query_row(params![fence.key.run_id, fence.key.seq, fence.attempt, fence.token], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((id, started_at)) => Ok((u64::try_from(id).map_err(Error::store)?, started_at.map(from_micros))),
        None => Err(activity_stale(conn, fence)?),
    }
}

/// Runs a fenced `UPDATE … RETURNING cancel_requested`: the row's
/// cancellation mark, `None` if the fence matched no row.
fn cancel_mark(conn: &Connection, sql: &str, params: &[(&str, &dyn rusqlite::ToSql)]) -> Result<Option<bool>> {
    Ok(conn.prepare_cached(sql)?.query_row(params, |r| r.get(0)).optional()?)
}

fn update_activity(conn: &Connection, fence: &ActivityFence, update: &ActivityUpdate) -> Result<bool> {
    let key = &fence.key;
    let changed = match update {
        ActivityUpdate::Heartbeat { at, details } => {
            let heartbeat = "min(:at + heartbeat_us, attempt_deadline)";
            let expiry = format!("coalesce({heartbeat}, attempt_deadline)");
            let sql = format!(
                "UPDATE activity_tasks SET heartbeat_deadline = {heartbeat}, expires_at = {expiry},
                     lease_deadline = {expiry}, heartbeat_details = coalesce(:details, heartbeat_details)
                 WHERE run_id = :run AND seq = :seq AND attempt = :attempt AND lease_token = :token AND running = 1
                 RETURNING cancel_requested"
            );
            let params = named_params! {
                ":at": micros(*at), ":details": details.as_ref().map(Payload::as_json),
                ":run": key.run_id, ":seq": key.seq, ":attempt": fence.attempt, ":token": fence.token,
            };
            match cancel_mark(conn, &sql, params)? {
                Some(cancel_requested) => return Ok(cancel_requested),
                None => 0,
            }
        }
        ActivityUpdate::Retry { retry_at, failure, heartbeat_details } => conn
            .prepare_cached(
                "UPDATE activity_tasks SET running = 0, ready_at = :retry_at, started_at = NULL, queued_seq = :queued,
                     attempt_deadline = NULL, heartbeat_deadline = NULL,
                     expires_at = coalesce(min(:retry_at + schedule_to_start_us, close_deadline),
                                           :retry_at + schedule_to_start_us, close_deadline),
                     lease_owner = NULL, lease_token = NULL, lease_deadline = NULL,
                     last_failure = :failure, heartbeat_details = coalesce(:details, heartbeat_details)
                 WHERE run_id = :run AND seq = :seq AND attempt = :attempt AND lease_token = :token",
            )?
            .execute(named_params! {
                ":retry_at": micros(*retry_at), ":queued": queue_order(), ":failure": to_json(failure)?,
                ":details": heartbeat_details.as_ref().map(Payload::as_json),
                ":run": key.run_id, ":seq": key.seq, ":attempt": fence.attempt, ":token": fence.token,
            })?,
        ActivityUpdate::Restart { failure, heartbeat_details, next } => {
            let sql = "UPDATE activity_tasks SET attempt = attempt + 1, running = 1, ready_at = :started,
                    started_at = :started, attempt_deadline = :attempt_deadline,
                    heartbeat_deadline = :heartbeat_deadline, expires_at = :expires,
                    lease_owner = :owner, lease_token = :next_token, lease_deadline = :expires,
                    last_failure = :failure, heartbeat_details = coalesce(:details, heartbeat_details)
                WHERE run_id = :run AND seq = :seq AND attempt = :attempt AND lease_token = :token
                RETURNING cancel_requested";
            let params = named_params! {
                ":started": micros(next.started_at), ":attempt_deadline": micros(next.attempt_deadline),
                ":heartbeat_deadline": next.heartbeat_deadline.map(micros),
                ":expires": micros(next.lease.deadline), ":owner": next.lease.owner,
                ":next_token": next.lease.token, ":failure": to_json(failure)?,
                ":details": heartbeat_details.as_ref().map(Payload::as_json),
                ":run": key.run_id, ":seq": key.seq, ":attempt": fence.attempt, ":token": fence.token,
            };
            match cancel_mark(conn, sql, params)? {
                Some(cancel_requested) => return Ok(cancel_requested),
                None => 0,
            }
        }
        ActivityUpdate::Close { last_failure, outcome } => {
            let (scheduled_event_id, started_at) = delete_activity(conn, fence)?;
            let item = InboxItem::ActivityClosed {
                scheduled_event_id,
                attempt: fence.attempt,
                last_failure: last_failure.clone(),
                outcome: outcome.clone(),
                started_at,
            };
            push_inbox(conn, &key.run_id, &item)?;
            1
        }
    };
    if changed != 1 {
        return Err(activity_stale(conn, fence)?);
    }
    Ok(false)
}

fn insert_activity(conn: &Connection, a: &ActivityTask) -> Result<()> {
    let lease = a.lease.as_ref();
    conn.prepare_cached(&format!(
        "INSERT INTO activity_tasks ({ACTIVITY_COLUMNS}, queued_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
                 ?22, ?23, ?24, ?25, ?26, ?27, ?28)"
    ))?
    .execute(params![
        a.key.run_id,
        a.key.seq,
        a.workflow_id,
        a.task_queue,
        a.scheduled_event_id as i64,
        a.activity_id,
        a.activity_type,
        a.input.as_json(),
        to_json(&a.options)?,
        duration_micros(a.limits.start_to_close),
        a.limits.heartbeat.map(duration_micros),
        a.limits.schedule_to_start.map(duration_micros),
        a.limits.close_deadline.map(micros),
        micros(a.scheduled_at),
        a.attempt,
        a.running,
        micros(a.ready_at),
        a.started_at.map(micros),
        a.attempt_deadline.map(micros),
        a.heartbeat_deadline.map(micros),
        a.expires_at.map(micros),
        lease.map(|l| &l.owner),
        lease.map(|l| l.token),
        lease.map(|l| micros(l.deadline)),
        a.last_failure.as_ref().map(to_json).transpose()?,
        a.heartbeat_details.as_ref().map(Payload::as_json),
        a.cancel_requested,
        queue_order(),
    ])?;
    Ok(())
}

/// The order rows are queued in (scheduled or retried), for claims to take
/// rows of equal `ready_at` first come, first served: microseconds of wall
/// time, kept increasing within the process.
fn queue_order() -> i64 {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = micros(SystemTime::now());
    let mut last = LAST.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(
            last,
            next,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        ) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Whether a new run of `workflow_id` is refused under `reuse`: the run that
/// holds the id, and its status.
fn refusal(conn: &Connection, workflow_id: &str, reuse: WorkflowIdReusePolicy) -> Result<Option<(String, String)>> {
    let latest: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT run_id, status FROM runs WHERE workflow_id = ?1
             ORDER BY status = 'running' DESC, created_at DESC, rowid DESC LIMIT 1",
        )?
        .query_row([workflow_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(latest.filter(|(_, status)| super::reuse_refuses(reuse, status)))
}

/// Adds an open run with no events.
fn insert_run(conn: &Connection, run: &RunRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (run_id, workflow_id, workflow_type, task_queue, status, created_at, next_event_id, sticky_owner)
         VALUES (?1, ?2, ?3, ?4, 'running', ?5, 1, ?6)",
    )?
    .execute(params![run.run_id, run.workflow_id, run.workflow_type, run.task_queue, micros(run.created_at), run.sticky])?;
    Ok(())
}

/// Applies one workflow step (see [`Store::commit_workflow_task`]). Every
/// fence is checked before anything is written; a later failure fails the
/// whole write, which its transaction (or savepoint) then undoes.
/// Commits a step (see [`Store::commit_workflow_task`]); whether the run has inbox items left.
fn commit_step(conn: &Connection, c: &StepCommit) -> Result<bool> {
    let run_id = c.run_id.as_str();
    let task = "workflow task";
    let current: Option<(i64, String, Option<i64>, String)> = conn
        .prepare_cached("SELECT next_event_id, status, lease_token, task_queue FROM runs WHERE run_id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((next_event_id, status, lease_token, task_queue)) = current else {
        return Err(stale(run_id, task, "the run does not exist"));
    };
    if status != RunStatus::Running.as_str() {
        return Err(stale(run_id, task, "the run is closed"));
    }
    match c.fence {
        StepFence::Leased { token } if lease_token != Some(token) => {
            return Err(stale(run_id, task, "its lease was lost"));
        }
        StepFence::Unleased if lease_token.is_some() => {
            return Err(stale(run_id, task, "another worker holds the run's workflow task"));
        }
        _ => {}
    }
    if next_event_id != c.first_event_id as i64 {
        return Err(stale(run_id, task, "the run's history moved on"));
    }
    if c.close.is_some() {
        let mut inbox = conn.prepare_cached("SELECT id FROM inbox WHERE run_id = ?1")?;
        let ids = inbox.query_map([run_id], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
        if ids.iter().any(|id| !c.consumed.contains(id)) {
            return Err(stale(run_id, task, INBOX_GREW));
        }
    }
    match &c.delivered {
        Some(Delivery::ActivityClosed(fence)) => {
            if fence.key.run_id != c.run_id {
                return Err(Error::store(format!("run {run_id}'s step delivers another run's activity")));
            }
            delete_activity(conn, fence)?;
        }
        Some(Delivery::TimerFired { seq }) => {
            let fired = conn
                .prepare_cached("DELETE FROM timers WHERE run_id = ?1 AND seq = ?2")?
                .execute(params![run_id, seq])?;
            if fired != 1 {
                return Err(stale(run_id, format!("timer {seq}"), "the timer already fired or was cancelled"));
            }
        }
        None => {}
    }
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (run_id, event_id, event_type, data, checksum) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, event) in c.events.iter().enumerate() {
        if event.event_id != c.first_event_id + i as u64 {
            return Err(Error::store(format!("event {} out of order in run {run_id}", event.event_id)));
        }
        let data = to_json(event)?;
        insert_event.execute(params![run_id, event.event_id as i64, event.event_type(), data, checksum(&data)])?;
    }
    let mut consumed = 0;
    if !c.consumed.is_empty() {
        let mut delete = conn.prepare_cached("DELETE FROM inbox WHERE id = ?1 AND run_id = ?2")?;
        for id in &c.consumed {
            consumed += delete.execute(params![id, run_id])? as i64;
        }
    }
    for activity in &c.new_activities {
        if activity.key.run_id != c.run_id {
            return Err(Error::store(format!("run {run_id}'s step schedules another run's activity")));
        }
        insert_activity(conn, activity)?;
    }
    for scheduled_event_id in &c.cancel_activities {
        conn.prepare_cached(
            "UPDATE activity_tasks SET cancel_requested = 1 WHERE run_id = ?1 AND scheduled_event_id = ?2",
        )?
        .execute(params![run_id, *scheduled_event_id as i64])?;
    }
    for timer in &c.new_timers {
        if timer.run_id != c.run_id {
            return Err(Error::store(format!("run {run_id}'s step starts another run's timer")));
        }
        conn.prepare_cached(
            "INSERT INTO timers (run_id, seq, started_event_id, fire_at, task_queue) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            run_id,
            timer.seq,
            timer.started_event_id as i64,
            micros(timer.fire_at),
            task_queue
        ])?;
    }
    for started_event_id in &c.cancel_timers {
        conn.prepare_cached("DELETE FROM timers WHERE run_id = ?1 AND started_event_id = ?2")?
            .execute(params![run_id, *started_event_id as i64])?;
    }
    for signal in &c.signals_out {
        let target: Option<String> = conn
            .prepare_cached("SELECT run_id FROM runs WHERE workflow_id = ?1 AND status = 'running'")?
            .query_row([&signal.workflow_id], |r| r.get(0))
            .optional()?;
        // A run closing in this step takes no signal, its own included.
        let target = target.filter(|t| !(c.close.is_some() && t == run_id));
        if let Some(target) = &target {
            push_inbox(conn, target, &signal.item())?;
        }
        if c.close.is_none() {
            push_inbox(conn, run_id, &signal.outcome(target))?;
        }
    }
    for child in &c.children_out {
        let outcome = match refusal(conn, &child.run.workflow_id, child.reuse)? {
            Some(refused) => Err(refused),
            None => {
                insert_run(conn, &child.run)?;
                push_inbox(conn, &child.run.run_id, &child.start)?;
                conn.prepare_cached(
                    "INSERT INTO run_parents (run_id, parent_run_id, initiated_event_id, close_policy) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    child.run.run_id,
                    run_id,
                    child.initiated_event_id as i64,
                    child.parent_close_policy.as_str()
                ])?;
                Ok(child.run.run_id.clone())
            }
        };
        if c.close.is_none() {
            push_inbox(
                conn,
                run_id,
                &InboxItem::ChildStarted { initiated_event_id: child.initiated_event_id, outcome },
            )?;
        }
    }
    for initiated_event_id in &c.cancel_children {
        let child: Option<String> = conn
            .prepare_cached(
                "SELECT p.run_id FROM run_parents p JOIN runs r ON r.run_id = p.run_id
                 WHERE p.parent_run_id = ?1 AND p.initiated_event_id = ?2 AND r.status = 'running'",
            )?
            .query_row(params![run_id, *initiated_event_id as i64], |r| r.get(0))
            .optional()?;
        if let Some(child) = child {
            push_inbox(conn, &child, &InboxItem::CancelRequested { reason: CHILD_CANCEL_REASON.to_owned() })?;
        }
    }
    for reply in &c.replies {
        conn.prepare_cached("INSERT OR REPLACE INTO replies (run_id, request_id, reply) VALUES (?1, ?2, ?3)")?
            .execute(params![run_id, reply.request_id, to_json(&reply.body)?])?;
    }
    if let Some((status, closed_at)) = c.close {
        conn.prepare_cached("UPDATE runs SET status = ?2, closed_at = ?3, inbox_count = 0 WHERE run_id = ?1")?
            .execute(params![run_id, status.as_str(), micros(closed_at)])?;
        for table in ["activity_tasks", "timers", "inbox"] {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE run_id = ?1"))?.execute([run_id])?;
        }
        if let (RunStatus::ContinuedAsNew, Some(next)) = (status, &c.continued) {
            insert_run(conn, &next.run)?;
            push_inbox(conn, &next.run.run_id, &next.start)?;
            conn.prepare_cached(
                "INSERT INTO run_parents (run_id, parent_run_id, initiated_event_id, close_policy)
                 SELECT ?2, parent_run_id, initiated_event_id, close_policy FROM run_parents WHERE run_id = ?1",
            )?
            .execute(params![run_id, next.run.run_id])?;
        }
        if let Some(outcome) = c.to_parent.clone().filter(|_| status != RunStatus::ContinuedAsNew) {
            let parent: Option<(String, i64)> = conn
                .prepare_cached("SELECT parent_run_id, initiated_event_id FROM run_parents WHERE run_id = ?1")?
                .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((parent, initiated_event_id)) = parent {
                push_inbox(
                    conn,
                    &parent,
                    &InboxItem::ChildClosed { initiated_event_id: initiated_event_id as u64, outcome },
                )?;
            }
        }
        if c.may_have_children {
            let mut open = conn.prepare_cached(
                "SELECT p.run_id, p.close_policy FROM run_parents p JOIN runs r ON r.run_id = p.run_id
                 WHERE p.parent_run_id = ?1 AND r.status = 'running' AND p.close_policy <> 'abandon'
                 ORDER BY p.initiated_event_id",
            )?;
            let children = open
                .query_map([run_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (child, policy) in children {
                push_inbox(conn, &child, &parent_closed(&policy))?;
            }
        }
    }
    let ready: bool = conn
        .prepare_cached(
            "UPDATE runs SET next_event_id = ?2, held = NULL, held_at = NULL, lease_owner = NULL, lease_token = NULL,
                 lease_deadline = NULL, sticky_owner = ?3, inbox_count = max(inbox_count - ?4, 0)
             WHERE run_id = ?1
             RETURNING inbox_count > 0",
        )?
        .query_row(params![run_id, (c.first_event_id + c.events.len() as u64) as i64, c.worker_id, consumed], |r| {
            r.get(0)
        })?;
    Ok(ready)
}

fn history(conn: &Connection, run_id: &str, workflow_id: &str, after: u64) -> Result<Vec<HistoryEvent>> {
    let corrupt = |reason: String| Error::CorruptHistory {
        workflow_id: workflow_id.to_owned(),
        run_id: run_id.to_owned(),
        reason,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, data, checksum FROM events WHERE run_id = ?1 AND event_id > ?2 ORDER BY event_id",
    )?;
    // Sized once from the run's event count: no regrowing (and copying) of a long history.
    let count: Option<i64> = conn
        .prepare_cached("SELECT next_event_id - 1 - ?2 FROM runs WHERE run_id = ?1")?
        .query_row(params![run_id, after as i64], |r| r.get(0))
        .optional()?;
    let mut events = Vec::with_capacity(count.unwrap_or(0).clamp(0, 1 << 20) as usize);
    let mut rows = stmt.query(params![run_id, after as i64])?;
    let mut expected = after + 1;
    while let Some(row) = rows.next()? {
        let event_id: i64 = row.get(0)?;
        // Borrowed from SQLite's row buffer: no copy before parsing.
        let data = row.get_ref(1)?.as_str().map_err(|e| corrupt(format!("event {event_id} is not text: {e}")))?;
        let checksum: i64 = row.get(2)?;
        events.push(check_event(run_id, workflow_id, expected, StoredEvent { event_id, data, checksum })?);
        expected += 1;
    }
    Ok(events)
}

/// The earliest of the times `sql` selects (one column, NULL for none) over the `keys`.
fn earliest_of(conn: &Connection, sql: &str, keys: &[&dyn rusqlite::ToSql]) -> Result<Option<i64>> {
    Ok(conn.prepare_cached(sql)?.query_row(keys, |r| r.get(0))?)
}

fn next_due(conn: &Connection, worker: &WorkerInfo, now: SystemTime) -> Result<Option<SystemTime>> {
    let now = micros(now);
    let types = name_list(&worker.activity_types)?;
    let mut due: Vec<Option<i64>> = Vec::new();
    for queue in &worker.task_queues {
        due.push(earliest_of(
            conn,
            "SELECT min(fire_at) FROM timers WHERE task_queue = ?1 AND fire_at > ?2",
            &[queue, &now],
        )?);
        due.push(earliest_of(
            conn,
            "SELECT min(ready_at) FROM activity_tasks WHERE task_queue = ?1 AND running = 0 AND ready_at > ?2
                 AND activity_type IN (SELECT value FROM json_each(?3))",
            &[queue, &now, &types],
        )?);
        due.push(earliest_of(
            conn,
            "SELECT min(lease_deadline) FROM runs INDEXED BY runs_ready
                 WHERE task_queue = ?1 AND status = 'running' AND held IS NULL
                 AND inbox_count > 0 AND lease_deadline > ?2",
            &[queue, &now],
        )?);
    }
    // An expiry to come, or an expired row claimed by a worker that went away: claimable when its lease ends.
    due.push(earliest_of(
        conn,
        concat!(
            "SELECT min(",
            claimable_at!(),
            ") FROM activity_tasks INDEXED BY activity_tasks_claimable WHERE expires_at IS NOT NULL AND ",
            claimable_at!(),
            " > ?1"
        ),
        &[&now],
    )?);
    due.push(earliest_of(
        conn,
        "SELECT min(expires_at) FROM workers WHERE expires_at > ?1 AND worker_id != ?2",
        &[&now, &worker.worker_id],
    )?);
    Ok(due.into_iter().flatten().min().map(from_micros))
}

impl Store for SqliteStore {
    fn exclusive(&self) -> bool {
        self.inspect.is_none()
    }

    fn subscribe(&self, listener: Arc<dyn StoreListener>) {
        *self.listener.lock() = Some(listener);
        #[cfg(unix)]
        if let Some(path) = &self.file {
            let mut wake = self.wake.lock();
            if wake.is_none() {
                match wake::Receiver::start(&wake_path(path), self.listener.clone()) {
                    Ok(receiver) => *wake = Some(receiver),
                    Err(error) => tracing::warn!(%error, "the store cannot receive wake-ups from `weft` commands"),
                }
            }
        }
    }

    fn register_worker(&self, worker: Arc<WorkerInfo>, expires_at: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO workers ({WORKER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                worker.worker_id,
                worker.host,
                worker.pid,
                name_list(&worker.task_queues)?,
                name_list(&worker.workflow_types)?,
                name_list(&worker.activity_types)?,
                micros(worker.started_at),
                micros(expires_at),
            ])?;
            Ok(())
        })
    }

    fn heartbeat_worker(
        &self,
        worker_id: String,
        expires_at: SystemTime,
        lease_deadline: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE workers SET expires_at = ?2 WHERE worker_id = ?1")?
                .execute(params![worker_id, micros(expires_at)])?;
            conn.prepare_cached(
                "UPDATE runs SET lease_deadline = ?2 WHERE lease_owner = ?1 AND lease_token IS NOT NULL",
            )?
            .execute(params![worker_id, micros(lease_deadline)])?;
            Ok(())
        })
    }

    fn unregister_worker(&self, worker_id: String) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM workers WHERE worker_id = ?1")?.execute([&worker_id])?;
            // Its sticky runs need no change: a sticky worker without a row is no live worker.
            conn.prepare_cached(
                "UPDATE runs SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL
                 WHERE lease_owner = ?1 AND lease_token IS NOT NULL",
            )?
            .execute([&worker_id])?;
            Ok(())
        })
    }

    fn list_workers(&self) -> BoxFuture<'_, Result<Vec<WorkerRecord>>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {WORKER_COLUMNS} FROM workers ORDER BY worker_id"))?;
            let mut rows = stmt.query([])?;
            let mut workers = Vec::new();
            while let Some(row) = rows.next()? {
                workers.push(worker_from_row(row)?);
            }
            Ok(workers)
        })
    }

    fn expire_all(&self, now: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE runs SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL
                 WHERE lease_token IS NOT NULL",
                [],
            )?;
            conn.execute(
                "UPDATE activity_tasks SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL,
                     expires_at = CASE WHEN running = 1 THEN coalesce(min(expires_at, ?1), ?1) ELSE expires_at END
                 WHERE running = 1 OR lease_token IS NOT NULL",
                [micros(now)],
            )?;
            conn.execute("DELETE FROM workers", [])?;
            Ok(())
        })
    }

    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            if let Some((run_id, _)) = refusal(conn, &run.workflow_id, reuse)? {
                return Err(Error::AlreadyStarted { workflow_id: run.workflow_id.clone(), run_id });
            }
            insert_run(conn, &run)?;
            match &start {
                RunStart::Inbox(item) => {
                    push_inbox(conn, &run.run_id, item)?;
                    Ok(())
                }
                RunStart::Step(step) if step.fence != StepFence::Unleased || step.run_id != run.run_id => {
                    Err(Error::store(format!("the first step of run {} must be its own and unleased", run.run_id)))
                }
                RunStart::Step(step) => commit_step(conn, step).map(drop),
            }
        })
    }

    fn claim_workflow_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<WorkflowTask>>> {
        let token = new_token();
        self.write(move |conn| claim_workflow_tasks(conn, &worker, now, lease, limit, token))
    }

    fn claim_workflow_task(
        &self,
        worker: Arc<WorkerInfo>,
        run_id: String,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<WorkflowTask>>> {
        let token = new_token();
        self.write(move |conn| {
            fire_due_timers(conn, "run_id = ?1", &run_id, now)?;
            let mut tasks = Vec::new();
            let params = named_params! {
                ":worker": worker.worker_id, ":started": micros(worker.started_at), ":token": token,
                ":deadline": micros(add(now, lease)), ":now": micros(now), ":limit": 1, ":run": run_id,
            };
            // Its holder may claim it again (a retried step).
            let filter =
                "r.run_id = :run AND (r.lease_token IS NULL OR r.lease_deadline <= :now OR r.lease_owner = :worker)";
            claim_runs(conn, filter, params, &mut tasks)?;
            Ok(tasks.pop())
        })
    }

    fn commit_workflow_task(&self, commit: StepCommit) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| commit_step(conn, &commit))
    }

    fn release_workflow_task(&self, run_id: String, token: i64) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            let released = conn
                .prepare_cached(
                    "UPDATE runs SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL
                     WHERE run_id = ?1 AND lease_token = ?2",
                )?
                .execute(params![run_id, token])?;
            if released != 1 {
                return Err(stale(&run_id, "workflow task", "its lease was lost"));
            }
            Ok(())
        })
    }

    fn hold_run(
        &self,
        run_id: String,
        token: Option<i64>,
        reason: Option<String>,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            let held_at = reason.as_ref().map(|_| micros(now));
            match token {
                Some(token) => {
                    let held = conn
                        .prepare_cached(
                            "UPDATE runs SET held = ?3, held_at = ?4, lease_owner = NULL, lease_token = NULL,
                                 lease_deadline = NULL, sticky_owner = CASE WHEN ?3 IS NULL THEN sticky_owner END
                             WHERE run_id = ?1 AND lease_token = ?2",
                        )?
                        .execute(params![run_id, token, reason, held_at])?;
                    if held != 1 {
                        return Err(stale(&run_id, "workflow task", "its lease was lost"));
                    }
                }
                None => {
                    conn.prepare_cached(
                        "UPDATE runs SET held = ?2, held_at = ?3,
                             sticky_owner = CASE WHEN ?2 IS NULL THEN sticky_owner END
                         WHERE run_id = ?1",
                    )?
                    .execute(params![run_id, reason, held_at])?;
                }
            }
            Ok(())
        })
    }

    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>> {
        let added = self.write(move |conn| push_inbox(conn, &run_id, &item));
        async move {
            let added = added.await;
            // A `weft` command wakes the engine, which would otherwise see the item only when it next looks.
            #[cfg(unix)]
            if let (Ok(true), Some((path, _))) = (&added, &self.inspect) {
                wake::send(&wake_path(path));
            }
            added
        }
        .boxed()
    }

    fn claim_activity_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        let token = new_token();
        self.write(move |conn| claim_activity_tasks(conn, &worker, now, limit, token))
    }

    fn claim_expired_activities(
        &self,
        worker_id: String,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        let token = new_token();
        self.write(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "UPDATE activity_tasks SET lease_owner = :worker, lease_token = :token, lease_deadline = :deadline
                 WHERE (run_id, seq) IN (
                     SELECT run_id, seq FROM activity_tasks INDEXED BY activity_tasks_claimable
                     WHERE expires_at IS NOT NULL AND {CLAIMABLE_AT} <= :now
                     ORDER BY {CLAIMABLE_AT} {CLAIM_LIMIT})
                 RETURNING {ACTIVITY_COLUMNS}"
            ))?;
            let mut expired = activities_from(stmt.query(named_params! {
                ":worker": worker_id, ":token": token, ":deadline": micros(add(now, lease)),
                ":now": micros(now), ":limit": limit.min(i64::MAX as usize) as i64,
            })?)?;
            expired.sort_by_key(|a| a.expires_at);
            Ok(expired)
        })
    }

    fn update_activity(&self, fence: ActivityFence, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| update_activity(conn, &fence, &update))
    }

    fn cancel_queued_activity(&self, key: ActivityKey) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| {
            let row: Option<(i64, u32, Option<String>)> = conn
                .prepare_cached(
                    "DELETE FROM activity_tasks WHERE run_id = ?1 AND seq = ?2 AND running = 0 AND lease_token IS NULL
                     RETURNING scheduled_event_id, attempt, last_failure",
                )?
                .query_row(params![key.run_id, key.seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((scheduled_event_id, attempt, last_failure)) = row else { return Ok(false) };
            let item = InboxItem::ActivityClosed {
                scheduled_event_id: u64::try_from(scheduled_event_id).map_err(Error::store)?,
                attempt,
                last_failure: last_failure.as_deref().map(from_json).transpose()?,
                outcome: ActivityOutcome::Canceled,
                // Queued: no attempt runs (one that ran before a retry has ended).
                started_at: None,
            };
            push_inbox(conn, &key.run_id, &item)?;
            Ok(true)
        })
    }

    fn next_due(&self, worker: Arc<WorkerInfo>, now: SystemTime) -> BoxFuture<'_, Result<Option<SystemTime>>> {
        self.read(move |conn| next_due(conn, &worker, now))
    }

    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |conn| read_run(conn, &run_id))
    }

    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE workflow_id = ?1
                 ORDER BY status = 'running' DESC, created_at DESC, rowid DESC LIMIT 1"
            ))?;
            Ok(runs_from(stmt.query([&workflow_id])?)?.pop())
        })
    }

    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<ListedRun>>> {
        self.read(move |conn| {
            let (clause, values) = filter.sql(SQLITE, Shape::List);
            let mut stmt = conn.prepare_cached(&format!("SELECT {RUN_COLUMNS}, rowid FROM runs{clause}"))?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values.iter().map(sql_value)))?;
            let mut runs = Vec::new();
            while let Some(row) = rows.next()? {
                let run = run_from_row(row)?;
                let position = ListPosition { created_at: row.get(5)?, seq: row.get(14)? };
                runs.push(ListedRun { run, position });
            }
            Ok(runs)
        })
    }

    fn delete_closed_runs(&self, closed_before: SystemTime, limit: usize) -> BoxFuture<'_, Result<usize>> {
        let before = micros(closed_before);
        let limit = limit.min(i64::MAX as usize) as i64;
        self.write(move |conn| {
            let ids: Vec<String> = conn
                .prepare_cached(&expired_runs_sql(SQLITE))?
                .query_map(params![before, limit], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in &ids {
                for table in RUN_TABLES.iter().chain(&["runs"]) {
                    conn.prepare_cached(&format!("DELETE FROM {table} WHERE run_id = ?1"))?.execute([id])?;
                }
            }
            Ok(ids.len())
        })
    }

    fn count_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunCounts>> {
        self.read(move |conn| {
            // One snapshot for both counts.
            let tx = conn.unchecked_transaction()?;
            let mut counts = RunCounts::default();
            for shape in [Shape::Count, Shape::Held] {
                let (clause, values) = filter.sql(SQLITE, shape);
                let mut stmt = tx.prepare_cached(&shape.count_statement(&clause))?;
                let mut rows = stmt.query(rusqlite::params_from_iter(values.iter().map(sql_value)))?;
                while let Some(row) = rows.next()? {
                    counts.add_row(shape, &row.get::<_, String>(0)?, row.get(1)?)?;
                }
            }
            Ok(counts)
        })
    }

    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>> {
        self.read(move |conn| history(conn, &run_id, &workflow_id, after))
    }

    fn reply(&self, run_id: String, request_id: String) -> BoxFuture<'_, Result<Option<ReplyBody>>> {
        self.read(move |conn| {
            let json: Option<String> = conn
                .prepare_cached("SELECT reply FROM replies WHERE run_id = ?1 AND request_id = ?2")?
                .query_row(params![run_id, request_id], |r| r.get(0))
                .optional()?;
            json.map(|j| from_json(&j)).transpose()
        })
    }

    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ACTIVITY_COLUMNS} FROM activity_tasks WHERE run_id = ?1 ORDER BY seq"
            ))?;
            let activities = activities_from(stmt.query([&run_id])?)?;
            let mut stmt = conn.prepare_cached(
                "SELECT run_id, seq, started_event_id, fire_at FROM timers WHERE run_id = ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query([&run_id])?;
            let mut timers = Vec::new();
            while let Some(row) = rows.next()? {
                timers.push(timer_from_row(row)?);
            }
            Ok((activities, timers))
        })
    }

    fn close(&self) {
        SqliteStore::close(self);
    }
}

/// The wake-up socket of a store file: `<path>-wake`.
#[cfg(unix)]
fn wake_path(path: &Path) -> PathBuf {
    let mut wake = path.as_os_str().to_owned();
    wake.push("-wake");
    PathBuf::from(wake)
}

/// Wake-ups from `weft` commands: one datagram per inbox item they add.
#[cfg(unix)]
mod wake {
    use std::os::unix::net::UnixDatagram;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use parking_lot::Mutex;

    use super::StoreListener;

    /// How often the receiving thread checks that it should stop, when no
    /// datagram comes (a backstop: closing sends one).
    const STOP_CHECK: Duration = Duration::from_secs(1);

    /// The thread receiving wake-ups on a bound socket.
    pub(super) struct Receiver {
        path: PathBuf,
        stop: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<()>,
    }

    impl Receiver {
        /// Binds `path` (removing a stale socket: the engine lock makes this
        /// store the file's only engine) and calls the listener on each datagram.
        pub(super) fn start(
            path: &Path,
            listener: Arc<Mutex<Option<Arc<dyn StoreListener>>>>,
        ) -> std::io::Result<Self> {
            let _ = std::fs::remove_file(path);
            let socket = UnixDatagram::bind(path)?;
            socket.set_read_timeout(Some(STOP_CHECK))?;
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = stop.clone();
            let thread = std::thread::Builder::new().name("weft-wake".into()).spawn(move || {
                let mut buf = [0_u8; 16];
                while !stopped.load(Ordering::Acquire) {
                    let received = socket.recv(&mut buf).is_ok();
                    if received && !stopped.load(Ordering::Acquire) {
                        let listener = listener.lock().clone();
                        if let Some(listener) = listener {
                            listener.work_available(None);
                        }
                    }
                }
            })?;
            Ok(Receiver { path: path.to_owned(), stop, thread })
        }

        /// Stops the thread and removes the socket.
        pub(super) fn stop(self) {
            self.stop.store(true, Ordering::Release);
            send(&self.path);
            let _ = self.thread.join();
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Sends one wake-up to the socket at `path`; no engine listening is fine.
    pub(super) fn send(path: &Path) {
        if let Ok(socket) = UnixDatagram::unbound() {
            let _ = socket.set_nonblocking(true);
            let _ = socket.send_to(b"w", path);
        }
    }
}

/// The fuzz targets fill the tables of an in-memory store through this.
#[cfg(feature = "fuzzing")]
impl SqliteStore {
    pub(crate) fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> Option<T> {
        match &self.mode {
            Mode::Inline(conn) | Mode::Thread { reader: conn, .. } => conn.lock().as_ref().map(f),
        }
    }
}

#[cfg(test)]
impl SqliteStore {
    /// Test hook: runs `f` on an inline store's connection (to damage rows).
    pub(crate) fn with_test_connection<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let Mode::Inline(conn) = &self.mode else { return Err(Error::store("the test hook needs an inline store")) };
        let conn = conn.lock();
        Ok(f(conn.as_ref().ok_or(Error::Shutdown)?)?)
    }

    /// Test hook: caps the writer's file at its current size (`true`), so a
    /// write that needs a new page fails with `SQLITE_FULL` ("database or disk
    /// is full") as on a full disk, or lifts the cap (`false`). Inline mode only.
    pub(crate) fn fill_disk(&self, full: bool) -> Result<()> {
        let Mode::Inline(conn) = &self.mode else { return Err(Error::store("fill_disk needs an inline store")) };
        let conn = conn.lock();
        let conn = conn.as_ref().ok_or(Error::Shutdown)?;
        let pages: i64 = if full { conn.pragma_query_value(None, "page_count", |r| r.get(0))? } else { 0xFFFF_FFFE };
        conn.pragma_update(None, "max_page_count", pages)?;
        Ok(())
    }
}

#[cfg(test)]
mod group_commit_tests {
    use super::*;

    fn insert(value: i64, fail: bool) -> (Box<dyn WriteJob>, oneshot::Receiver<Result<i64>>) {
        let (tx, rx) = oneshot::channel();
        let op = move |conn: &Connection| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [value])?;
            if fail { Err(Error::store("this write fails after writing")) } else { Ok(value) }
        };
        (Box::new(Write { op, result: None, tx }), rx)
    }

    #[test]
    fn a_failed_write_undoes_only_itself_and_its_neighbours_commit() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let (jobs, replies): (Vec<_>, Vec<_>) =
            [(1, false), (2, true), (3, false)].map(|(v, f)| insert(v, f)).into_iter().unzip();
        group_commit(&conn, jobs);
        let answers: Vec<_> = replies.into_iter().map(|mut rx| rx.try_recv().unwrap().ok()).collect();
        assert_eq!(answers, [Some(1), None, Some(3)]);
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows: Vec<i64> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(rows, [1, 3], "the failed write's row is gone; its neighbours' rows are committed once");
    }

    #[test]
    fn a_failed_commit_answers_each_write_with_sqlite_s_error_code() {
        let (job, mut rx) = insert(1, false);
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        job.reply(Some(&full));
        let err = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(err.sqlite_code(), Some(rusqlite::ErrorCode::DiskFull), "{err:?}");
        let chain = crate::ErrorChain(&err).to_string();
        assert!(chain.starts_with("store operation failed: ") && chain.contains("database is full"), "{chain}");
    }
}

#[cfg(test)]
mod holder_tests {
    use super::*;

    #[test]
    fn a_stopped_process_is_told_apart_from_a_running_and_an_exited_one() {
        if !Path::new("/proc/self/stat").exists() {
            return;
        }
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert_eq!(process_state(pid), ProcessState::Running);
        let stop = std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status().unwrap();
        assert!(stop.success());
        let mut state = process_state(pid);
        for _ in 0..200 {
            if state == ProcessState::Stopped {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            state = process_state(pid);
        }
        assert_eq!(state, ProcessState::Stopped);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(process_state(pid), ProcessState::Gone);
    }
}
