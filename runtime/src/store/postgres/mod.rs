//! The PostgreSQL store: many worker processes on many machines share one database.
//!
//! Every [`Store`] call is one transaction on a connection from a small pool
//! of our own ([`Pool`]): each connection prepares a statement once and keeps
//! it. Steps and run creations are the exception: they are group-committed,
//! many to a transaction ([`batch`]). Claims commit without waiting for the
//! flush ([`BEGIN_CLAIM`]). Workers claim rows with `FOR UPDATE SKIP LOCKED`, so claimers never
//! wait for each other (a claim of one named run waits for its row's lock
//! instead: skipping it would miss an inbox item being added); fenced writes lock the row they check first
//! (`SELECT ... FOR UPDATE`, or an `UPDATE ... WHERE lease_token = $n`), so
//! a stale write fails with [`Error::StaleTask`] before it writes anything.
//! Every transaction that touches a run's child rows (events, inbox, timers,
//! and activities whose close feeds the inbox) locks the `runs` row first
//! (a batch locks its runs in id order), which keeps lock order fixed and
//! deadlocks out.
//!
//! Times are the caller's `now`, stored as `bigint` microseconds since the
//! epoch; the server's clock is never read. Writes that create work another
//! process may claim `NOTIFY` on the store's work channel (the task queue as
//! payload), and run closes on its closed channel (the run id), in their
//! transaction; [`Store::subscribe`] listens on a dedicated connection that
//! reconnects with backoff and then reports work on every queue, since it
//! may have missed some. Notifications sent by this store object's own
//! connections are dropped (matched by backend pid); other store objects,
//! in this process or another, hear them.

mod batch;
mod listen;
mod pool;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::Semaphore;
use tokio_postgres::Row;
use tokio_util::sync::CancellationToken;

use self::batch::{Batcher, Write};
use self::listen::listen;
pub(crate) use self::pool::redact;
use self::pool::{Channels, Conn, PgError, Pool};

use super::ReplyBody;
use super::codec::{StoredEvent, check_event, duration_micros, from_json, from_micros, micros, to_json};
use super::{
    ActivityFence, ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate, AttemptLimits, Dialect, Durability,
    InboxEntry, InboxItem, Lease, ListPosition, ListedRun, RUN_TABLES, RunCounts, RunFilter, RunRecord, RunStart,
    RunStatus, Shape, SqlValue, StepCommit, Store, StoreListener, TimerTask, WorkerInfo, WorkerRecord,
    WorkflowIdReusePolicy, WorkflowTask, expired_runs_sql, new_token,
};
use crate::history::{HistoryEvent, Payload};
use crate::{Error, Result};

/// The schema version this build writes; older stores are migrated, newer refused.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The `classid` of weft's advisory locks (`'weft'` in ASCII); the second key
/// says what is locked (a schema's creation, a workflow id).
const LOCK_CLASS: i32 = 0x7765_6674;

/// The most due timers one claim fires; the rest fire on the next claims.
const MAX_TIMERS_FIRED: i64 = 4096;

/// Begins a claim's transaction, whose commit does not wait for its flush
/// to disk: a claim that a server crash loses is a claim never made (its
/// rows wait for the next claimer), and every write that depends on it (a
/// step, an attempt's close) is flushed with `synchronous_commit = on`,
/// which flushes the claim before it, since the log is written in order.
const BEGIN_CLAIM: &str = "BEGIN; SET LOCAL synchronous_commit = off";

/// Server-side bounds on every session, so that no call waits forever on a
/// lock or a slow statement (each failure is transient: the engine retries).
const SESSION_LIMITS: &str = "SET statement_timeout = '60s'; SET lock_timeout = '10s'; \
     SET idle_in_transaction_session_timeout = '60s'";
/// Plans that stay right as the tables grow. Every statement here reaches
/// its rows through an index (by key, or a partial index in order), and each
/// connection keeps its prepared statements' generic plans: a plan made
/// while a table was small (a new store) would otherwise scan the whole
/// table, or hash it, and keep doing so as it grows (measured: every batch's
/// `UPDATE runs` scanned all of `runs`, until an `ANALYZE` replanned it).
/// No JIT: the costs of disabled plans would make every statement look
/// expensive enough to compile, and none of these is (it cost 300 ms each).
const SESSION_PLANS: &str =
    "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off; SET jit = off";

/// Version 1 of the schema (`schema.sql`).
pub(crate) const SCHEMA: &str = include_str!("schema.sql");

/// Where the store is and how it connects. Its `Debug` redacts the password.
#[derive(Clone)]
pub(crate) struct PostgresOptions {
    /// A libpq-style URL (`postgres://user:password@host:port/db`) or key-value string.
    pub(crate) url: String,
    /// Connections in the pool (default 8); the listener has one more.
    pub(crate) pool_size: usize,
    pub(crate) durability: Durability,
    /// How long opening one connection may take (default 10 s).
    pub(crate) connect_timeout: Duration,
    /// How long a call waits for a free connection before [`Error::PoolExhausted`] (default 30 s).
    pub(crate) acquire_timeout: Duration,
    /// The PostgreSQL schema that holds the tables (created if missing);
    /// `None`: the connection's current schema (`public`).
    pub(crate) schema: Option<String>,
    /// Whether a schema with other applications' tables may become a store.
    pub(crate) foreign_tables: bool,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("durability", &self.durability)
            .field("connect_timeout", &self.connect_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("schema", &self.schema)
            .field("foreign_tables", &self.foreign_tables)
            .finish()
    }
}

impl PostgresOptions {
    /// The defaults, on `url`.
    pub(crate) fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            pool_size: 8,
            durability: Durability::Full,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            schema: None,
            foreign_tables: false,
        }
    }
}

/// A column's value; a type mismatch is a store error, never a panic.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(Error::store)
}

/// The PostgreSQL implementation of [`Store`].
pub(crate) struct PostgresStore {
    pool: Arc<Pool>,
    channels: Arc<Channels>,
    /// Where steps and run creations go, to be written in batches.
    batcher: Batcher,
    /// Where the listeners run (the runtime `connect` was called on).
    runtime: tokio::runtime::Handle,
    /// Cancelled on close: the listeners stop.
    stop: CancellationToken,
    /// The schema the tables are in (for errors and advisory lock keys).
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("url", &self.pool.url).field("schema", &self.schema).finish()
    }
}

/// Whether `name` may name a PostgreSQL schema here: a plain identifier,
/// short enough that channel names built on it stay under 63 bytes.
fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 40
}

impl PostgresStore {
    /// Connects to the server and creates (or checks) the schema, under an
    /// advisory lock so that processes starting together do not race.
    pub(crate) async fn connect(options: PostgresOptions) -> Result<PostgresStore> {
        let url: Arc<str> = redact(&options.url).into();
        let mut config = tokio_postgres::Config::from_str(&options.url).map_err(|e| Error::StoreConnect {
            url: url.to_string(),
            source: Box::new(PgError { url: url.clone(), source: e }),
        })?;
        config.connect_timeout(options.connect_timeout);
        config.keepalives_idle(Duration::from_secs(30));
        #[cfg(target_os = "linux")]
        config.tcp_user_timeout(Duration::from_secs(60));
        if config.get_application_name().is_none() {
            config.application_name("weft");
        }
        let schema_sql = match &options.schema {
            Some(s) if !valid_schema_name(s) => {
                return Err(Error::store(format!(
                    "invalid PostgreSQL schema name {s:?}: use letters, digits and `_`, at most 40"
                )));
            }
            Some(s) => format!("; SET search_path TO \"{s}\""),
            None => String::new(),
        };
        let sync = match options.durability {
            Durability::Full => "on",
            Durability::Normal => "off",
        };
        let setup = format!("SET synchronous_commit = {sync}; {SESSION_LIMITS}; {SESSION_PLANS}{schema_sql}");
        let pool = Arc::new(Pool {
            config,
            url: url.clone(),
            setup,
            size: options.pool_size.max(1),
            permits: Semaphore::new(options.pool_size.max(1)),
            idle: Mutex::new(Vec::new()),
            pids: Arc::new(Mutex::new(HashSet::new())),
            connect_timeout: options.connect_timeout,
            acquire_timeout: options.acquire_timeout,
            closed: AtomicBool::new(false),
            backoff: Mutex::new(None),
        });
        let schema = prepare_schema(&pool, options.schema.as_deref(), options.foreign_tables).await?;
        let channels = Arc::new(match &options.schema {
            Some(s) => Channels { work: format!("weft_work_{s}"), closed: format!("weft_closed_{s}") },
            None => Channels { work: "weft_work".into(), closed: "weft_closed".into() },
        });
        let runtime = tokio::runtime::Handle::current();
        let stop = CancellationToken::new();
        let batcher = Batcher::start(&runtime, pool.clone(), channels.clone(), schema.as_str().into(), stop.clone());
        Ok(PostgresStore { pool, channels, batcher, runtime, stop, schema })
    }

    /// Runs `op` in one transaction; it commits if `op` succeeds, with the
    /// notifications `op` gathered.
    fn tx<'a, T, F>(&'a self, op: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T>> + Send + 'a,
    {
        async move {
            let mut conn = self.pool.get().await?;
            if let Err(e) = conn.begin().await {
                if !conn.died_idle() {
                    return Err(e);
                }
                drop(conn);
                conn = self.pool.get().await?;
                conn.begin().await?;
            }
            match op(&mut conn).await {
                Ok(value) => {
                    conn.commit(&self.channels).await?;
                    Ok(value)
                }
                Err(e) => {
                    conn.rollback().await;
                    Err(e)
                }
            }
        }
        .boxed()
    }

    /// Runs a claim's transaction: `op` begins it with [`BEGIN_CLAIM`] in its
    /// first pipeline and ends it with `COMMIT` in its last (see
    /// [`Conn::pipeline`]); it is rolled back if `op` fails. On a connection
    /// that [died idle](pool::Pooled::died_idle), `op` runs once more on a new one.
    fn claim_tx<'a, T, F>(&'a self, op: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: for<'c> Fn(&'c mut Conn, &'c Channels) -> BoxFuture<'c, Result<T>> + Send + Sync + 'a,
    {
        async move {
            let mut conn = self.pool.get().await?;
            let mut result = op(&mut conn, &self.channels).await;
            if result.is_err() && conn.died_idle() {
                drop(conn);
                conn = self.pool.get().await?;
                result = op(&mut conn, &self.channels).await;
            }
            if result.is_err() {
                conn.rollback().await;
            }
            result
        }
        .boxed()
    }

    /// Runs `op` outside a transaction (reads).
    fn read<'a, T, F>(&'a self, op: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'a,
        F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<T>> + Send + 'a,
    {
        async move {
            let mut conn = self.pool.get().await?;
            op(&mut conn).await
        }
        .boxed()
    }

    /// Ends the store: later calls fail with `Shutdown`, listeners stop,
    /// idle connections close (loaned ones when their call ends).
    pub(crate) fn close(&self) {
        self.pool.closed.store(true, Ordering::Release);
        self.pool.permits.close();
        let idle = std::mem::take(&mut *self.pool.idle.lock());
        let mut pids = self.pool.pids.lock();
        for conn in &idle {
            pids.remove(&conn.pid);
        }
        self.stop.cancel();
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// What a PostgreSQL schema holds, as far as opening it as a store goes.
#[derive(Debug, PartialEq, Eq)]
enum Contents {
    Empty,
    Weft(u32),
    Foreign,
}

/// Steps' replies to requests (rejected updates, queries from the `weft`
/// command), for their callers: no event records them. Additive: older
/// builds ignore it, so the schema version stays. `activity_tasks_claimable`
/// replaced `activity_tasks_expiry` (on `expires_at` alone, which kept
/// claimed rows in the expiry claim's range).
const ADDED_TABLES: &str = concat!(
    "CREATE TABLE IF NOT EXISTS replies (
    run_id     text NOT NULL,
    request_id text NOT NULL,
    reply      text NOT NULL,
    PRIMARY KEY (run_id, request_id)
);
CREATE TABLE IF NOT EXISTS run_parents (
    run_id             text PRIMARY KEY,
    parent_run_id      text NOT NULL,
    initiated_event_id bigint NOT NULL,
    close_policy       text NOT NULL
);
CREATE INDEX IF NOT EXISTS run_parents_by_parent ON run_parents (parent_run_id, initiated_event_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at, created_seq);
CREATE INDEX IF NOT EXISTS runs_held ON runs (status) WHERE held IS NOT NULL;
CREATE INDEX IF NOT EXISTS activity_tasks_claimable ON activity_tasks (",
    claimable_at!(),
    ") WHERE expires_at IS NOT NULL;
DROP INDEX IF EXISTS activity_tasks_expiry"
);

/// Creates the schema (and the PostgreSQL schema it lives in) on an empty
/// one, checks its version otherwise; returns the PostgreSQL schema's name.
async fn prepare_schema(pool: &Pool, schema: Option<&str>, foreign_tables: bool) -> Result<String> {
    let mut conn = pool.get().await?;
    conn.begin().await?;
    let result = async {
        let name: String = match schema {
            Some(s) => s.to_owned(),
            None => {
                let row = conn.query_opt("SELECT current_schema()", &[]).await?;
                row.and_then(|r| r.try_get::<_, Option<String>>(0).ok().flatten()).unwrap_or_else(|| "public".into())
            }
        };
        conn.query("SELECT pg_advisory_xact_lock($1, hashtext('schema ' || $2))", &[&LOCK_CLASS, &name]).await?;
        if schema.is_some() {
            conn.batch(&format!("CREATE SCHEMA IF NOT EXISTS \"{name}\"")).await?;
        }
        let rows = conn
            .query(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                &[&name],
            )
            .await?;
        let tables: Vec<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_>>()?;
        let contents = if tables.iter().any(|t| t == "weft_schema") {
            let row = conn.query_opt("SELECT max(version) FROM weft_schema", &[]).await?;
            let version: Option<i32> = row.map(|r| get(&r, 0)).transpose()?.flatten();
            Contents::Weft(version.unwrap_or(0).max(0) as u32)
        } else if tables.is_empty() {
            Contents::Empty
        } else {
            Contents::Foreign
        };
        match contents {
            Contents::Weft(v) if v > SCHEMA_VERSION => {
                Err(Error::UnsupportedSchema { found: v, supported: SCHEMA_VERSION })
            }
            Contents::Weft(v) if v == SCHEMA_VERSION => {
                conn.batch(ADDED_TABLES).await?;
                Ok(name)
            }
            Contents::Foreign if !foreign_tables => {
                Err(Error::NotAWeftDatabase { url: pool.url.to_string(), schema: name })
            }
            // Version 1 is the first: an older (unversioned) store cannot exist yet.
            Contents::Weft(v) => Err(Error::store(format!("store schema version {v} cannot be migrated"))),
            Contents::Empty | Contents::Foreign => {
                conn.batch(SCHEMA).await?;
                conn.batch(ADDED_TABLES).await?;
                conn.execute("INSERT INTO weft_schema (version) VALUES ($1)", &[&(SCHEMA_VERSION as i32)]).await?;
                Ok(name)
            }
        }
    }
    .await;
    match result {
        Ok(name) => {
            conn.batch("COMMIT").await?;
            conn.in_tx = false;
            Ok(name)
        }
        Err(e) => {
            conn.rollback().await;
            Err(e)
        }
    }
}

/// The columns [`run_from_row_at`] reads, in order (as `run_sql!` spells them).
const RUN_COLUMNS: &str = "run_id, workflow_id, workflow_type, task_queue, status, created_at, closed_at, \
     next_event_id, held, lease_owner, lease_token, lease_deadline, sticky_owner, held_at";

/// SQL text around the run columns: `run_sql!("SELECT "; " FROM runs")`.
macro_rules! run_sql {
    ($($before:expr),*; $($after:expr),*) => {
        concat!($($before,)* "run_id, workflow_id, workflow_type, task_queue, status, created_at, closed_at, \
             next_event_id, held, lease_owner, lease_token, lease_deadline, sticky_owner, held_at" $(, $after)*)
    };
}

/// How this store's SQL spells a run list's clause.
const POSTGRES: Dialect = Dialect { param: |n| format!("${n}"), seq: "created_seq", byte_ordered_text: false };

/// A list clause's parameters, as the driver takes them.
fn sql_params(values: &[SqlValue]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|value| match value {
            SqlValue::Text(text) => text as &(dyn tokio_postgres::types::ToSql + Sync),
            SqlValue::Int(int) => int,
        })
        .collect()
}

/// A run from a row of [`RUN_COLUMNS`].
fn run_from_row(row: &Row) -> Result<RunRecord> {
    run_from_row_at(row, 0)
}

/// SQL text around the activity columns, in the order [`activity_from_row`] reads them.
macro_rules! activity_sql {
    ($($before:expr),*; $($after:expr),*) => {
        concat!($($before,)* "run_id, seq, workflow_id, task_queue, scheduled_event_id, activity_id, activity_type, \
             input, options, start_to_close, heartbeat_timeout, schedule_to_start, close_deadline, scheduled_at, \
             attempt, running, ready_at, started_at, attempt_deadline, heartbeat_deadline, expires_at, \
             lease_owner, lease_token, lease_deadline, last_failure, heartbeat_details, cancel_requested" $(, $after)*)
    };
}

/// A lease from its three columns (owner, token, deadline) from `first` on:
/// all set, or it is none.
fn lease_cells(row: &Row, first: usize) -> Result<Option<Lease>> {
    let owner: Option<String> = get(row, first)?;
    let token: Option<i64> = get(row, first + 1)?;
    let deadline: Option<i64> = get(row, first + 2)?;
    Ok(match (owner, token, deadline) {
        (Some(owner), Some(token), Some(deadline)) => Some(Lease { owner, token, deadline: from_micros(deadline) }),
        _ => None,
    })
}

/// An activity row, read from the columns `activity_sql!` spells.
fn activity_from_row(row: &Row) -> Result<ActivityTask> {
    let opt_time = |i: usize| -> Result<Option<SystemTime>> { Ok(get::<Option<i64>>(row, i)?.map(from_micros)) };
    let opt_duration = |i: usize| -> Result<Option<Duration>> {
        Ok(get::<Option<i64>>(row, i)?.map(|m| Duration::from_micros(m.max(0) as u64)))
    };
    let lease = lease_cells(row, 21)?;
    Ok(ActivityTask {
        key: ActivityKey { run_id: get(row, 0)?, seq: get::<i64>(row, 1)? as u32 },
        workflow_id: get(row, 2)?,
        task_queue: get(row, 3)?,
        scheduled_event_id: get::<i64>(row, 4)? as u64,
        activity_id: get(row, 5)?,
        activity_type: get(row, 6)?,
        input: Payload::from_json(get(row, 7)?).map_err(Error::store)?,
        options: from_json(get(row, 8)?)?,
        limits: AttemptLimits {
            start_to_close: Duration::from_micros(get::<i64>(row, 9)?.max(0) as u64),
            heartbeat: opt_duration(10)?,
            schedule_to_start: opt_duration(11)?,
            close_deadline: opt_time(12)?,
        },
        scheduled_at: from_micros(get(row, 13)?),
        attempt: get::<i64>(row, 14)? as u32,
        running: get(row, 15)?,
        ready_at: from_micros(get(row, 16)?),
        started_at: opt_time(17)?,
        attempt_deadline: opt_time(18)?,
        heartbeat_deadline: opt_time(19)?,
        expires_at: opt_time(20)?,
        lease,
        last_failure: get::<Option<&str>>(row, 24)?.map(from_json).transpose()?,
        heartbeat_details: get::<Option<String>>(row, 25)?.map(Payload::from_json).transpose().map_err(Error::store)?,
        cancel_requested: get(row, 26)?,
    })
}

/// A timer from `run_id, seq, started_event_id, fire_at`.
fn timer_from_row(row: &Row) -> Result<TimerTask> {
    Ok(TimerTask {
        run_id: get(row, 0)?,
        seq: get::<i64>(row, 1)? as u32,
        started_event_id: get::<i64>(row, 2)? as u64,
        fire_at: from_micros(get(row, 3)?),
    })
}

/// A worker from the `workers` columns in table order.
fn worker_from_row(row: &Row) -> Result<WorkerRecord> {
    Ok(WorkerRecord {
        info: WorkerInfo {
            worker_id: get(row, 0)?,
            host: get(row, 1)?,
            pid: get::<i64>(row, 2)? as u32,
            task_queues: get(row, 3)?,
            workflow_types: get(row, 4)?,
            activity_types: get(row, 5)?,
            started_at: from_micros(get(row, 6)?),
        },
        expires_at: from_micros(get(row, 7)?),
    })
}

/// A `StaleTask` error.
fn stale(run_id: &str, task: impl Into<String>, reason: &'static str) -> Error {
    Error::StaleTask { run_id: run_id.to_owned(), task: task.into(), reason }
}

/// How a `StaleTask` names an activity attempt: `activity 3 attempt 2`.
fn activity_task_name(fence: &ActivityFence) -> String {
    format!("activity {} attempt {}", fence.key.seq, fence.attempt)
}

/// Adds inbox items (run id, item JSON) to open runs, in order, counting
/// them on their runs. The runs' rows must be locked (or be updated here
/// first: the counter update takes their locks before the inserts).
async fn add_inbox(conn: &mut Conn, items: &[(String, String)]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let (runs, json): (Vec<&str>, Vec<&str>) = items.iter().map(|(r, j)| (r.as_str(), j.as_str())).unzip();
    conn.pipeline(
        None,
        &[
            (
                "WITH n AS (SELECT run_id, count(*) AS n FROM unnest($1::text[]) AS i (run_id) GROUP BY run_id)
                 UPDATE runs r SET inbox_count = r.inbox_count + n.n FROM n WHERE r.run_id = n.run_id",
                vec![&runs],
            ),
            ("INSERT INTO inbox (run_id, item) SELECT * FROM unnest($1::text[], $2::text[])", vec![&runs, &json]),
        ],
        None,
    )
    .await?;
    Ok(())
}

/// Fires due timers (`fire_at <= now`) of open runs whose rows it can lock
/// at once (of the given runs, or on the given queues): each timer row is
/// removed and `TimerFired` goes to its run's inbox. Returns the runs'
/// task queues, to be told about the new work. Sent after `begin`, if given
/// (see [`Conn::pipeline`]).
async fn fire_timers(
    conn: &mut Conn,
    begin: Option<&str>,
    queues: Option<&[String]>,
    run: Option<&str>,
    now: i64,
) -> Result<Vec<String>> {
    let mut answers = match (queues, run) {
        (_, Some(run_id)) => {
            conn.pipeline(
                begin,
                &[(
                    "DELETE FROM timers WHERE run_id = $1 AND fire_at <= $2
                     RETURNING run_id, seq, started_event_id, fire_at, task_queue",
                    vec![&run_id, &now],
                )],
                None,
            )
            .await?
        }
        (Some(queues), None) => {
            conn.pipeline(
                begin,
                &[(
                "WITH due AS (
                     SELECT DISTINCT run_id FROM (
                         SELECT run_id FROM timers WHERE task_queue = ANY($1) AND fire_at <= $2 ORDER BY fire_at LIMIT $3
                     ) d
                 ), locked AS (
                     SELECT r.run_id FROM runs r WHERE r.run_id IN (SELECT run_id FROM due) AND r.status = 'running'
                     FOR UPDATE SKIP LOCKED
                 )
                 DELETE FROM timers t USING locked
                 WHERE t.run_id = locked.run_id AND t.fire_at <= $2 AND t.task_queue = ANY($1)
                 RETURNING t.run_id, t.seq, t.started_event_id, t.fire_at, t.task_queue",
                    vec![&queues, &now, &MAX_TIMERS_FIRED],
                )],
                None,
            )
            .await?
        }
        (None, None) => return Ok(Vec::new()),
    };
    let rows = answers.pop().unwrap_or_default();
    let mut fired: Vec<(TimerTask, String)> =
        rows.iter().map(|r| Ok((timer_from_row(r)?, get(r, 4)?))).collect::<Result<_>>()?;
    fired.sort_by(|(a, _), (b, _)| (&a.run_id, a.fire_at, a.seq).cmp(&(&b.run_id, b.fire_at, b.seq)));
    let items = fired
        .iter()
        .map(|(t, _)| Ok((t.run_id.clone(), to_json(&InboxItem::TimerFired { started_event_id: t.started_event_id })?)))
        .collect::<Result<Vec<_>>>()?;
    add_inbox(conn, &items).await?;
    let mut queues: Vec<String> = fired.into_iter().map(|(_, q)| q).collect();
    queues.sort();
    queues.dedup();
    Ok(queues)
}

/// Reads the inbox of `runs`, oldest first, by run.
async fn read_inboxes(conn: &mut Conn, runs: &[String]) -> Result<HashMap<String, Vec<InboxEntry>>> {
    let rows =
        conn.query("SELECT run_id, id, item FROM inbox WHERE run_id = ANY($1) ORDER BY run_id, id", &[&runs]).await?;
    inboxes_of(&rows)
}

/// Inboxes from rows of (run id, id, item), oldest first by run.
fn inboxes_of(rows: &[Row]) -> Result<HashMap<String, Vec<InboxEntry>>> {
    let mut inboxes: HashMap<String, Vec<InboxEntry>> = HashMap::new();
    for row in rows {
        let entry = InboxEntry { id: get(row, 1)?, item: from_json(get(row, 2)?)? };
        inboxes.entry(get(row, 0)?).or_default().push(entry);
    }
    Ok(inboxes)
}

/// Inserts activity rows, one array per column ([`ActivityColumns::params`]).
const INSERT_ACTIVITIES: &str = activity_sql!("INSERT INTO activity_tasks ("; ") SELECT * FROM unnest($1::text[], \
     $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], \
     $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::boolean[], \
     $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[], $23::bigint[], \
     $24::bigint[], $25::text[], $26::text[], $27::boolean[])");

/// Activity rows as one array per column, in [`INSERT_ACTIVITIES`]' order.
struct ActivityColumns(Vec<Box<dyn tokio_postgres::types::ToSql + Send + Sync>>);

impl ActivityColumns {
    fn of(rows: &[ActivityTask]) -> Result<ActivityColumns> {
        type Column = Box<dyn tokio_postgres::types::ToSql + Send + Sync>;
        let time = |t: Option<SystemTime>| t.map(micros);
        let number =
            |f: &dyn Fn(&ActivityTask) -> Option<i64>| -> Column { Box::new(rows.iter().map(f).collect::<Vec<_>>()) };
        let text = |f: &dyn Fn(&ActivityTask) -> Option<String>| -> Column {
            Box::new(rows.iter().map(f).collect::<Vec<_>>())
        };
        let flag = |f: &dyn Fn(&ActivityTask) -> bool| -> Column { Box::new(rows.iter().map(f).collect::<Vec<_>>()) };
        let options = rows.iter().map(|a| to_json(&a.options).map(Some)).collect::<Result<Vec<_>>>()?;
        let failures =
            rows.iter().map(|a| a.last_failure.as_ref().map(to_json).transpose()).collect::<Result<Vec<_>>>()?;
        Ok(ActivityColumns(vec![
            text(&|a| Some(a.key.run_id.clone())),
            number(&|a| Some(a.key.seq as i64)),
            text(&|a| Some(a.workflow_id.clone())),
            text(&|a| Some(a.task_queue.clone())),
            number(&|a| Some(a.scheduled_event_id as i64)),
            text(&|a| Some(a.activity_id.clone())),
            text(&|a| Some(a.activity_type.clone())),
            text(&|a| Some(a.input.as_json().to_owned())),
            Box::new(options),
            number(&|a| Some(duration_micros(a.limits.start_to_close))),
            number(&|a| a.limits.heartbeat.map(duration_micros)),
            number(&|a| a.limits.schedule_to_start.map(duration_micros)),
            number(&|a| time(a.limits.close_deadline)),
            number(&|a| Some(micros(a.scheduled_at))),
            number(&|a| Some(a.attempt as i64)),
            flag(&|a| a.running),
            number(&|a| Some(micros(a.ready_at))),
            number(&|a| time(a.started_at)),
            number(&|a| time(a.attempt_deadline)),
            number(&|a| time(a.heartbeat_deadline)),
            number(&|a| time(a.expires_at)),
            text(&|a| a.lease.as_ref().map(|l| l.owner.clone())),
            number(&|a| a.lease.as_ref().map(|l| l.token)),
            number(&|a| a.lease.as_ref().map(|l| micros(l.deadline))),
            Box::new(failures),
            text(&|a| a.heartbeat_details.as_ref().map(|p| p.as_json().to_owned())),
            flag(&|a| a.cancel_requested),
        ]))
    }

    /// The parameters of [`INSERT_ACTIVITIES`].
    fn params(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        self.0.iter().map(|c| &**c as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
    }
}

/// Runs one claim statement of activity rows (`RETURNING` their columns) as
/// a claim's transaction, in one round trip: the rows claimed.
async fn claim_activities(
    c: &mut Conn,
    channels: &Channels,
    sql: &'static str,
    params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)>,
) -> Result<Vec<ActivityTask>> {
    let mut answers = c.pipeline(Some(BEGIN_CLAIM), &[(sql, params)], Some(channels)).await?;
    answers.pop().unwrap_or_default().iter().map(activity_from_row).collect()
}

/// Locks an open run's row; its task queue, or `None` if it is closed or unknown.
async fn lock_open_run(conn: &mut Conn, run_id: &str) -> Result<Option<String>> {
    let row = conn
        .query_opt("SELECT task_queue FROM runs WHERE run_id = $1 AND status = 'running' FOR UPDATE", &[&run_id])
        .await?;
    row.map(|r| get(&r, 0)).transpose()
}

/// `now + d` in microseconds, saturating.
fn after(now: SystemTime, d: Duration) -> i64 {
    micros(now).saturating_add(duration_micros(d))
}

impl Store for PostgresStore {
    fn exclusive(&self) -> bool {
        false
    }

    fn subscribe(&self, listener: Arc<dyn StoreListener>) {
        let config = self.pool.config.clone();
        let url = self.pool.url.clone();
        let channels = self.channels.clone();
        let pids = self.pool.pids.clone();
        let stop = self.stop.clone();
        let timeout = self.pool.connect_timeout;
        self.runtime.spawn(listen(config, url, timeout, channels, pids, listener, stop));
    }

    fn register_worker(&self, worker: Arc<WorkerInfo>, expires_at: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                c.execute(
                    "INSERT INTO workers (worker_id, host, pid, task_queues, workflow_types, activity_types, started_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (worker_id) DO UPDATE SET host = $2, pid = $3, task_queues = $4, workflow_types = $5,
                         activity_types = $6, started_at = $7, expires_at = $8",
                    &[
                        &worker.worker_id,
                        &worker.host,
                        &(worker.pid as i64),
                        &worker.task_queues,
                        &worker.workflow_types,
                        &worker.activity_types,
                        &micros(worker.started_at),
                        &micros(expires_at),
                    ],
                )
                .await?;
                Ok(())
            }
            .boxed()
        })
    }

    fn heartbeat_worker(
        &self,
        worker_id: String,
        expires_at: SystemTime,
        lease_deadline: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                c.execute(
                    "UPDATE workers SET expires_at = $2 WHERE worker_id = $1",
                    &[&worker_id, &micros(expires_at)],
                )
                .await?;
                c.execute(
                    "UPDATE runs SET lease_deadline = $2 WHERE lease_owner = $1",
                    &[&worker_id, &micros(lease_deadline)],
                )
                .await?;
                Ok(())
            }
            .boxed()
        })
    }

    fn unregister_worker(&self, worker_id: String) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                c.execute("DELETE FROM workers WHERE worker_id = $1", &[&worker_id]).await?;
                let rows = c
                    .query(
                        "UPDATE runs SET
                             lease_owner = CASE WHEN lease_owner = $1 THEN NULL ELSE lease_owner END,
                             lease_token = CASE WHEN lease_owner = $1 THEN NULL ELSE lease_token END,
                             lease_deadline = CASE WHEN lease_owner = $1 THEN NULL ELSE lease_deadline END,
                             sticky_owner = CASE WHEN sticky_owner = $1 THEN NULL ELSE sticky_owner END
                         WHERE lease_owner = $1 OR sticky_owner = $1
                         RETURNING task_queue, inbox_count > 0 AND status = 'running'",
                        &[&worker_id],
                    )
                    .await?;
                for row in &rows {
                    if get::<bool>(row, 1)? {
                        let queue: String = get(row, 0)?;
                        c.notify_work(&queue);
                    }
                }
                Ok(())
            }
            .boxed()
        })
    }

    fn list_workers(&self) -> BoxFuture<'_, Result<Vec<WorkerRecord>>> {
        self.read(move |c| {
            async move {
                let rows = c
                    .query(
                        "SELECT worker_id, host, pid, task_queues, workflow_types, activity_types, started_at, expires_at
                         FROM workers ORDER BY worker_id",
                        &[],
                    )
                    .await?;
                rows.iter().map(worker_from_row).collect()
            }
            .boxed()
        })
    }

    fn expire_all(&self, now: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let now = micros(now);
                c.execute(
                    "UPDATE activity_tasks SET expires_at = least(coalesce(expires_at, $1), $1),
                         lease_deadline = least(lease_deadline, $1)
                     WHERE running",
                    &[&now],
                )
                .await?;
                c.execute(
                    "UPDATE activity_tasks SET lease_deadline = least(lease_deadline, $1)
                     WHERE NOT running AND lease_owner IS NOT NULL",
                    &[&now],
                )
                .await?;
                c.execute(
                    "UPDATE runs SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL
                     WHERE lease_token IS NOT NULL",
                    &[],
                )
                .await?;
                c.execute("DELETE FROM workers", &[]).await?;
                Ok(())
            }
            .boxed()
        })
    }

    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>> {
        self.batcher.write(Write::Create { run, start, reuse }).map(|r| r.map(|_| ())).boxed()
    }

    fn claim_workflow_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<WorkflowTask>>> {
        self.claim_tx(move |c, channels| {
            let worker = worker.clone();
            async move {
                let at = micros(now);
                fire_timers(c, Some(BEGIN_CLAIM), Some(&worker.task_queues), None, at).await?;
                if limit == 0 {
                    c.commit(channels).await?;
                    return Ok(Vec::new());
                }
                let token = new_token();
                let (limit_param, deadline, started_at) =
                    (limit.min(i64::MAX as usize) as i64, after(now, lease), micros(worker.started_at));
                let claim: (&'static str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>) = (
                    // Three branches, each in index order (no sort of a backlog): the
                    // unheld runs sticky to this worker; the held runs it may claim
                    // (held before it started, by `held_at`: for a worker older than
                    // every hold, one probe of `runs_ready_held`); then the others'.
                    // A WITH query is run only as far as it is read, so the LIMIT of
                    // `c` stops the later ones (and their row locks) early.
                    run_sql!("WITH mine AS (
                             SELECT r.run_id AS rid, true AS mine, r.created_at AS since
                             FROM runs r
                             WHERE r.sticky_owner = $3 AND r.status = 'running' AND r.inbox_count > 0
                               AND r.held IS NULL
                               AND r.task_queue = ANY($1) AND r.workflow_type = ANY($2)
                               AND (r.lease_token IS NULL OR r.lease_deadline <= $4)
                             ORDER BY r.created_at
                             LIMIT $5
                             FOR UPDATE OF r SKIP LOCKED
                         ), held AS (
                             SELECT r.run_id AS rid, r.sticky_owner IS NOT DISTINCT FROM $3 AS mine,
                                 r.created_at AS since
                             FROM runs r
                             WHERE r.status = 'running' AND r.inbox_count > 0
                               AND r.held IS NOT NULL AND r.held_at < $7
                               AND r.task_queue = ANY($1) AND r.workflow_type = ANY($2)
                               AND (r.lease_token IS NULL OR r.lease_deadline <= $4)
                               AND (r.sticky_owner IS NULL OR r.sticky_owner = $3 OR NOT EXISTS (
                                   SELECT 1 FROM workers w WHERE w.worker_id = r.sticky_owner AND w.expires_at > $4))
                             ORDER BY r.held_at
                             LIMIT $5
                             FOR UPDATE OF r SKIP LOCKED
                         ), others AS (
                             SELECT r.run_id AS rid, false AS mine, r.created_at AS since
                             FROM runs r
                             WHERE r.status = 'running' AND r.inbox_count > 0 AND r.held IS NULL
                               AND r.task_queue = ANY($1) AND r.workflow_type = ANY($2)
                               AND (r.lease_token IS NULL OR r.lease_deadline <= $4)
                               AND (r.sticky_owner IS NULL OR (r.sticky_owner <> $3 AND NOT EXISTS (
                                   SELECT 1 FROM workers w WHERE w.worker_id = r.sticky_owner AND w.expires_at > $4)))
                             ORDER BY r.created_at
                             LIMIT $5
                             FOR UPDATE OF r SKIP LOCKED
                         ), c AS (
                             SELECT * FROM mine UNION ALL SELECT * FROM held UNION ALL SELECT * FROM others LIMIT $5
                         )
                         UPDATE runs SET lease_owner = $3, lease_token = $8, lease_deadline = $6
                         FROM c WHERE runs.run_id = c.rid
                         RETURNING c.mine, c.since, ";
                    ),
                    vec![
                        &worker.task_queues,
                        &worker.workflow_types,
                        &worker.worker_id,
                        &at,
                        &limit_param,
                        &deadline,
                        &started_at,
                        &token,
                    ],
                );
                let inboxes = (
                    "SELECT i.run_id, i.id, i.item FROM inbox i JOIN runs r ON r.run_id = i.run_id
                     WHERE r.lease_owner = $1 AND r.lease_token = $2 ORDER BY i.run_id, i.id",
                    vec![&worker.worker_id as &(dyn tokio_postgres::types::ToSql + Sync), &token],
                );
                let mut answers = c.pipeline(None, &[claim, inboxes], Some(channels)).await?;
                let inboxes = inboxes_of(&answers.pop().unwrap_or_default())?;
                claimed_tasks(&answers.pop().unwrap_or_default(), 2, inboxes)
            }
            .boxed()
        })
    }

    fn claim_workflow_task(
        &self,
        worker: Arc<WorkerInfo>,
        run_id: String,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<WorkflowTask>>> {
        self.tx(move |c| {
            async move {
                let at = micros(now);
                // Waits for a writer holding the row (an inbox write, a commit):
                // skipping it would miss work that is there at its commit. Its
                // holder may claim it again (a retried step).
                let row = c
                    .query_opt(
                        "SELECT (held IS NULL OR held_at < $3)
                             AND (lease_token IS NULL OR lease_deadline <= $2 OR lease_owner = $4)
                         FROM runs WHERE run_id = $1 AND status = 'running' FOR UPDATE",
                        &[&run_id, &at, &micros(worker.started_at), &worker.worker_id],
                    )
                    .await?;
                match row {
                    Some(row) if get::<bool>(&row, 0)? => {}
                    _ => return Ok(None),
                }
                fire_timers(c, None, None, Some(&run_id), at).await?;
                let rows = c
                    .query(
                        run_sql!("UPDATE runs SET lease_owner = $2, lease_token = $4, lease_deadline = $3
                         WHERE run_id = $1 AND inbox_count > 0
                         RETURNING true, created_at, ";),
                        &[&run_id, &worker.worker_id, &after(now, lease), &new_token()],
                    )
                    .await?;
                let inboxes = read_inboxes(c, &[run_id]).await?;
                Ok(claimed_tasks(&rows, 2, inboxes)?.pop())
            }
            .boxed()
        })
    }

    fn commit_workflow_task(&self, commit: StepCommit) -> BoxFuture<'_, Result<bool>> {
        self.batcher.write(Write::Step(commit)).boxed()
    }

    fn release_workflow_task(&self, run_id: String, token: i64) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let row = c
                    .query_opt(
                        "UPDATE runs SET lease_owner = NULL, lease_token = NULL, lease_deadline = NULL
                         WHERE run_id = $1 AND lease_token = $2
                         RETURNING task_queue, inbox_count > 0 AND held IS NULL",
                        &[&run_id, &token],
                    )
                    .await?;
                let Some(row) = row else {
                    return Err(stale(&run_id, "workflow task", "its lease was lost to another worker"));
                };
                if get::<bool>(&row, 1)? {
                    let queue: String = get(&row, 0)?;
                    c.notify_work(&queue);
                }
                Ok(())
            }
            .boxed()
        })
    }

    fn hold_run(
        &self,
        run_id: String,
        token: Option<i64>,
        reason: Option<String>,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        let held_at = reason.as_ref().map(|_| micros(now));
        self.tx(move |c| {
            async move {
                let row = match token {
                    Some(token) => {
                        let row = c
                            .query_opt(
                                "UPDATE runs SET held = $3, held_at = $4, lease_owner = NULL, lease_token = NULL,
                                     lease_deadline = NULL,
                                     sticky_owner = CASE WHEN $3::text IS NULL THEN sticky_owner END
                                 WHERE run_id = $1 AND lease_token = $2
                                 RETURNING task_queue, inbox_count > 0 AND held IS NULL AND status = 'running'",
                                &[&run_id, &token, &reason, &held_at],
                            )
                            .await?;
                        if row.is_none() {
                            return Err(stale(&run_id, "workflow task", "its lease was lost to another worker"));
                        }
                        row
                    }
                    None => {
                        c.query_opt(
                            "UPDATE runs SET held = $2, held_at = $3,
                                 sticky_owner = CASE WHEN $2::text IS NULL THEN sticky_owner END
                             WHERE run_id = $1
                             RETURNING task_queue, inbox_count > 0 AND held IS NULL AND status = 'running'",
                            &[&run_id, &reason, &held_at],
                        )
                        .await?
                    }
                };
                if let Some(row) = row
                    && get::<bool>(&row, 1)?
                {
                    let queue: String = get(&row, 0)?;
                    c.notify_work(&queue);
                }
                Ok(())
            }
            .boxed()
        })
    }

    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>> {
        self.tx(move |c| {
            async move {
                let Some(queue) = lock_open_run(c, &run_id).await? else { return Ok(false) };
                add_inbox(c, &[(run_id, to_json(&item)?)]).await?;
                c.notify_work(&queue);
                Ok(true)
            }
            .boxed()
        })
    }

    fn claim_activity_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        self.claim_tx(move |c, channels| {
            let worker = worker.clone();
            async move {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let mut tasks = claim_activities(
                    c,
                    channels,
                    activity_sql!("WITH c AS (
                             SELECT run_id AS rid, seq AS rseq, least($3 + start_to_close, close_deadline) AS att
                             FROM activity_tasks
                             WHERE NOT running AND task_queue = ANY($1) AND activity_type = ANY($2) AND ready_at <= $3
                               AND (expires_at IS NULL OR expires_at > $3)
                               AND (lease_token IS NULL OR lease_deadline <= $3)
                             ORDER BY ready_at, queued_seq
                             LIMIT $5
                             FOR UPDATE SKIP LOCKED
                         ), d AS (
                             SELECT c.rid, c.rseq, c.att, CASE WHEN a.heartbeat_timeout IS NULL THEN NULL
                                 ELSE least($3 + a.heartbeat_timeout, c.att) END AS hb
                             FROM c JOIN activity_tasks a ON a.run_id = c.rid AND a.seq = c.rseq
                         )
                         UPDATE activity_tasks a SET attempt = a.attempt + 1, running = true, started_at = $3,
                             attempt_deadline = d.att, heartbeat_deadline = d.hb, expires_at = least(d.att, d.hb),
                             lease_owner = $4, lease_token = $6, lease_deadline = least(d.att, d.hb)
                         FROM d WHERE a.run_id = d.rid AND a.seq = d.rseq
                         RETURNING ";),
                    vec![
                        &worker.task_queues,
                        &worker.activity_types,
                        &micros(now),
                        &worker.worker_id,
                        &(limit.min(i64::MAX as usize) as i64),
                        &new_token(),
                    ],
                )
                .await?;
                tasks.sort_by_key(|t| (t.ready_at, t.scheduled_at));
                Ok(tasks)
            }
            .boxed()
        })
    }

    fn claim_expired_activities(
        &self,
        worker_id: String,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        self.claim_tx(move |c, channels| {
            let worker_id = worker_id.clone();
            async move {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let mut tasks = claim_activities(
                    c,
                    channels,
                    activity_sql!("WITH c AS (
                             SELECT run_id AS rid, seq AS rseq FROM activity_tasks
                             WHERE expires_at IS NOT NULL AND ", claimable_at!(), " <= $1
                             ORDER BY ", claimable_at!(), "
                             LIMIT $4
                             FOR UPDATE SKIP LOCKED
                         )
                         UPDATE activity_tasks a SET lease_owner = $2, lease_token = $5, lease_deadline = $3
                         FROM c WHERE a.run_id = c.rid AND a.seq = c.rseq
                         RETURNING ";),
                    vec![
                        &micros(now),
                        &worker_id,
                        &after(now, lease),
                        &(limit.min(i64::MAX as usize) as i64),
                        &new_token(),
                    ],
                )
                .await?;
                tasks.sort_by_key(|t| t.expires_at);
                Ok(tasks)
            }
            .boxed()
        })
    }

    fn update_activity(&self, fence: ActivityFence, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>> {
        self.tx(move |c| {
            async move {
                let key = &fence.key;
                let seq = key.seq as i64;
                let attempt = fence.attempt as i64;
                let gone = || stale(&key.run_id, activity_task_name(&fence), "the attempt's row is gone or held by another");
                match update {
                    ActivityUpdate::Heartbeat { at, details } => {
                        let row = c
                            .query_opt(
                                "UPDATE activity_tasks SET
                                     heartbeat_deadline = CASE WHEN heartbeat_timeout IS NULL THEN heartbeat_deadline
                                         ELSE least($5 + heartbeat_timeout, attempt_deadline) END,
                                     expires_at = least(attempt_deadline, close_deadline, CASE WHEN heartbeat_timeout IS NULL
                                         THEN heartbeat_deadline ELSE least($5 + heartbeat_timeout, attempt_deadline) END),
                                     lease_deadline = least(attempt_deadline, close_deadline, CASE WHEN heartbeat_timeout IS NULL
                                         THEN heartbeat_deadline ELSE least($5 + heartbeat_timeout, attempt_deadline) END),
                                     heartbeat_details = coalesce($6, heartbeat_details)
                                 WHERE run_id = $1 AND seq = $2 AND attempt = $3 AND lease_token = $4 AND running
                                 RETURNING cancel_requested",
                                &[&key.run_id, &seq, &attempt, &fence.token, &micros(at), &details.as_ref().map(Payload::as_json)],
                            )
                            .await?;
                        let Some(row) = row else { return Err(gone()) };
                        return get(&row, 0);
                    }
                    ActivityUpdate::Retry { retry_at, failure, heartbeat_details } => {
                        let row = c
                            .query_opt(
                                "UPDATE activity_tasks SET running = false, ready_at = $5, started_at = NULL,
                                     queued_seq = nextval('activity_queue_seq'),
                                     attempt_deadline = NULL, heartbeat_deadline = NULL,
                                     expires_at = least(CASE WHEN schedule_to_start IS NULL THEN NULL
                                         ELSE $5 + schedule_to_start END, close_deadline),
                                     lease_owner = NULL, lease_token = NULL, lease_deadline = NULL, last_failure = $6,
                                     heartbeat_details = coalesce($7, heartbeat_details)
                                 WHERE run_id = $1 AND seq = $2 AND attempt = $3 AND lease_token = $4
                                 RETURNING task_queue",
                                &[
                                    &key.run_id,
                                    &seq,
                                    &attempt,
                                    &fence.token,
                                    &micros(retry_at),
                                    &to_json(&failure)?,
                                    &heartbeat_details.as_ref().map(Payload::as_json),
                                ],
                            )
                            .await?;
                        let Some(row) = row else { return Err(gone()) };
                        let queue: String = get(&row, 0)?;
                        c.notify_work(&queue);
                    }
                    ActivityUpdate::Restart { failure, heartbeat_details, next } => {
                        let row = c
                            .query_opt(
                                "UPDATE activity_tasks SET attempt = attempt + 1, running = true, ready_at = $5,
                                     started_at = $5, attempt_deadline = $6, heartbeat_deadline = $7,
                                     expires_at = $8, lease_owner = $9, lease_token = $10, lease_deadline = $8,
                                     last_failure = $11, heartbeat_details = coalesce($12, heartbeat_details)
                                 WHERE run_id = $1 AND seq = $2 AND attempt = $3 AND lease_token = $4
                                 RETURNING cancel_requested",
                                &[
                                    &key.run_id,
                                    &seq,
                                    &attempt,
                                    &fence.token,
                                    &micros(next.started_at),
                                    &micros(next.attempt_deadline),
                                    &next.heartbeat_deadline.map(micros),
                                    &micros(next.lease.deadline),
                                    &next.lease.owner,
                                    &next.lease.token,
                                    &to_json(&failure)?,
                                    &heartbeat_details.as_ref().map(Payload::as_json),
                                ],
                            )
                            .await?;
                        let Some(row) = row else { return Err(gone()) };
                        return get(&row, 0);
                    }
                    ActivityUpdate::Close { last_failure, outcome } => {
                        // The run's row first: the lock order of every inbox write.
                        let Some(queue) = lock_open_run(c, &key.run_id).await? else { return Err(gone()) };
                        let row = c
                            .query_opt(
                                "DELETE FROM activity_tasks WHERE run_id = $1 AND seq = $2 AND attempt = $3
                                     AND lease_token = $4
                                 RETURNING scheduled_event_id, started_at",
                                &[&key.run_id, &seq, &attempt, &fence.token],
                            )
                            .await?;
                        let Some(row) = row else { return Err(gone()) };
                        let item = InboxItem::ActivityClosed {
                            scheduled_event_id: get::<i64>(&row, 0)? as u64,
                            attempt: fence.attempt,
                            last_failure,
                            outcome,
                            started_at: get::<Option<i64>>(&row, 1)?.map(from_micros),
                        };
                        add_inbox(c, &[(key.run_id.clone(), to_json(&item)?)]).await?;
                        c.notify_work(&queue);
                    }
                }
                Ok(false)
            }
            .boxed()
        })
    }

    fn cancel_queued_activity(&self, key: ActivityKey) -> BoxFuture<'_, Result<bool>> {
        self.tx(move |c| {
            async move {
                let Some(queue) = lock_open_run(c, &key.run_id).await? else { return Ok(false) };
                let row = c
                    .query_opt(
                        "DELETE FROM activity_tasks WHERE run_id = $1 AND seq = $2 AND NOT running AND lease_token IS NULL
                         RETURNING scheduled_event_id, attempt, last_failure",
                        &[&key.run_id, &(key.seq as i64)],
                    )
                    .await?;
                let Some(row) = row else { return Ok(false) };
                let item = InboxItem::ActivityClosed {
                    scheduled_event_id: get::<i64>(&row, 0)? as u64,
                    attempt: get::<i64>(&row, 1)? as u32,
                    last_failure: get::<Option<&str>>(&row, 2)?.map(from_json).transpose()?,
                    outcome: ActivityOutcome::Canceled,
                    // Queued: no attempt runs (one that ran before a retry has ended).
                    started_at: None,
                };
                add_inbox(c, &[(key.run_id.clone(), to_json(&item)?)]).await?;
                c.notify_work(&queue);
                Ok(true)
            }
            .boxed()
        })
    }

    fn next_due(&self, worker: Arc<WorkerInfo>, now: SystemTime) -> BoxFuture<'_, Result<Option<SystemTime>>> {
        self.read(move |c| {
            async move {
                let row = c
                    .query_opt(
                        concat!(
                            "SELECT least(
                             (SELECT min(fire_at) FROM timers WHERE task_queue = ANY($1) AND fire_at > $3),
                             (SELECT min(ready_at) FROM activity_tasks
                              WHERE NOT running AND task_queue = ANY($1) AND activity_type = ANY($2) AND ready_at > $3),
                             (SELECT min(",
                            claimable_at!(),
                            ") FROM activity_tasks
                              WHERE expires_at IS NOT NULL AND ",
                            claimable_at!(),
                            " > $3),
                             (SELECT min(lease_deadline) FROM runs
                              WHERE lease_owner IS NOT NULL AND task_queue = ANY($1) AND lease_deadline > $3),
                             (SELECT min(expires_at) FROM workers WHERE expires_at > $3))"
                        ),
                        &[&worker.task_queues, &worker.activity_types, &micros(now)],
                    )
                    .await?;
                Ok(row.map(|r| get::<Option<i64>>(&r, 0)).transpose()?.flatten().map(from_micros))
            }
            .boxed()
        })
    }

    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |c| {
            async move {
                let row = c.query_opt(run_sql!("SELECT "; " FROM runs WHERE run_id = $1"), &[&run_id]).await?;
                row.as_ref().map(run_from_row).transpose()
            }
            .boxed()
        })
    }

    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.read(move |c| {
            async move {
                let row = c
                    .query_opt(
                        run_sql!("SELECT "; " FROM runs WHERE workflow_id = $1
                             ORDER BY status = 'running' DESC, created_at DESC, created_seq DESC LIMIT 1"),
                        &[&workflow_id],
                    )
                    .await?;
                row.as_ref().map(run_from_row).transpose()
            }
            .boxed()
        })
    }

    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<ListedRun>>> {
        self.read(move |c| {
            async move {
                let (clause, values) = filter.sql(POSTGRES, Shape::List);
                let sql = format!("SELECT created_seq, {RUN_COLUMNS} FROM runs{clause}");
                let rows = c.query_built(&sql, &sql_params(&values)).await?;
                let mut runs = Vec::with_capacity(rows.len());
                for row in &rows {
                    let position = ListPosition { created_at: get(row, 6)?, seq: get(row, 0)? };
                    runs.push(ListedRun { run: run_from_row_at(row, 1)?, position });
                }
                Ok(runs)
            }
            .boxed()
        })
    }

    fn delete_closed_runs(&self, closed_before: SystemTime, limit: usize) -> BoxFuture<'_, Result<usize>> {
        let before = micros(closed_before);
        let limit = limit.min(i64::MAX as usize) as i64;
        self.tx(move |c| {
            async move {
                // Rows another worker's sweep holds are left to it.
                let pick = format!("{} FOR UPDATE SKIP LOCKED", expired_runs_sql(POSTGRES));
                let ids: Vec<String> = c
                    .query_built(&pick, &[&before, &limit])
                    .await?
                    .iter()
                    .map(|row| get(row, 0))
                    .collect::<Result<_>>()?;
                if ids.is_empty() {
                    return Ok(0);
                }
                for table in RUN_TABLES.iter().chain(&["runs"]) {
                    c.query_built(&format!("DELETE FROM {table} WHERE run_id = ANY($1)"), &[&ids]).await?;
                }
                Ok(ids.len())
            }
            .boxed()
        })
    }

    fn count_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunCounts>> {
        self.read(move |c| {
            async move {
                let mut counts = RunCounts::default();
                for shape in [Shape::Count, Shape::Held] {
                    let (clause, values) = filter.sql(POSTGRES, shape);
                    for row in c.query_built(&shape.count_statement(&clause), &sql_params(&values)).await? {
                        counts.add_row(shape, &get::<String>(&row, 0)?, get(&row, 1)?)?;
                    }
                }
                Ok(counts)
            }
            .boxed()
        })
    }

    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>> {
        self.read(move |c| {
            async move {
                let rows = c
                    .query(
                        "SELECT event_id, data, checksum FROM events WHERE run_id = $1 AND event_id > $2 ORDER BY event_id",
                        &[&run_id, &(after.min(i64::MAX as u64) as i64)],
                    )
                    .await?;
                let mut events = Vec::with_capacity(rows.len());
                for (expected, row) in (after + 1..).zip(&rows) {
                    let stored = StoredEvent { event_id: get(row, 0)?, data: get(row, 1)?, checksum: get(row, 2)? };
                    events.push(check_event(&run_id, &workflow_id, expected, stored)?);
                }
                Ok(events)
            }
            .boxed()
        })
    }

    fn reply(&self, run_id: String, request_id: String) -> BoxFuture<'_, Result<Option<ReplyBody>>> {
        self.read(move |c| {
            async move {
                let row = c
                    .query_opt(
                        "SELECT reply FROM replies WHERE run_id = $1 AND request_id = $2",
                        &[&run_id, &request_id],
                    )
                    .await?;
                row.map(|r| get::<String>(&r, 0).and_then(|j| from_json(&j))).transpose()
            }
            .boxed()
        })
    }

    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>> {
        self.read(move |c| {
            async move {
                let rows = c
                    .query(activity_sql!("SELECT "; " FROM activity_tasks WHERE run_id = $1 ORDER BY seq"), &[&run_id])
                    .await?;
                let activities = rows.iter().map(activity_from_row).collect::<Result<_>>()?;
                let rows = c
                    .query(
                        "SELECT run_id, seq, started_event_id, fire_at FROM timers WHERE run_id = $1 ORDER BY seq",
                        &[&run_id],
                    )
                    .await?;
                let timers = rows.iter().map(timer_from_row).collect::<Result<_>>()?;
                Ok((activities, timers))
            }
            .boxed()
        })
    }

    fn close(&self) {
        PostgresStore::close(self);
    }
}

/// The tasks of claimed runs (rows: `mine`, `since`, then the run's columns
/// from `offset` on), sticky ones first, then oldest first, with their inboxes.
fn claimed_tasks(
    rows: &[Row],
    offset: usize,
    mut inboxes: HashMap<String, Vec<InboxEntry>>,
) -> Result<Vec<WorkflowTask>> {
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let mine: bool = get(row, 0)?;
        let since: i64 = get(row, 1)?;
        let run = run_from_row_at(row, offset)?;
        claimed.push((!mine, since, run));
    }
    claimed.sort_by_key(|&(others, since, _)| (others, since));
    claimed
        .into_iter()
        .map(|(_, _, run)| {
            let lease = run.lease.clone().ok_or_else(|| Error::store("a claimed run has no lease"))?;
            let inbox = inboxes.remove(&run.run_id).unwrap_or_default();
            Ok(WorkflowTask { run, inbox, lease })
        })
        .collect()
}

/// A run read from the columns of `row` from `offset` on.
fn run_from_row_at(row: &Row, offset: usize) -> Result<RunRecord> {
    if row.len() != offset + RUN_COLUMNS.split(", ").count() {
        return Err(Error::store("a query returned an unexpected run row shape"));
    }
    let at = |i: usize| offset + i;
    let status: String = get(row, at(4))?;
    let run_id: String = get(row, at(0))?;
    let status =
        RunStatus::parse(&status).ok_or_else(|| Error::store(format!("run {run_id} has unknown status {status:?}")))?;
    let lease = lease_cells(row, at(9))?;
    Ok(RunRecord {
        run_id,
        workflow_id: get(row, at(1))?,
        workflow_type: get(row, at(2))?,
        task_queue: get(row, at(3))?,
        status,
        created_at: from_micros(get(row, at(5))?),
        closed_at: get::<Option<i64>>(row, at(6))?.map(from_micros),
        next_event_id: get::<i64>(row, at(7))? as u64,
        held: get(row, at(8))?,
        held_at: get::<Option<i64>>(row, at(13))?.map(from_micros),
        lease,
        sticky: get(row, at(12))?,
    })
}
