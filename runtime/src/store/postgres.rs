//! The PostgreSQL store: many worker processes on many machines share one database.
//!
//! Every [`Store`] call is one transaction on a connection from a small pool
//! of our own ([`Pool`]): each connection prepares a statement once and keeps
//! it. Workers claim rows with `FOR UPDATE SKIP LOCKED`, so claimers never
//! wait for each other; fenced writes lock the row they check first
//! (`SELECT ... FOR UPDATE`, or an `UPDATE ... WHERE lease_token = $n`), so
//! a stale write fails with [`Error::StaleTask`] before it writes anything.
//! Every transaction that touches a run's child rows (events, inbox, timers,
//! and activities whose close feeds the inbox) locks the `runs` row first,
//! which keeps lock order fixed and deadlocks out.
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

// Nothing opens the store until the engine builder does (the lead wires it).
#![cfg_attr(not(test), allow(dead_code))]

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, NoTls, Row, Statement};
use tokio_util::sync::CancellationToken;

use super::codec::{StoredEvent, check_event, checksum, duration_micros, from_json, from_micros, micros, to_json};
use super::{
    ActivityFence, ActivityKey, ActivityOutcome, ActivityTask, ActivityUpdate, AttemptLimits, Delivery, Durability,
    InboxEntry, InboxItem, Lease, RunFilter, RunRecord, RunStart, RunStatus, StepCommit, StepFence, Store,
    StoreListener, TimerTask, WorkerInfo, WorkerRecord, WorkflowIdReusePolicy, WorkflowTask,
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

/// Server-side bounds on every session, so that no call waits forever on a
/// lock or a slow statement (each failure is transient: the engine retries).
const SESSION_LIMITS: &str = "SET statement_timeout = '60s'; SET lock_timeout = '10s'; \
     SET idle_in_transaction_session_timeout = '60s'";

/// Version 1 of the schema. All times are microseconds since the Unix epoch;
/// all durations microseconds.
pub(crate) const SCHEMA: &str = "
CREATE TABLE weft_schema (
    version integer NOT NULL
);
CREATE TABLE runs (
    run_id         text PRIMARY KEY,
    workflow_id    text NOT NULL,
    workflow_type  text NOT NULL,
    task_queue     text NOT NULL,
    status         text NOT NULL,
    created_at     bigint NOT NULL,
    closed_at      bigint,
    next_event_id  bigint NOT NULL,
    held           text,
    inbox_count    bigint NOT NULL DEFAULT 0,
    lease_owner    text,
    lease_token    bigint NOT NULL DEFAULT 0,
    lease_deadline bigint,
    sticky_owner   text,
    created_seq    bigserial NOT NULL
);
CREATE UNIQUE INDEX runs_open_workflow_id ON runs (workflow_id) WHERE status = 'running';
CREATE INDEX runs_by_workflow_id ON runs (workflow_id, created_at);
CREATE INDEX runs_by_created_at ON runs (created_at, created_seq);
CREATE INDEX runs_ready ON runs (task_queue, created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_ready_by_age ON runs (created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_ready_sticky ON runs (sticky_owner, created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_leased ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_lease_deadline ON runs (task_queue, lease_deadline) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_sticky ON runs (sticky_owner) WHERE sticky_owner IS NOT NULL;
CREATE TABLE events (
    run_id     text NOT NULL,
    event_id   bigint NOT NULL,
    event_type text NOT NULL,
    data       text NOT NULL,
    checksum   bigint NOT NULL,
    PRIMARY KEY (run_id, event_id)
);
CREATE TABLE activity_tasks (
    run_id             text NOT NULL,
    seq                bigint NOT NULL,
    workflow_id        text NOT NULL,
    task_queue         text NOT NULL,
    scheduled_event_id bigint NOT NULL,
    activity_id        text NOT NULL,
    activity_type      text NOT NULL,
    input              text NOT NULL,
    options            text NOT NULL,
    start_to_close     bigint NOT NULL,
    heartbeat_timeout  bigint,
    schedule_to_start  bigint,
    close_deadline     bigint,
    scheduled_at       bigint NOT NULL,
    attempt            bigint NOT NULL,
    running            boolean NOT NULL,
    ready_at           bigint NOT NULL,
    started_at         bigint,
    attempt_deadline   bigint,
    heartbeat_deadline bigint,
    expires_at         bigint,
    lease_owner        text,
    lease_token        bigint NOT NULL DEFAULT 0,
    lease_deadline     bigint,
    last_failure       text,
    heartbeat_details  text,
    cancel_requested   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX activity_tasks_ready ON activity_tasks (task_queue, activity_type, ready_at) WHERE NOT running;
CREATE INDEX activity_tasks_ready_by_age ON activity_tasks (ready_at, scheduled_at) WHERE NOT running;
CREATE INDEX activity_tasks_expiry ON activity_tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE timers (
    run_id           text NOT NULL,
    seq              bigint NOT NULL,
    task_queue       text NOT NULL,
    started_event_id bigint NOT NULL,
    fire_at          bigint NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX timers_due ON timers (task_queue, fire_at);
CREATE TABLE inbox (
    id     bigserial PRIMARY KEY,
    run_id text NOT NULL,
    item   text NOT NULL
);
CREATE INDEX inbox_by_run ON inbox (run_id, id);
CREATE TABLE workers (
    worker_id      text PRIMARY KEY,
    host           text NOT NULL,
    pid            bigint NOT NULL,
    task_queues    text[] NOT NULL,
    workflow_types text[] NOT NULL,
    activity_types text[] NOT NULL,
    started_at     bigint NOT NULL,
    expires_at     bigint NOT NULL
);
";

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

/// A driver error with the (redacted) URL of the server it came from.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL at {url}")]
struct PgError {
    url: Arc<str>,
    #[source]
    source: tokio_postgres::Error,
}

/// `url` with its password replaced by `***`: the `user:password@` of a URL
/// and every `password=` value (a URL's query, or a key-value string).
pub(crate) fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        let end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..end].rfind('@').map(|i| rest + i)
            && let Some(colon) = out[rest..at].find(':').map(|i| rest + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    let mut from = 0;
    while let Some(i) = out[from..].to_ascii_lowercase().find("password=").map(|i| from + i + "password=".len()) {
        let value = &out[i..];
        let len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |j| j + 2)
        } else {
            value.find(['&', ' ']).unwrap_or(value.len())
        };
        out.replace_range(i..i + len, "***");
        from = i + 3;
    }
    out
}

/// One pooled connection and its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The server process behind it: its own notifications are dropped.
    pid: i32,
    /// Inside `BEGIN`: a connection dropped in this state is closed, not reused.
    in_tx: bool,
    /// Notifications to send at commit: (work?, payload).
    notes: Vec<(bool, String)>,
    url: Arc<str>,
}

impl Conn {
    /// A driver error as a store error, with the server's redacted URL.
    fn err(&self, e: tokio_postgres::Error) -> Error {
        Error::store(PgError { url: self.url.clone(), source: e })
    }

    /// The statement for `sql`, prepared on this connection once.
    async fn stmt(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(|e| self.err(e))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// Runs a prepared query; all its rows.
    async fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.stmt(sql).await?;
        self.client.query(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs a prepared query; its one row, if any.
    async fn query_opt(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let s = self.stmt(sql).await?;
        self.client.query_opt(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs a prepared statement; the rows it changed.
    async fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.stmt(sql).await?;
        self.client.execute(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs statements unprepared (transaction control, session settings, DDL).
    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).await.map_err(|e| self.err(e))
    }

    /// New work on `task_queue`, announced at commit.
    fn notify_work(&mut self, task_queue: &str) {
        if !self.notes.iter().any(|(work, q)| *work && q == task_queue) {
            self.notes.push((true, task_queue.to_owned()));
        }
    }

    /// Run `run_id` closed, announced at commit.
    fn notify_closed(&mut self, run_id: &str) {
        self.notes.push((false, run_id.to_owned()));
    }

    /// Starts a transaction.
    async fn begin(&mut self) -> Result<()> {
        self.in_tx = true;
        self.notes.clear();
        self.batch("BEGIN").await
    }

    /// Sends the notifications gathered (they are delivered at commit), then commits.
    async fn commit(&mut self, channels: &Channels) -> Result<()> {
        if !self.notes.is_empty() {
            let (names, payloads): (Vec<&str>, Vec<String>) = std::mem::take(&mut self.notes)
                .into_iter()
                .map(|(work, p)| (if work { &*channels.work } else { &*channels.closed }, p))
                .unzip();
            let s = self.stmt("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n (c, p)").await?;
            self.client.execute(&s, &[&names, &payloads]).await.map_err(|e| self.err(e))?;
        }
        self.batch("COMMIT").await?;
        self.in_tx = false;
        Ok(())
    }

    /// Rolls back; a connection that cannot is discarded when it goes back to the pool.
    async fn rollback(&mut self) {
        self.notes.clear();
        if self.batch("ROLLBACK").await.is_ok() {
            self.in_tx = false;
        }
    }
}

/// The channels a store's notifications go on (one pair per PostgreSQL schema).
#[derive(Debug)]
struct Channels {
    work: String,
    closed: String,
}

/// A fixed-size pool: a semaphore of `size` permits and the idle connections.
/// A call takes a permit (waiting at most `acquire_timeout`), then an idle
/// connection that is still open, or opens one. A connection goes back idle
/// when its call ends, unless it closed (a server restart) or was dropped
/// inside a transaction (a cancelled call).
struct Pool {
    config: tokio_postgres::Config,
    url: Arc<str>,
    /// Run on each new connection: durability, search path, limits.
    setup: String,
    size: usize,
    permits: Semaphore,
    idle: Mutex<Vec<Conn>>,
    /// The backend pids of our open connections.
    pids: Arc<Mutex<HashSet<i32>>>,
    connect_timeout: Duration,
    acquire_timeout: Duration,
    closed: AtomicBool,
    /// After a transient connection failure: no new connection is tried
    /// before this, so a restarting server is not stormed (see [`Pool::open`]).
    backoff: Mutex<Option<Backoff>>,
}

/// The pool's reconnection backoff: doubling from [`BACKOFF_MIN`] to
/// [`BACKOFF_MAX`] while connections fail, cleared by one that opens.
#[derive(Debug)]
struct Backoff {
    until: std::time::Instant,
    delay: Duration,
    /// The failure, for the error of a call that finds the pool backing off.
    reason: String,
}

/// The first reconnection backoff.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest reconnection backoff.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A connection on loan from the [`Pool`].
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Whether the connection was idle in the pool (so it may have died unnoticed).
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("a loaned connection is present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a loaned connection is present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if conn.in_tx || conn.client.is_closed() || self.pool.closed.load(Ordering::Acquire) {
                self.pool.pids.lock().remove(&conn.pid);
            } else {
                self.pool.idle.lock().push(conn);
            }
        }
    }
}

impl Pool {
    /// Loans a connection: `PoolExhausted` after `acquire_timeout`, `Shutdown` once closed.
    async fn get(&self) -> Result<Pooled<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Shutdown),
            Err(_) => {
                return Err(Error::PoolExhausted {
                    url: self.url.to_string(),
                    size: self.size,
                    waited: self.acquire_timeout,
                });
            }
        };
        loop {
            let Some(conn) = self.idle.lock().pop() else { break };
            if !conn.client.is_closed() {
                return Ok(Pooled { pool: self, conn: Some(conn), reused: true, _permit: permit });
            }
            self.pids.lock().remove(&conn.pid);
        }
        let conn = self.open().await?;
        Ok(Pooled { pool: self, conn: Some(conn), reused: false, _permit: permit })
    }

    /// Opens a connection (bounded by the connect timeout) and sets it up.
    /// Within a backoff, fails at once with a transient `StoreConnect`.
    async fn open(&self) -> Result<Conn> {
        if let Some(b) = &*self.backoff.lock() {
            let now = std::time::Instant::now();
            if now < b.until {
                let reason =
                    format!("not reconnecting for {:?} after a failed connection: {}", b.until - now, b.reason);
                let source = std::io::Error::new(std::io::ErrorKind::WouldBlock, reason);
                return Err(Error::StoreConnect { url: self.url.to_string(), source: source.into() });
            }
        }
        let client = match open_client(&self.config, &self.url, self.connect_timeout).await {
            Ok(client) => {
                self.backoff.lock().take();
                client
            }
            Err(e) => {
                if e.is_transient() {
                    let mut backoff = self.backoff.lock();
                    let delay = backoff.as_ref().map_or(BACKOFF_MIN, |b| (b.delay * 2).min(BACKOFF_MAX));
                    let until = std::time::Instant::now() + delay;
                    *backoff = Some(Backoff { until, delay, reason: crate::ErrorChain(&e).to_string() });
                }
                return Err(e);
            }
        };
        let mut conn =
            Conn { client, statements: HashMap::new(), pid: 0, in_tx: false, notes: Vec::new(), url: self.url.clone() };
        conn.batch(&self.setup).await?;
        let row = conn.query_opt("SELECT pg_backend_pid()", &[]).await?;
        conn.pid = row.map(|r| get::<i32>(&r, 0)).transpose()?.unwrap_or(0);
        self.pids.lock().insert(conn.pid);
        Ok(conn)
    }
}

/// Connects to the server, its driver task spawned; errors typed (refused
/// credentials, unreachable server) and carrying the redacted URL.
async fn open_client(config: &tokio_postgres::Config, url: &Arc<str>, timeout: Duration) -> Result<Client> {
    let connecting = config.connect(NoTls);
    let (client, connection) = match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return Err(connect_error(config, url, e)),
        Err(_) => {
            let source = std::io::Error::new(std::io::ErrorKind::TimedOut, format!("connecting took over {timeout:?}"));
            return Err(Error::StoreConnect { url: url.to_string(), source: source.into() });
        }
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A failed connection as a typed error: `StoreAuth` for refused credentials, `StoreConnect` otherwise.
fn connect_error(config: &tokio_postgres::Config, url: &Arc<str>, e: tokio_postgres::Error) -> Error {
    match e.code().map(|c| c.code()) {
        // invalid_password, invalid_authorization_specification
        Some("28P01" | "28000") => Error::StoreAuth {
            url: url.to_string(),
            user: config.get_user().unwrap_or_default().to_owned(),
            source: Box::new(e),
        },
        _ => Error::StoreConnect { url: url.to_string(), source: Box::new(e) },
    }
}

/// A column's value; a type mismatch is a store error, never a panic.
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(Error::store)
}

/// The PostgreSQL implementation of [`Store`].
pub(crate) struct PostgresStore {
    pool: Pool,
    channels: Arc<Channels>,
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

/// Opens the store: connects, then creates, migrates or refuses the schema.
pub(crate) async fn connect(options: PostgresOptions) -> Result<PostgresStore> {
    PostgresStore::connect(options).await
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
        let setup = format!("SET synchronous_commit = {sync}; {SESSION_LIMITS}{schema_sql}");
        let pool = Pool {
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
        };
        let schema = prepare_schema(&pool, options.schema.as_deref(), options.foreign_tables).await?;
        let channels = match &options.schema {
            Some(s) => Channels { work: format!("weft_work_{s}"), closed: format!("weft_closed_{s}") },
            None => Channels { work: "weft_work".into(), closed: "weft_closed".into() },
        };
        Ok(PostgresStore {
            pool,
            channels: Arc::new(channels),
            runtime: tokio::runtime::Handle::current(),
            stop: CancellationToken::new(),
            schema,
        })
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
                // An idle connection that died unnoticed (a server restart):
                // nothing ran, so a new connection tries once more.
                if !(conn.reused && conn.client.is_closed()) {
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
            Contents::Weft(v) if v == SCHEMA_VERSION => Ok(name),
            Contents::Foreign if !foreign_tables => {
                Err(Error::NotAWeftDatabase { url: pool.url.to_string(), schema: name })
            }
            // Version 1 is the first: an older (unversioned) store cannot exist yet.
            Contents::Weft(v) => Err(Error::store(format!("store schema version {v} cannot be migrated"))),
            Contents::Empty | Contents::Foreign => {
                conn.batch(SCHEMA).await?;
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
     next_event_id, held, lease_owner, lease_token, lease_deadline, sticky_owner";

/// SQL text around the run columns: `run_sql!("SELECT "; " FROM runs")`.
macro_rules! run_sql {
    ($($before:literal)*; $($after:literal)*) => {
        concat!($($before,)* "run_id, workflow_id, workflow_type, task_queue, status, created_at, closed_at, \
             next_event_id, held, lease_owner, lease_token, lease_deadline, sticky_owner" $(, $after)*)
    };
}

/// A run from a row of [`RUN_COLUMNS`].
fn run_from_row(row: &Row) -> Result<RunRecord> {
    run_from_row_at(row, 0)
}

/// SQL text around the activity columns, in the order [`activity_from_row`] reads them.
macro_rules! activity_sql {
    ($($before:literal)*; $($after:literal)*) => {
        concat!($($before,)* "run_id, seq, workflow_id, task_queue, scheduled_event_id, activity_id, activity_type, \
             input, options, start_to_close, heartbeat_timeout, schedule_to_start, close_deadline, scheduled_at, \
             attempt, running, ready_at, started_at, attempt_deadline, heartbeat_deadline, expires_at, \
             lease_owner, lease_token, lease_deadline, last_failure, heartbeat_details, cancel_requested" $(, $after)*)
    };
}

/// An activity row, read from the columns `activity_sql!` spells.
fn activity_from_row(row: &Row) -> Result<ActivityTask> {
    let opt_time = |i: usize| -> Result<Option<SystemTime>> { Ok(get::<Option<i64>>(row, i)?.map(from_micros)) };
    let opt_duration = |i: usize| -> Result<Option<Duration>> {
        Ok(get::<Option<i64>>(row, i)?.map(|m| Duration::from_micros(m.max(0) as u64)))
    };
    let lease = match get::<Option<String>>(row, 21)? {
        Some(owner) => Some(Lease {
            owner,
            token: get(row, 22)?,
            deadline: from_micros(get::<Option<i64>>(row, 23)?.unwrap_or(0)),
        }),
        None => None,
    };
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
    conn.execute(
        "WITH n AS (SELECT run_id, count(*) AS n FROM unnest($1::text[]) AS i (run_id) GROUP BY run_id)
         UPDATE runs r SET inbox_count = r.inbox_count + n.n FROM n WHERE r.run_id = n.run_id",
        &[&runs],
    )
    .await?;
    conn.execute("INSERT INTO inbox (run_id, item) SELECT * FROM unnest($1::text[], $2::text[])", &[&runs, &json])
        .await?;
    Ok(())
}

/// Fires due timers (`fire_at <= now`) of open runs whose rows it can lock
/// at once (of the given runs, or on the given queues): each timer row is
/// removed and `TimerFired` goes to its run's inbox. Returns the runs'
/// task queues, to be told about the new work.
async fn fire_timers(conn: &mut Conn, queues: Option<&[String]>, run: Option<&str>, now: i64) -> Result<Vec<String>> {
    let rows = match (queues, run) {
        (_, Some(run_id)) => {
            conn.query(
                "DELETE FROM timers WHERE run_id = $1 AND fire_at <= $2
                 RETURNING run_id, seq, started_event_id, fire_at, task_queue",
                &[&run_id, &now],
            )
            .await?
        }
        (Some(queues), None) => {
            conn.query(
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
                &[&queues, &now, &MAX_TIMERS_FIRED],
            )
            .await?
        }
        (None, None) => return Ok(Vec::new()),
    };
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
    let mut inboxes: HashMap<String, Vec<InboxEntry>> = HashMap::new();
    for row in &rows {
        let entry = InboxEntry { id: get(row, 1)?, item: from_json(get(row, 2)?)? };
        inboxes.entry(get(row, 0)?).or_default().push(entry);
    }
    Ok(inboxes)
}

/// Inserts activity rows as the step gives them, in one statement (one
/// array per column).
async fn insert_activities(conn: &mut Conn, rows: &[ActivityTask]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let time = |t: Option<SystemTime>| t.map(micros);
    let column = |f: &dyn Fn(&ActivityTask) -> Option<i64>| rows.iter().map(f).collect::<Vec<_>>();
    let text = |f: &dyn Fn(&ActivityTask) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let flag = |f: &dyn Fn(&ActivityTask) -> bool| rows.iter().map(f).collect::<Vec<_>>();
    let options = rows.iter().map(|a| to_json(&a.options).map(Some)).collect::<Result<Vec<_>>>()?;
    let failures = rows.iter().map(|a| a.last_failure.as_ref().map(to_json).transpose()).collect::<Result<Vec<_>>>()?;
    conn.execute(
        activity_sql!("INSERT INTO activity_tasks ("; ") SELECT * FROM unnest($1::text[], $2::bigint[], \
             $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], \
             $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::boolean[], \
             $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[], $23::bigint[], \
             $24::bigint[], $25::text[], $26::text[], $27::boolean[])"),
        &[
            &text(&|a| Some(a.key.run_id.clone())),
            &column(&|a| Some(a.key.seq as i64)),
            &text(&|a| Some(a.workflow_id.clone())),
            &text(&|a| Some(a.task_queue.clone())),
            &column(&|a| Some(a.scheduled_event_id as i64)),
            &text(&|a| Some(a.activity_id.clone())),
            &text(&|a| Some(a.activity_type.clone())),
            &text(&|a| Some(a.input.as_json().to_owned())),
            &options,
            &column(&|a| Some(duration_micros(a.limits.start_to_close))),
            &column(&|a| a.limits.heartbeat.map(duration_micros)),
            &column(&|a| a.limits.schedule_to_start.map(duration_micros)),
            &column(&|a| time(a.limits.close_deadline)),
            &column(&|a| Some(micros(a.scheduled_at))),
            &column(&|a| Some(a.attempt as i64)),
            &flag(&|a| a.running),
            &column(&|a| Some(micros(a.ready_at))),
            &column(&|a| time(a.started_at)),
            &column(&|a| time(a.attempt_deadline)),
            &column(&|a| time(a.heartbeat_deadline)),
            &column(&|a| time(a.expires_at)),
            &text(&|a| a.lease.as_ref().map(|l| l.owner.clone())),
            &column(&|a| Some(a.lease.as_ref().map_or(0, |l| l.token))),
            &column(&|a| a.lease.as_ref().map(|l| micros(l.deadline))),
            &failures,
            &text(&|a| a.heartbeat_details.as_ref().map(|p| p.as_json().to_owned())),
            &flag(&|a| a.cancel_requested),
        ],
    )
    .await?;
    Ok(())
}

/// The run row's fields a step's fence reads.
struct Fenced {
    task_queue: String,
}

/// Checks a step's fences, locking the run's row: `StaleTask` if the lease
/// or the run's `next_event_id` has moved on. Writes nothing.
async fn check_step_fence(conn: &mut Conn, c: &StepCommit) -> Result<Fenced> {
    let row = conn
        .query_opt(
            "SELECT next_event_id, status, lease_owner, lease_token, lease_deadline, task_queue
             FROM runs WHERE run_id = $1 FOR UPDATE",
            &[&c.run_id],
        )
        .await?;
    let Some(row) = row else { return Err(stale(&c.run_id, "workflow task", "the run does not exist")) };
    let next: i64 = get(&row, 0)?;
    let status: String = get(&row, 1)?;
    let owner: Option<String> = get(&row, 2)?;
    let token: i64 = get(&row, 3)?;
    let deadline: Option<i64> = get(&row, 4)?;
    if status != RunStatus::Running.as_str() {
        return Err(stale(&c.run_id, "workflow task", "the run is closed"));
    }
    match c.fence {
        StepFence::Leased { token: held } => {
            if owner.is_none() || token != held {
                return Err(stale(&c.run_id, "workflow task", "its lease was lost to another worker"));
            }
        }
        StepFence::Unleased => {
            // The step's time: its newest event's (a commit carries no `now`).
            let now = c.events.iter().map(|e| micros(e.timestamp)).max();
            let expired = matches!((deadline, now), (Some(d), Some(now)) if d <= now);
            if owner.is_some() && !expired {
                return Err(stale(&c.run_id, "workflow task", "another worker holds the run's workflow task"));
            }
        }
    }
    if next as u64 != c.first_event_id {
        return Err(stale(&c.run_id, "workflow task", "the run's history has moved on"));
    }
    Ok(Fenced { task_queue: get(&row, 5)? })
}

/// Commits one step on a locked, fenced run (see [`Store::commit_workflow_task`]).
async fn apply_step(conn: &mut Conn, c: &StepCommit, fenced: &Fenced) -> Result<()> {
    let run_id = &c.run_id;
    match &c.delivered {
        Some(Delivery::ActivityClosed(fence)) => {
            let removed = conn
                .execute(
                    "DELETE FROM activity_tasks WHERE run_id = $1 AND seq = $2 AND attempt = $3
                     AND lease_token = $4 AND lease_owner IS NOT NULL",
                    &[&fence.key.run_id, &(fence.key.seq as i64), &(fence.attempt as i64), &fence.token],
                )
                .await?;
            if removed != 1 {
                return Err(stale(run_id, activity_task_name(fence), "the attempt's row is gone or held by another"));
            }
        }
        Some(Delivery::TimerFired { seq }) => {
            let removed =
                conn.execute("DELETE FROM timers WHERE run_id = $1 AND seq = $2", &[run_id, &(*seq as i64)]).await?;
            if removed != 1 {
                return Err(stale(run_id, format!("timer {seq}"), "the timer's row is gone"));
            }
        }
        None => {}
    }
    if !c.events.is_empty() {
        let mut ids = Vec::with_capacity(c.events.len());
        let mut types = Vec::with_capacity(c.events.len());
        let mut data = Vec::with_capacity(c.events.len());
        let mut sums = Vec::with_capacity(c.events.len());
        for (i, event) in c.events.iter().enumerate() {
            if event.event_id != c.first_event_id + i as u64 {
                return Err(Error::store(format!("event {} out of order in run {run_id}", event.event_id)));
            }
            let json = to_json(event)?;
            ids.push(event.event_id as i64);
            types.push(event.event_type());
            sums.push(checksum(&json));
            data.push(json);
        }
        conn.execute(
            "INSERT INTO events (run_id, event_id, event_type, data, checksum)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[])",
            &[run_id, &ids, &types, &data, &sums],
        )
        .await?;
    }
    let consumed = if c.consumed.is_empty() {
        0
    } else {
        conn.execute("DELETE FROM inbox WHERE run_id = $1 AND id = ANY($2)", &[run_id, &c.consumed]).await? as i64
    };
    insert_activities(conn, &c.new_activities).await?;
    for activity in c.new_activities.iter().filter(|a| !a.running) {
        conn.notify_work(&activity.task_queue);
    }
    if !c.cancel_activities.is_empty() {
        let ids: Vec<i64> = c.cancel_activities.iter().map(|&id| id as i64).collect();
        conn.execute(
            "UPDATE activity_tasks SET cancel_requested = true WHERE run_id = $1 AND scheduled_event_id = ANY($2)",
            &[run_id, &ids],
        )
        .await?;
    }
    if !c.new_timers.is_empty() {
        let seqs: Vec<i64> = c.new_timers.iter().map(|t| t.seq as i64).collect();
        let started: Vec<i64> = c.new_timers.iter().map(|t| t.started_event_id as i64).collect();
        let fire: Vec<i64> = c.new_timers.iter().map(|t| micros(t.fire_at)).collect();
        conn.execute(
            "INSERT INTO timers (run_id, seq, task_queue, started_event_id, fire_at)
             SELECT $1, s, $2, e, f FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS t (s, e, f)",
            &[run_id, &fenced.task_queue, &seqs, &started, &fire],
        )
        .await?;
    }
    if !c.cancel_timers.is_empty() {
        let ids: Vec<i64> = c.cancel_timers.iter().map(|&id| id as i64).collect();
        conn.execute("DELETE FROM timers WHERE run_id = $1 AND started_event_id = ANY($2)", &[run_id, &ids]).await?;
    }
    let next = (c.first_event_id + c.events.len() as u64) as i64;
    let bump = matches!(c.fence, StepFence::Unleased) as i64;
    conn.execute(
        "UPDATE runs SET next_event_id = $2, held = NULL, lease_owner = NULL, lease_deadline = NULL,
             lease_token = lease_token + $3, sticky_owner = $4, inbox_count = greatest(inbox_count - $5, 0)
         WHERE run_id = $1",
        &[run_id, &next, &bump, &c.worker_id, &consumed],
    )
    .await?;
    if let Some((status, at)) = c.close {
        conn.execute(
            "UPDATE runs SET status = $2, closed_at = $3, inbox_count = 0 WHERE run_id = $1",
            &[run_id, &status.as_str(), &micros(at)],
        )
        .await?;
        conn.execute("DELETE FROM activity_tasks WHERE run_id = $1", &[run_id]).await?;
        conn.execute("DELETE FROM timers WHERE run_id = $1", &[run_id]).await?;
        conn.execute("DELETE FROM inbox WHERE run_id = $1", &[run_id]).await?;
        conn.notify_closed(run_id);
    }
    Ok(())
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
                    "UPDATE runs SET lease_owner = NULL, lease_deadline = NULL WHERE lease_owner IS NOT NULL",
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
        let schema = self.schema.clone();
        self.tx(move |c| {
            async move {
                // One creator per workflow id at a time, so the reuse check below holds at commit.
                let key = format!("{schema}/{}", run.workflow_id);
                c.query("SELECT pg_advisory_xact_lock($1 + 1, hashtext($2))", &[&LOCK_CLASS, &key]).await?;
                let latest = c
                    .query_opt(
                        "SELECT run_id, status FROM runs WHERE workflow_id = $1
                         ORDER BY status = 'running' DESC, created_at DESC, created_seq DESC LIMIT 1",
                        &[&run.workflow_id],
                    )
                    .await?;
                if let Some(row) = latest {
                    let (run_id, status): (String, String) = (get(&row, 0)?, get(&row, 1)?);
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
                c.execute(
                    "INSERT INTO runs (run_id, workflow_id, workflow_type, task_queue, status, created_at, next_event_id)
                     VALUES ($1, $2, $3, $4, 'running', $5, 1)",
                    &[&run.run_id, &run.workflow_id, &run.workflow_type, &run.task_queue, &micros(run.created_at)],
                )
                .await?;
                match &start {
                    RunStart::Inbox(item) => {
                        add_inbox(c, &[(run.run_id.clone(), to_json(item)?)]).await?;
                        c.notify_work(&run.task_queue);
                    }
                    RunStart::Step(step) => {
                        if step.fence != StepFence::Unleased || step.run_id != run.run_id {
                            return Err(Error::store(format!(
                                "the first step of run {} must be unleased and of that run",
                                run.run_id
                            )));
                        }
                        let fenced = check_step_fence(c, step).await?;
                        apply_step(c, step, &fenced).await?;
                    }
                }
                Ok(())
            }
            .boxed()
        })
    }

    fn claim_workflow_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<WorkflowTask>>> {
        self.tx(move |c| {
            async move {
                let at = micros(now);
                fire_timers(c, Some(&worker.task_queues), None, at).await?;
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let rows = c
                    .query(
                        // Two branches, each in index order (no sort of a backlog): the
                        // runs sticky to this worker, then the others'. A WITH query is
                        // run only as far as it is read, so the LIMIT of `c` stops the
                        // second (and its row locks) early.
                        run_sql!("WITH mine AS (
                             SELECT r.run_id AS rid, true AS mine, r.created_at AS since
                             FROM runs r
                             WHERE r.sticky_owner = $3 AND r.status = 'running' AND r.held IS NULL
                               AND r.inbox_count > 0 AND r.task_queue = ANY($1) AND r.workflow_type = ANY($2)
                               AND (r.lease_owner IS NULL OR r.lease_deadline <= $4)
                             ORDER BY r.created_at
                             LIMIT $5
                             FOR UPDATE OF r SKIP LOCKED
                         ), others AS (
                             SELECT r.run_id AS rid, false AS mine, r.created_at AS since
                             FROM runs r
                             WHERE r.status = 'running' AND r.held IS NULL AND r.inbox_count > 0
                               AND r.task_queue = ANY($1) AND r.workflow_type = ANY($2)
                               AND (r.lease_owner IS NULL OR r.lease_deadline <= $4)
                               AND (r.sticky_owner IS NULL OR (r.sticky_owner <> $3 AND NOT EXISTS (
                                   SELECT 1 FROM workers w WHERE w.worker_id = r.sticky_owner AND w.expires_at > $4)))
                             ORDER BY r.created_at
                             LIMIT $5
                             FOR UPDATE OF r SKIP LOCKED
                         ), c AS (
                             SELECT * FROM mine UNION ALL SELECT * FROM others LIMIT $5
                         )
                         UPDATE runs SET lease_owner = $3, lease_token = runs.lease_token + 1, lease_deadline = $6
                         FROM c WHERE runs.run_id = c.rid
                         RETURNING c.mine, c.since, ";
                        ),
                        &[
                            &worker.task_queues,
                            &worker.workflow_types,
                            &worker.worker_id,
                            &at,
                            &(limit.min(i64::MAX as usize) as i64),
                            &after(now, lease),
                        ],
                    )
                    .await?;
                claimed_tasks(c, &rows, 2).await
            }
            .boxed()
        })
    }

    fn claim_workflow_task(
        &self,
        worker_id: String,
        run_id: String,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<WorkflowTask>>> {
        self.tx(move |c| {
            async move {
                let at = micros(now);
                let row = c
                    .query_opt(
                        "SELECT held IS NULL AND (lease_owner IS NULL OR lease_deadline <= $2), task_queue
                         FROM runs WHERE run_id = $1 AND status = 'running' FOR UPDATE SKIP LOCKED",
                        &[&run_id, &at],
                    )
                    .await?;
                match row {
                    Some(row) if get::<bool>(&row, 0)? => {}
                    _ => return Ok(None),
                }
                fire_timers(c, None, Some(&run_id), at).await?;
                let rows = c
                    .query(
                        run_sql!("UPDATE runs SET lease_owner = $2, lease_token = lease_token + 1, lease_deadline = $3
                         WHERE run_id = $1 AND inbox_count > 0
                         RETURNING true, created_at, ";),
                        &[&run_id, &worker_id, &after(now, lease)],
                    )
                    .await?;
                Ok(claimed_tasks(c, &rows, 2).await?.pop())
            }
            .boxed()
        })
    }

    fn commit_workflow_task(&self, commit: StepCommit) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let fenced = check_step_fence(c, &commit).await?;
                apply_step(c, &commit, &fenced).await
            }
            .boxed()
        })
    }

    fn release_workflow_task(&self, run_id: String, token: i64) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let row = c
                    .query_opt(
                        "UPDATE runs SET lease_owner = NULL, lease_deadline = NULL
                         WHERE run_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL
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

    fn hold_run(&self, run_id: String, token: Option<i64>, reason: Option<String>) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let row = match token {
                    Some(token) => {
                        let row = c
                            .query_opt(
                                "UPDATE runs SET held = $3, lease_owner = NULL, lease_deadline = NULL
                                 WHERE run_id = $1 AND lease_token = $2 AND lease_owner IS NOT NULL
                                 RETURNING task_queue, inbox_count > 0 AND held IS NULL AND status = 'running'",
                                &[&run_id, &token, &reason],
                            )
                            .await?;
                        if row.is_none() {
                            return Err(stale(&run_id, "workflow task", "its lease was lost to another worker"));
                        }
                        row
                    }
                    None => {
                        c.query_opt(
                            "UPDATE runs SET held = $2 WHERE run_id = $1
                             RETURNING task_queue, inbox_count > 0 AND held IS NULL AND status = 'running'",
                            &[&run_id, &reason],
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
        self.tx(move |c| {
            async move {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let rows = c
                    .query(
                        activity_sql!("WITH c AS (
                             SELECT run_id AS rid, seq AS rseq, least($3 + start_to_close, close_deadline) AS att
                             FROM activity_tasks
                             WHERE NOT running AND task_queue = ANY($1) AND activity_type = ANY($2) AND ready_at <= $3
                               AND (expires_at IS NULL OR expires_at > $3)
                               AND (lease_owner IS NULL OR lease_deadline <= $3)
                             ORDER BY ready_at, scheduled_at
                             LIMIT $5
                             FOR UPDATE SKIP LOCKED
                         ), d AS (
                             SELECT c.rid, c.rseq, c.att, CASE WHEN a.heartbeat_timeout IS NULL THEN NULL
                                 ELSE least($3 + a.heartbeat_timeout, c.att) END AS hb
                             FROM c JOIN activity_tasks a ON a.run_id = c.rid AND a.seq = c.rseq
                         )
                         UPDATE activity_tasks a SET attempt = a.attempt + 1, running = true, started_at = $3,
                             attempt_deadline = d.att, heartbeat_deadline = d.hb, expires_at = least(d.att, d.hb),
                             lease_owner = $4, lease_token = a.lease_token + 1, lease_deadline = least(d.att, d.hb)
                         FROM d WHERE a.run_id = d.rid AND a.seq = d.rseq
                         RETURNING ";),
                        &[
                            &worker.task_queues,
                            &worker.activity_types,
                            &micros(now),
                            &worker.worker_id,
                            &(limit.min(i64::MAX as usize) as i64),
                        ],
                    )
                    .await?;
                let mut tasks: Vec<ActivityTask> = rows.iter().map(activity_from_row).collect::<Result<_>>()?;
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
        self.tx(move |c| {
            async move {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let rows = c
                    .query(
                        activity_sql!("WITH c AS (
                             SELECT run_id AS rid, seq AS rseq FROM activity_tasks
                             WHERE expires_at <= $1 AND (lease_owner IS NULL OR lease_deadline <= $1)
                             ORDER BY expires_at
                             LIMIT $4
                             FOR UPDATE SKIP LOCKED
                         )
                         UPDATE activity_tasks a SET lease_owner = $2, lease_token = a.lease_token + 1, lease_deadline = $3
                         FROM c WHERE a.run_id = c.rid AND a.seq = c.rseq
                         RETURNING ";),
                        &[&micros(now), &worker_id, &after(now, lease), &(limit.min(i64::MAX as usize) as i64)],
                    )
                    .await?;
                let mut tasks: Vec<ActivityTask> = rows.iter().map(activity_from_row).collect::<Result<_>>()?;
                tasks.sort_by_key(|t| t.expires_at);
                Ok(tasks)
            }
            .boxed()
        })
    }

    fn update_activity(&self, fence: ActivityFence, update: ActivityUpdate) -> BoxFuture<'_, Result<()>> {
        self.tx(move |c| {
            async move {
                let key = &fence.key;
                let seq = key.seq as i64;
                let attempt = fence.attempt as i64;
                let gone = || stale(&key.run_id, activity_task_name(&fence), "the attempt's row is gone or held by another");
                match update {
                    ActivityUpdate::Heartbeat { at, details } => {
                        let changed = c
                            .execute(
                                "UPDATE activity_tasks SET
                                     heartbeat_deadline = CASE WHEN heartbeat_timeout IS NULL THEN heartbeat_deadline
                                         ELSE least($5 + heartbeat_timeout, attempt_deadline) END,
                                     expires_at = least(attempt_deadline, close_deadline, CASE WHEN heartbeat_timeout IS NULL
                                         THEN heartbeat_deadline ELSE least($5 + heartbeat_timeout, attempt_deadline) END),
                                     lease_deadline = least(attempt_deadline, close_deadline, CASE WHEN heartbeat_timeout IS NULL
                                         THEN heartbeat_deadline ELSE least($5 + heartbeat_timeout, attempt_deadline) END),
                                     heartbeat_details = coalesce($6, heartbeat_details)
                                 WHERE run_id = $1 AND seq = $2 AND attempt = $3 AND lease_token = $4
                                   AND lease_owner IS NOT NULL AND running",
                                &[&key.run_id, &seq, &attempt, &fence.token, &micros(at), &details.as_ref().map(Payload::as_json)],
                            )
                            .await?;
                        if changed != 1 {
                            return Err(gone());
                        }
                    }
                    ActivityUpdate::Retry { retry_at, failure, heartbeat_details } => {
                        let row = c
                            .query_opt(
                                "UPDATE activity_tasks SET running = false, ready_at = $5, started_at = NULL,
                                     attempt_deadline = NULL, heartbeat_deadline = NULL,
                                     expires_at = least(CASE WHEN schedule_to_start IS NULL THEN NULL
                                         ELSE $5 + schedule_to_start END, close_deadline),
                                     lease_owner = NULL, lease_deadline = NULL, last_failure = $6,
                                     heartbeat_details = coalesce($7, heartbeat_details)
                                 WHERE run_id = $1 AND seq = $2 AND attempt = $3 AND lease_token = $4
                                   AND lease_owner IS NOT NULL
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
                    ActivityUpdate::Close { last_failure, outcome } => {
                        // The run's row first: the lock order of every inbox write.
                        let Some(queue) = lock_open_run(c, &key.run_id).await? else { return Err(gone()) };
                        let row = c
                            .query_opt(
                                "DELETE FROM activity_tasks WHERE run_id = $1 AND seq = $2 AND attempt = $3
                                     AND lease_token = $4 AND lease_owner IS NOT NULL
                                 RETURNING scheduled_event_id",
                                &[&key.run_id, &seq, &attempt, &fence.token],
                            )
                            .await?;
                        let Some(row) = row else { return Err(gone()) };
                        let item = InboxItem::ActivityClosed {
                            scheduled_event_id: get::<i64>(&row, 0)? as u64,
                            attempt: fence.attempt,
                            last_failure,
                            outcome,
                        };
                        add_inbox(c, &[(key.run_id.clone(), to_json(&item)?)]).await?;
                        c.notify_work(&queue);
                    }
                }
                Ok(())
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
                        "DELETE FROM activity_tasks WHERE run_id = $1 AND seq = $2 AND NOT running AND lease_owner IS NULL
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
                        "SELECT least(
                             (SELECT min(fire_at) FROM timers WHERE task_queue = ANY($1) AND fire_at > $3),
                             (SELECT min(ready_at) FROM activity_tasks
                              WHERE NOT running AND task_queue = ANY($1) AND activity_type = ANY($2) AND ready_at > $3),
                             (SELECT min(expires_at) FROM activity_tasks WHERE expires_at > $3),
                             (SELECT min(lease_deadline) FROM activity_tasks
                              WHERE lease_owner IS NOT NULL AND expires_at <= $3 AND lease_deadline > $3),
                             (SELECT min(lease_deadline) FROM runs
                              WHERE lease_owner IS NOT NULL AND task_queue = ANY($1) AND lease_deadline > $3),
                             (SELECT min(expires_at) FROM workers WHERE expires_at > $3))",
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

    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<RunRecord>>> {
        self.read(move |c| {
            async move {
                let limit = filter.limit.map(|l| l.min(i64::MAX as usize) as i64);
                let rows = c
                    .query(
                        run_sql!("SELECT "; " FROM runs
                             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR workflow_type = $2)
                             ORDER BY created_at DESC, created_seq DESC LIMIT $3"),
                        &[&filter.status.map(|s| s.as_str()), &filter.workflow_type, &limit],
                    )
                    .await?;
                rows.iter().map(run_from_row).collect()
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
async fn claimed_tasks(c: &mut Conn, rows: &[Row], offset: usize) -> Result<Vec<WorkflowTask>> {
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let mine: bool = get(row, 0)?;
        let since: i64 = get(row, 1)?;
        let run = run_from_row_at(row, offset)?;
        claimed.push((!mine, since, run));
    }
    claimed.sort_by_key(|&(others, since, _)| (others, since));
    let ids: Vec<String> = claimed.iter().map(|(_, _, r)| r.run_id.clone()).collect();
    let mut inboxes = read_inboxes(c, &ids).await?;
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
    let lease = match get::<Option<String>>(row, at(9))? {
        Some(owner) => Some(Lease {
            owner,
            token: get(row, at(10))?,
            deadline: from_micros(get::<Option<i64>>(row, at(11))?.unwrap_or(0)),
        }),
        None => None,
    };
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
        lease,
        sticky: get(row, at(12))?,
    })
}

/// A listener's loop: a dedicated connection `LISTEN`s on the store's
/// channels and tells `listener`; when it drops, it reconnects with backoff
/// (100 ms doubling to 5 s) and then reports work on every queue, since
/// notifications may have been missed. Notifications from this store's own
/// connections (by backend pid) are dropped. Ends when the store closes.
async fn listen(
    config: tokio_postgres::Config,
    url: Arc<str>,
    timeout: Duration,
    channels: Arc<Channels>,
    pids: Arc<Mutex<HashSet<i32>>>,
    listener: Arc<dyn StoreListener>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if stop.is_cancelled() {
            return;
        }
        let session = async {
            let connecting = config.connect(NoTls);
            let (client, mut connection) = match tokio::time::timeout(timeout, connecting).await {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => return Err(connect_error(&config, &url, e)),
                Err(_) => return Err(Error::store(format!("connecting to {url} timed out"))),
            };
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(message) = messages.next().await {
                    match message {
                        Ok(AsyncMessage::Notification(n)) => {
                            if tx.send(n).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            let sql = format!("LISTEN \"{}\"; LISTEN \"{}\"", channels.work, channels.closed);
            client.batch_execute(&sql).await.map_err(|e| Error::store(PgError { url: url.clone(), source: e }))?;
            Ok((client, rx))
        };
        let session = tokio::select! {
            _ = stop.cancelled() => return,
            session = session => session,
        };
        match session {
            Ok((_client, mut rx)) => {
                backoff = Duration::from_millis(100);
                listener.work_available(None);
                loop {
                    let n = tokio::select! {
                        _ = stop.cancelled() => return,
                        n = rx.recv() => n,
                    };
                    let Some(n) = n else { break };
                    if pids.lock().contains(&n.process_id()) {
                        continue;
                    }
                    if n.channel() == channels.work {
                        listener.work_available(Some(n.payload()));
                    } else if n.channel() == channels.closed {
                        listener.run_closed(n.payload());
                    }
                }
                tracing::warn!(url = %url, "the store's notification connection closed; reconnecting");
            }
            Err(e) => {
                tracing::warn!(url = %url, error = %crate::ErrorChain(&e), "cannot listen for the store's notifications; retrying in {backoff:?}");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Opens a store in a fresh PostgreSQL schema of the `WEFT_TEST_POSTGRES`
/// server for the conformance suite; `None` (the suite skips) without one.
#[cfg(test)]
#[allow(dead_code)] // until the conformance suite lands: store_conformance!(open_for_conformance)
pub(crate) async fn open_for_conformance() -> Option<Box<dyn Store>> {
    let options = tests::options(&tests::server()?);
    Some(Box::new(connect(options).await.expect("the test server opens a store")))
}

// crate::store::conformance::store_conformance!(open_for_conformance);

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::mpsc;
    use std::time::Instant;

    use super::*;
    use crate::activity::ActivityOptions;
    use crate::history::{EventAttributes, Failure};

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
            lease: None,
            sticky: None,
        }
    }

    /// Creates run `run_id` with a `Start` in its inbox.
    async fn start(store: &PostgresStore, run_id: &str) {
        let start = RunStart::Inbox(InboxItem::Start { input: payload("1") });
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

    fn is_stale(result: Result<()>) -> bool {
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
        assert!(store.claim_workflow_task("w2".into(), "r1".into(), secs(5), lease).await.unwrap().is_none());
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
            store.hold_run("r1".into(), Some(w1[0].lease.token), Some("x".into())).await,
            Err(Error::StaleTask { .. })
        ));
        assert!(store.history("r1".into(), "wf-r1".into(), 0).await.unwrap().is_empty(), "nothing written");
        store.commit_workflow_task(step(&w2[0], "w2", 2)).await.unwrap();
        let run = store.run("r1".into()).await.unwrap().unwrap();
        assert_eq!((run.next_event_id, run.lease.is_none(), run.sticky.as_deref()), (3, true, Some("w2")));
        let history = store.history("r1".into(), "wf-r1".into(), 0).await.unwrap();
        assert_eq!(history.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 2]);
        assert!(
            store.claim_workflow_tasks(other.clone(), secs(12), lease, 10).await.unwrap().is_empty(),
            "inbox empty"
        );
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
                    RunStart::Inbox(InboxItem::Start { input: payload("1") }),
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
                RunStart::Inbox(InboxItem::Start { input: payload("1") }),
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
        assert!(
            store.claim_expired_activities("w9".into(), secs(2), Duration::from_secs(5), 10).await.unwrap().is_empty()
        );
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
        assert!(
            store.claim_workflow_tasks(worker("w1"), secs(2), Duration::from_secs(10), 10).await.unwrap().is_empty()
        );
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
        assert_eq!(
            store.claim_workflow_tasks(worker("w2"), secs(1), Duration::from_secs(10), 10).await.unwrap().len(),
            1
        );
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
    async fn load(
        store: Arc<PostgresStore>,
        id: usize,
        stop: Arc<AtomicBool>,
        ok: Arc<AtomicU64>,
    ) -> (u64, Vec<String>) {
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
                    RunStart::Inbox(InboxItem::Start { input: payload("1") }),
                    WorkflowIdReusePolicy::default(),
                )
                .await;
            let step_result = match created {
                Ok(()) => {
                    runs.push(run_id.clone());
                    match store
                        .claim_workflow_task(me.worker_id.clone(), run_id.clone(), t0(), Duration::from_secs(600))
                        .await
                    {
                        Ok(Some(task)) => store.commit_workflow_task(step(&task, &me.worker_id, 2)).await,
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
        let mut heard = Vec::new();
        while let Some(m) = next(&rx, Duration::from_millis(100)).await {
            heard.push(m);
        }
        assert!(heard.iter().any(|m| m == "work *"), "the listener reconnected: {heard:?}");
        // Every history reads back whole, and the store takes new steps.
        for run_id in &runs {
            let workflow_id = format!("wf-{run_id}");
            let history = store.history(run_id.clone(), workflow_id, 0).await.unwrap();
            assert!(history.is_empty() || history.len() == 2, "{run_id}: {}", history.len());
        }
        start(&store, "after").await;
        let task = store.claim_workflow_task("w".into(), "after".into(), t0(), Duration::from_secs(5)).await.unwrap();
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
        store.hold_run("r1".into(), Some(task.lease.token), Some("non-determinism".into())).await.unwrap();
        let run = store.run("r1".into()).await.unwrap().unwrap();
        assert_eq!((run.held.as_deref(), run.lease.is_none()), (Some("non-determinism"), true), "held and released");
        assert!(store.claim_workflow_tasks(worker("w1"), t0(), lease, 10).await.unwrap().is_empty());
        assert!(store.claim_workflow_task("w1".into(), "r1".into(), t0(), lease).await.unwrap().is_none());
        store.hold_run("r1".into(), None, None).await.unwrap();
        let task = store.claim_workflow_task("w2".into(), "r1".into(), t0(), lease).await.unwrap().unwrap();
        assert_eq!(task.inbox.len(), 1, "the inbox is kept");
        // The step clears a hold too.
        store.hold_run("r1".into(), None, Some("again".into())).await.unwrap();
        store.commit_workflow_task(step(&task, "w2", 1)).await.unwrap();
        assert_eq!(store.run("r1".into()).await.unwrap().unwrap().held, None);
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
}
