//! The SQLite store: one file (WAL, group commit) or memory.
//!
//! On a file, one writer thread owns the writing connection. Each write is a
//! job on its queue; the thread takes every job waiting, runs them in one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers them:
//! many workflows' steps share one fsync (group commit). A write that fails
//! undoes only itself (see [`group_commit`]). Reads use a second connection on
//! the caller's thread, so they never wait behind a commit. In memory, and in
//! `inline` mode, every call runs on the caller's thread under a mutex, which
//! keeps virtual time (`tokio::time::pause`) deterministic.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::lock;
use super::{
    ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate, InboxEntry, InboxItem, Recovery, RunFilter, RunRecord,
    RunStart, RunStatus, StepInput, Store, TimerTask, WorkflowTaskCommit,
};
use crate::client::WorkflowIdReusePolicy;
use crate::engine::Durability;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::{Error, Result};

/// The schema version this build writes; older stores are migrated, newer refused.
pub(crate) const SCHEMA_VERSION: u32 = 1;

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

const SCHEMA: &str = "
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
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating or migrating) the store, taking the engine lock on a file.
    pub(crate) fn open(location: &Location) -> Result<Self> {
        match location {
            Location::Memory => {
                let conn = Connection::open_in_memory()?;
                prepare(&conn, None, false)?;
                Ok(SqliteStore { mode: Mode::Inline(Mutex::new(Some(conn))), claim: Mutex::new(None), inspect: None })
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
                    let (tx, rx) = mpsc::channel();
                    let wal = wal_path(path);
                    let thread = std::thread::Builder::new()
                        .name("weft-sqlite".into())
                        .spawn(move || writer(conn, rx, wal))
                        .map_err(Error::store)?;
                    Mode::Thread { writer: Mutex::new(Some((tx, thread))), reader: Mutex::new(Some(reader)) }
                };
                Ok(SqliteStore { mode, claim: Mutex::new(Some(claim)), inspect: None })
            }
            Location::Inspect { path, busy_timeout } => {
                let claim = lock::claim_inspect(path)?;
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)?;
                conn.busy_timeout(*busy_timeout)?;
                if classify(&conn)? != Contents::Weft {
                    return Err(Error::NotAStore { path: path.to_owned() });
                }
                Ok(SqliteStore {
                    mode: Mode::Inline(Mutex::new(Some(conn))),
                    claim: Mutex::new(Some(claim)),
                    inspect: Some((path.clone(), *busy_timeout)),
                })
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
}

impl SqliteStore {
    /// Closes the store: queued writes finish, later calls fail with
    /// `Shutdown`, and the file lock is released.
    pub(crate) fn close(&self) {
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
        conn.execute_batch(&format!("BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))?;
    }
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

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
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

/// The writer thread: group commit.
///
/// Every write waiting is run in one `BEGIN IMMEDIATE` transaction, committed
/// once (one fsync), and only then answered. Writes rarely fail, so they run
/// without savepoints; when one does fail, the batch is rolled back and run
/// again with a savepoint per write, so the failure undoes only its own.
/// WAL checkpoints run after the answers are sent, never inside a commit.
/// Once the WAL file passes [`WAL_LIMIT`], a truncating checkpoint empties it
/// (waiting at most [`TRUNCATE_WAIT`] for readers; tried again after
/// [`CHECKPOINT_EVERY`] commits if a reader was in the way).
fn writer(conn: Connection, rx: mpsc::Receiver<Box<dyn WriteJob>>, wal: PathBuf) {
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
            let _ = conn.busy_timeout(TRUNCATE_WAIT);
            let done = checkpoint(&conn, "TRUNCATE").unwrap_or(false);
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
            // Not done: a reader is in the way; try again in a while.
            since_checkpoint = if done { 0 } else { -(CHECKPOINT_EVERY as i64) };
        } else if since_checkpoint >= CHECKPOINT_EVERY as i64 {
            since_checkpoint = 0;
            // PASSIVE: copies what no reader needs into the database file, never waits.
            let _ = checkpoint(&conn, "PASSIVE");
        }
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

pub(crate) fn micros(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_micros().min(i64::MAX as u128) as i64,
        Err(e) => -(e.duration().as_micros().min(i64::MAX as u128) as i64),
    }
}

pub(crate) fn from_micros(m: i64) -> SystemTime {
    if m >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_micros(m as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_micros(m.unsigned_abs())
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::store)
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(Error::store)
}

pub(crate) fn checksum(data: &str) -> i64 {
    crc32fast::hash(data.as_bytes()) as i64
}

const RUN_COLUMNS: &str = "run_id, workflow_id, workflow_type, status, created_at, closed_at, next_event_id, held";

fn run_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(RunRecord, String)> {
    let status: String = row.get(3)?;
    Ok((
        RunRecord {
            run_id: row.get(0)?,
            workflow_id: row.get(1)?,
            workflow_type: row.get(2)?,
            status: RunStatus::Running,
            created_at: from_micros(row.get(4)?),
            closed_at: row.get::<_, Option<i64>>(5)?.map(from_micros),
            next_event_id: row.get::<_, i64>(6)? as u64,
            held: row.get(7)?,
        },
        status,
    ))
}

fn finish_run((mut run, status): (RunRecord, String)) -> Result<RunRecord> {
    run.status = RunStatus::parse(&status)
        .ok_or_else(|| Error::store(format!("run {} has unknown status {status:?}", run.run_id)))?;
    Ok(run)
}

const ACTIVITY_COLUMNS: &str = "run_id, seq, workflow_id, scheduled_event_id, activity_id, activity_type, input, options, \
     scheduled_at, attempt, running, retry_at, last_failure, heartbeat_details, cancel_requested";

type ActivityRow = (
    ActivityKey,
    String,
    i64,
    String,
    String,
    String,
    String,
    i64,
    u32,
    bool,
    Option<i64>,
    Option<String>,
    Option<String>,
    bool,
);

fn activity_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ActivityRow> {
    Ok((
        ActivityKey { run_id: row.get(0)?, seq: row.get(1)? },
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
        row.get(12)?,
        row.get(13)?,
        row.get(14)?,
    ))
}

fn finish_activity(r: ActivityRow) -> Result<ActivityTask> {
    let (
        key,
        workflow_id,
        sched,
        activity_id,
        activity_type,
        input,
        options,
        at,
        attempt,
        running,
        retry_at,
        failure,
        hb,
        cancel,
    ) = r;
    Ok(ActivityTask {
        key,
        workflow_id,
        scheduled_event_id: sched as u64,
        activity_id,
        activity_type,
        input: Payload::from_json(input).map_err(Error::store)?,
        options: from_json(&options)?,
        scheduled_at: from_micros(at),
        attempt,
        running,
        retry_at: retry_at.map(from_micros),
        last_failure: failure.as_deref().map(from_json).transpose()?,
        heartbeat_details: hb.map(Payload::from_json).transpose().map_err(Error::store)?,
        cancel_requested: cancel,
    })
}

fn timer_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TimerTask> {
    Ok(TimerTask {
        run_id: row.get(0)?,
        seq: row.get(1)?,
        started_event_id: row.get::<_, i64>(2)? as u64,
        fire_at: from_micros(row.get(3)?),
    })
}

fn insert_inbox(conn: &Connection, run_id: &str, item: &InboxItem) -> Result<()> {
    conn.prepare_cached("INSERT INTO inbox (run_id, item) VALUES (?1, ?2)")?
        .execute(params![run_id, to_json(item)?])?;
    Ok(())
}

fn commit_workflow_task(conn: &Connection, c: &WorkflowTaskCommit) -> Result<bool> {
    let current: Option<(i64, String)> = conn
        .prepare_cached("SELECT next_event_id, status FROM runs WHERE run_id = ?1")?
        .query_row([&c.run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match current {
        Some((next, status)) if next as u64 == c.first_event_id && status == "running" => {}
        _ => return Ok(false),
    }
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (run_id, event_id, event_type, data, checksum) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, event) in c.events.iter().enumerate() {
        if event.event_id != c.first_event_id + i as u64 {
            return Err(Error::store(format!("event {} out of order in run {}", event.event_id, c.run_id)));
        }
        let data = to_json(event)?;
        insert_event.execute(params![c.run_id, event.event_id as i64, event.event_type(), data, checksum(&data)])?;
        apply_event(conn, c, event)?;
    }
    for seq in &c.eager_starts {
        let started = conn
            .prepare_cached(
                "UPDATE activity_tasks SET attempt = 1, running = 1, started_at = scheduled_at
                 WHERE run_id = ?1 AND seq = ?2 AND attempt = 0 AND running = 0",
            )?
            .execute(params![c.run_id, seq])?;
        if started != 1 {
            return Err(Error::store(format!("activity {seq} of run {} was not scheduled by this step", c.run_id)));
        }
    }
    if !c.consumed.is_empty() {
        let mut delete = conn.prepare_cached("DELETE FROM inbox WHERE id = ?1")?;
        for id in &c.consumed {
            delete.execute([id])?;
        }
    }
    conn.prepare_cached("UPDATE runs SET next_event_id = ?2, held = NULL WHERE run_id = ?1")?
        .execute(params![c.run_id, (c.first_event_id + c.events.len() as u64) as i64])?;
    Ok(true)
}

/// Applies what one new event implies for the task rows and the run.
fn apply_event(conn: &Connection, c: &WorkflowTaskCommit, event: &HistoryEvent) -> Result<()> {
    let run_id = &c.run_id;
    match &event.attributes {
        EventAttributes::ActivityTaskScheduled { seq, activity_id, activity_type, input, options } => {
            conn.prepare_cached(
                "INSERT INTO activity_tasks (run_id, seq, workflow_id, scheduled_event_id, activity_id, activity_type, input, options, scheduled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                run_id,
                seq,
                c.workflow_id,
                event.event_id as i64,
                activity_id,
                activity_type,
                input.as_json(),
                to_json(options)?,
                micros(event.timestamp)
            ])?;
        }
        EventAttributes::ActivityTaskCancelRequested { scheduled_event_id } => {
            conn.prepare_cached(
                "UPDATE activity_tasks SET cancel_requested = 1 WHERE run_id = ?1 AND scheduled_event_id = ?2",
            )?
            .execute(params![run_id, *scheduled_event_id as i64])?;
        }
        EventAttributes::TimerStarted { seq, duration } => {
            let fire_at =
                event.timestamp.checked_add(*duration).unwrap_or(event.timestamp + crate::activity::MAX_DURATION);
            conn.prepare_cached("INSERT INTO timers (run_id, seq, started_event_id, fire_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![run_id, seq, event.event_id as i64, micros(fire_at)])?;
        }
        EventAttributes::TimerCanceled { started_event_id } => {
            conn.prepare_cached("DELETE FROM timers WHERE run_id = ?1 AND started_event_id = ?2")?
                .execute(params![run_id, *started_event_id as i64])?;
        }
        other => {
            if let Some(status) = RunStatus::after(other) {
                conn.prepare_cached("UPDATE runs SET status = ?2, closed_at = ?3 WHERE run_id = ?1")?
                    .execute(params![run_id, status.as_str(), micros(event.timestamp)])?;
                for table in ["activity_tasks", "timers", "inbox"] {
                    conn.prepare_cached(&format!("DELETE FROM {table} WHERE run_id = ?1"))?.execute([run_id])?;
                }
            }
        }
    }
    Ok(())
}

fn update_activity(conn: &Connection, key: &ActivityKey, update: &ActivityUpdate) -> Result<bool> {
    let changed = match update {
        ActivityUpdate::Start { attempt, at } => conn
            .prepare_cached(
                "UPDATE activity_tasks SET attempt = ?3, running = 1, started_at = ?4, retry_at = NULL
                 WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3 - 1 AND running = 0",
            )?
            .execute(params![key.run_id, key.seq, attempt, micros(*at)])?,
        ActivityUpdate::Retry { attempt, retry_at, failure, heartbeat_details } => conn
            .prepare_cached(
                "UPDATE activity_tasks SET running = 0, retry_at = ?4, last_failure = ?5,
                     heartbeat_details = COALESCE(?6, heartbeat_details)
                 WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3 AND running = 1",
            )?
            .execute(params![
                key.run_id,
                key.seq,
                attempt,
                micros(*retry_at),
                to_json(failure)?,
                heartbeat_details.as_ref().map(Payload::as_json)
            ])?,
        ActivityUpdate::Heartbeat { attempt, details } => conn
            .prepare_cached(
                "UPDATE activity_tasks SET heartbeat_details = ?4 WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3 AND running = 1",
            )?
            .execute(params![key.run_id, key.seq, attempt, details.as_ref().map(Payload::as_json)])?,
        ActivityUpdate::Close { attempt, last_failure, outcome } => {
            let scheduled: Option<i64> = conn
                .prepare_cached("DELETE FROM activity_tasks WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3 RETURNING scheduled_event_id")?
                .query_row(params![key.run_id, key.seq, attempt], |r| r.get(0))
                .optional()?;
            let Some(scheduled_event_id) = scheduled else { return Ok(false) };
            let item = InboxItem::ActivityClosed {
                scheduled_event_id: scheduled_event_id as u64,
                attempt: *attempt,
                last_failure: last_failure.clone(),
                outcome: outcome.clone(),
            };
            insert_inbox(conn, &key.run_id, &item)?;
            1
        }
        ActivityUpdate::CancelIdle => {
            let row: Option<(i64, u32, Option<String>)> = conn
                .prepare_cached(
                    "DELETE FROM activity_tasks WHERE run_id = ?1 AND seq = ?2 AND running = 0
                     RETURNING scheduled_event_id, attempt, last_failure",
                )?
                .query_row(params![key.run_id, key.seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((scheduled_event_id, attempt, last_failure)) = row else { return Ok(false) };
            let item = InboxItem::ActivityClosed {
                scheduled_event_id: scheduled_event_id as u64,
                attempt,
                last_failure: last_failure.as_deref().map(from_json).transpose()?,
                outcome: ActivityOutcome::Canceled,
            };
            insert_inbox(conn, &key.run_id, &item)?;
            1
        }
    };
    Ok(changed == 1)
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
        let sum: i64 = row.get(2)?;
        if event_id as u64 != expected {
            return Err(corrupt(format!("event {expected} is missing (found {event_id})")));
        }
        if checksum(data) != sum {
            return Err(corrupt(format!("event {event_id} fails its checksum")));
        }
        let event: HistoryEvent =
            serde_json::from_str(data).map_err(|e| corrupt(format!("event {event_id} does not parse: {e}")))?;
        if event.event_id != expected {
            return Err(corrupt(format!("event {event_id} says it is event {}", event.event_id)));
        }
        events.push(event);
        expected += 1;
    }
    Ok(events)
}

fn read_run(conn: &Connection, run_id: &str) -> Result<Option<RunRecord>> {
    conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1"))?
        .query_row([run_id], run_from_row)
        .optional()?
        .map(finish_run)
        .transpose()
}

fn read_inbox(conn: &Connection, run_id: &str) -> Result<Vec<InboxEntry>> {
    let mut stmt = conn.prepare_cached("SELECT id, item FROM inbox WHERE run_id = ?1 ORDER BY id")?;
    let mut rows = stmt.query([run_id])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        let item = row.get_ref(1)?.as_str().map_err(Error::store)?;
        entries.push(InboxEntry { id: row.get(0)?, item: from_json(item)? });
    }
    Ok(entries)
}

impl Store for SqliteStore {
    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            let latest: Option<(String, String)> = conn
                .prepare_cached(
                    "SELECT run_id, status FROM runs WHERE workflow_id = ?1
                     ORDER BY status = 'running' DESC, created_at DESC, rowid DESC LIMIT 1",
                )?
                .query_row([&run.workflow_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((run_id, status)) = latest {
                let refused = match reuse {
                    _ if status == "running" => true,
                    WorkflowIdReusePolicy::AllowDuplicate => false,
                    WorkflowIdReusePolicy::AllowDuplicateFailedOnly => status == "completed",
                    WorkflowIdReusePolicy::RejectDuplicate => true,
                };
                if refused {
                    return Err(Error::AlreadyStarted { workflow_id: run.workflow_id.clone(), run_id });
                }
            }
            conn.prepare_cached(
                "INSERT INTO runs (run_id, workflow_id, workflow_type, status, created_at, next_event_id) VALUES (?1, ?2, ?3, 'running', ?4, 1)",
            )?
            .execute(params![run.run_id, run.workflow_id, run.workflow_type, micros(run.created_at)])?;
            match &start {
                RunStart::Inbox(item) => insert_inbox(conn, &run.run_id, item),
                RunStart::Step(step) if commit_workflow_task(conn, step)? => Ok(()),
                RunStart::Step(_) => Err(Error::store(format!("the first step of run {} did not apply", run.run_id))),
            }
        })
    }

    fn commit_workflow_task(&self, commit: WorkflowTaskCommit) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| commit_workflow_task(conn, &commit))
    }

    fn close_activity_with_step(
        &self,
        key: ActivityKey,
        attempt: u32,
        step: WorkflowTaskCommit,
    ) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| {
            // The step's fence first, so a refusal changes nothing.
            let next: Option<i64> = conn
                .prepare_cached("SELECT next_event_id FROM runs WHERE run_id = ?1 AND status = 'running'")?
                .query_row([&key.run_id], |r| r.get(0))
                .optional()?;
            if next != Some(step.first_event_id as i64) {
                return Ok(false);
            }
            let closed = conn
                .prepare_cached("DELETE FROM activity_tasks WHERE run_id = ?1 AND seq = ?2 AND attempt = ?3")?
                .execute(params![key.run_id, key.seq, attempt])?;
            if closed != 1 {
                return Ok(false);
            }
            if !commit_workflow_task(conn, &step)? {
                return Err(Error::store(format!("the step of run {} was fenced after its check", key.run_id)));
            }
            Ok(true)
        })
    }

    fn hold_run(&self, run_id: String, reason: Option<String>) -> BoxFuture<'_, Result<()>> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE runs SET held = ?2 WHERE run_id = ?1")?.execute(params![run_id, reason])?;
            Ok(())
        })
    }

    fn update_activity(&self, key: ActivityKey, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| update_activity(conn, &key, &update))
    }

    fn fire_timer(&self, run_id: String, seq: u32, started_event_id: u64) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM timers WHERE run_id = ?1 AND seq = ?2")?
                .execute(params![run_id, seq])?;
            if deleted == 1 {
                insert_inbox(conn, &run_id, &InboxItem::TimerFired { started_event_id })?;
            }
            Ok(deleted == 1)
        })
    }

    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>> {
        self.write(move |conn| {
            let open: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1 AND status = 'running')")?
                .query_row([&run_id], |r| r.get(0))?;
            if open {
                insert_inbox(conn, &run_id, &item)?;
            }
            Ok(open)
        })
    }

    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |conn| read_run(conn, &run_id))
    }

    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE workflow_id = ?1 ORDER BY status = 'running' DESC, created_at DESC, rowid DESC LIMIT 1"
            ))?
            .query_row([&workflow_id], run_from_row)
            .optional()?
            .map(finish_run)
            .transpose()
        })
    }

    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<RunRecord>>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR workflow_type = ?2)
                 ORDER BY created_at DESC, rowid DESC LIMIT ?3"
            ))?;
            let limit = filter.limit.map_or(-1, |l| l.min(i64::MAX as usize) as i64);
            let rows =
                stmt.query_map(params![filter.status.map(|s| s.as_str()), filter.workflow_type, limit], run_from_row)?;
            rows.map(|r| finish_run(r?)).collect()
        })
    }

    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>> {
        self.read(move |conn| history(conn, &run_id, &workflow_id, after))
    }

    fn step_input(&self, run_id: String) -> BoxFuture<'_, Result<Option<StepInput>>> {
        self.read(move |conn| match read_run(conn, &run_id)? {
            Some(run) => Ok(Some((run, read_inbox(conn, &run_id)?))),
            None => Ok(None),
        })
    }

    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ACTIVITY_COLUMNS} FROM activity_tasks WHERE run_id = ?1 ORDER BY seq"
            ))?;
            let activities =
                stmt.query_map([&run_id], activity_from_row)?.map(|r| finish_activity(r?)).collect::<Result<_>>()?;
            let mut stmt = conn.prepare_cached(
                "SELECT run_id, seq, started_event_id, fire_at FROM timers WHERE run_id = ?1 ORDER BY seq",
            )?;
            let timers = stmt.query_map([&run_id], timer_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok((activities, timers))
        })
    }

    fn recover(&self) -> BoxFuture<'_, Result<Recovery>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare("SELECT DISTINCT run_id FROM inbox")?;
            let runs_with_work = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            let mut stmt = conn.prepare(&format!("SELECT {ACTIVITY_COLUMNS} FROM activity_tasks"))?;
            let activities =
                stmt.query_map([], activity_from_row)?.map(|r| finish_activity(r?)).collect::<Result<_>>()?;
            let mut stmt = conn.prepare("SELECT run_id, seq, started_event_id, fire_at FROM timers")?;
            let timers = stmt.query_map([], timer_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(Recovery { runs_with_work, activities, timers })
        })
    }

    fn inbox_since(&self, after: i64) -> BoxFuture<'_, Result<(i64, Vec<String>)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT id, run_id FROM inbox WHERE id > ?1 ORDER BY id")?;
            let rows = stmt.query_map([after], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            let mut newest = after;
            let mut runs = Vec::new();
            for row in rows {
                let (id, run_id) = row?;
                newest = newest.max(id);
                if !runs.contains(&run_id) {
                    runs.push(run_id);
                }
            }
            Ok((newest, runs))
        })
    }

    fn close(&self) {
        SqliteStore::close(self);
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
