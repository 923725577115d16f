//! The connection pool: a semaphore of `pool_size` permits and the idle
//! connections, each with its prepared statements; connecting, typed
//! connection errors, reconnection backoff, and URL redaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::get;
use crate::{Error, Result};

/// A driver error with the (redacted) URL of the server it came from.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL at {url}")]
pub(super) struct PgError {
    pub(super) url: Arc<str>,
    #[source]
    pub(super) source: tokio_postgres::Error,
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

/// Sends the notifications of a transaction: channel and payload arrays.
const NOTIFY: &str = "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n (c, p)";

/// One pooled connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The server process behind it: its own notifications are dropped.
    pub(super) pid: i32,
    /// Inside `BEGIN`: a connection dropped in this state is closed, not reused.
    pub(super) in_tx: bool,
    /// Notifications to send at commit: (work?, payload).
    notes: Vec<(bool, String)>,
    pub(super) url: Arc<str>,
}

impl Conn {
    /// A driver error as a store error, with the server's redacted URL.
    pub(super) fn err(&self, e: tokio_postgres::Error) -> Error {
        Error::store(PgError { url: self.url.clone(), source: e })
    }

    /// The statement for `sql`, prepared on this connection once.
    pub(super) async fn stmt(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(|e| self.err(e))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// Runs a prepared query; all its rows.
    pub(super) async fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.stmt(sql).await?;
        self.client.query(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs a query whose text is built at run time (a list's filters), not
    /// kept prepared; all its rows.
    pub(super) async fn query_built(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.client.query(sql, params).await.map_err(|e| self.err(e))
    }

    /// Runs a prepared query; its one row, if any.
    pub(super) async fn query_opt(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let s = self.stmt(sql).await?;
        self.client.query_opt(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs a prepared statement; the rows it changed.
    pub(super) async fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.stmt(sql).await?;
        self.client.execute(&s, params).await.map_err(|e| self.err(e))
    }

    /// Runs statements unprepared (transaction control, session settings, DDL).
    pub(super) async fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).await.map_err(|e| self.err(e))
    }

    /// New work on `task_queue`, announced at commit.
    pub(super) fn notify_work(&mut self, task_queue: &str) {
        if !self.notes.iter().any(|(work, q)| *work && q == task_queue) {
            self.notes.push((true, task_queue.to_owned()));
        }
    }

    /// Run `run_id` closed, announced at commit.
    pub(super) fn notify_closed(&mut self, run_id: &str) {
        self.notes.push((false, run_id.to_owned()));
    }

    /// Starts a transaction.
    pub(super) async fn begin(&mut self) -> Result<()> {
        self.in_tx = true;
        self.notes.clear();
        self.batch("BEGIN").await
    }

    /// Sends the notifications gathered (they are delivered at commit) and
    /// commits, in one round trip ([`Conn::pipeline`]).
    pub(super) async fn commit(&mut self, channels: &Channels) -> Result<()> {
        self.pipeline(None, &[], Some(channels)).await.map(drop)
    }

    /// Sends `statements` together and waits once for all their answers (a
    /// pipeline: one round trip): after `begin` (`BEGIN` and any `SET LOCAL`)
    /// if given, and followed by the notifications gathered and `COMMIT` if
    /// `commit`. Each statement's rows, in order, or the first error. A failed
    /// statement fails the transaction, so whatever follows it in the pipeline
    /// does nothing; with `commit`, the transaction has ended either way
    /// (rolled back on an error).
    pub(super) async fn pipeline(
        &mut self,
        begin: Option<&str>,
        statements: &[(&'static str, Vec<&(dyn ToSql + Sync)>)],
        commit: Option<&Channels>,
    ) -> Result<Vec<Vec<Row>>> {
        let mut prepared = Vec::with_capacity(statements.len());
        for (sql, _) in statements {
            prepared.push(self.stmt(sql).await?);
        }
        if begin.is_some() {
            // The notifications gathered so far are this transaction's (a
            // failed one's are dropped by its rollback, or sent by nothing).
            self.in_tx = true;
        }
        let notes = match commit {
            Some(channels) if !self.notes.is_empty() => {
                let (names, payloads): (Vec<&str>, Vec<String>) = std::mem::take(&mut self.notes)
                    .into_iter()
                    .map(|(work, p)| (if work { &*channels.work } else { &*channels.closed }, p))
                    .unzip();
                Some((self.stmt(NOTIFY).await?, names, payloads))
            }
            _ => None,
        };
        let client = &self.client;
        let (began, answers, notified, committed) = futures::join!(
            async {
                match begin {
                    Some(begin) => client.batch_execute(begin).await,
                    None => Ok(()),
                }
            },
            futures::future::join_all(prepared.iter().zip(statements).map(|(s, (_, p))| client.query(s, p))),
            async {
                match &notes {
                    Some((s, names, payloads)) => client.execute(s, &[names, payloads]).await.map(drop),
                    None => Ok(()),
                }
            },
            async { if commit.is_some() { client.batch_execute("COMMIT").await } else { Ok(()) } },
        );
        if commit.is_some() && committed.is_ok() {
            self.in_tx = false;
        }
        began.map_err(|e| self.err(e))?;
        let mut rows = Vec::with_capacity(answers.len());
        for answer in answers {
            rows.push(answer.map_err(|e| self.err(e))?);
        }
        notified.map_err(|e| self.err(e))?;
        committed.map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Rolls back (if in a transaction); a connection that cannot is
    /// discarded when it goes back to the pool.
    pub(super) async fn rollback(&mut self) {
        self.notes.clear();
        if !self.in_tx {
            return;
        }
        if self.batch("ROLLBACK").await.is_ok() {
            self.in_tx = false;
        }
    }
}

/// The channels a store's notifications go on (one pair per PostgreSQL schema).
#[derive(Debug)]
pub(super) struct Channels {
    pub(super) work: String,
    pub(super) closed: String,
}

/// A fixed-size pool: a semaphore of `size` permits and the idle connections.
/// A call takes a permit (waiting at most `acquire_timeout`), then an idle
/// connection that is still open, or opens one. A connection goes back idle
/// when its call ends, unless it closed (a server restart) or was dropped
/// inside a transaction (a cancelled call).
pub(super) struct Pool {
    pub(super) config: tokio_postgres::Config,
    pub(super) url: Arc<str>,
    /// Run on each new connection: durability, search path, limits.
    pub(super) setup: String,
    pub(super) size: usize,
    pub(super) permits: Semaphore,
    pub(super) idle: Mutex<Vec<Conn>>,
    /// The backend pids of our open connections.
    pub(super) pids: Arc<Mutex<HashSet<i32>>>,
    pub(super) connect_timeout: Duration,
    pub(super) acquire_timeout: Duration,
    pub(super) closed: AtomicBool,
    /// After a transient connection failure: no new connection is tried
    /// before this, so a restarting server is not stormed (see [`Pool::open`]).
    pub(super) backoff: Mutex<Option<Backoff>>,
}

/// The pool's reconnection backoff: doubling from [`BACKOFF_MIN`] to
/// [`BACKOFF_MAX`] while connections fail, cleared by one that opens.
#[derive(Debug)]
pub(super) struct Backoff {
    until: std::time::Instant,
    delay: Duration,
    /// The failure, for the error of a call that finds the pool backing off.
    reason: String,
}

/// The first reconnection backoff.
pub(super) const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest reconnection backoff.
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A connection on loan from the [`Pool`].
pub(super) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Whether the connection was idle in the pool (so it may have died unnoticed).
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Pooled<'_> {
    /// Whether this connection sat idle in the pool and has died meanwhile
    /// (a server restart): a call that failed on it ran nothing on the
    /// server, so it may try once more on a new connection.
    pub(super) fn died_idle(&self) -> bool {
        self.reused && self.client.is_closed()
    }
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
    pub(super) async fn get(&self) -> Result<Pooled<'_>> {
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
    pub(super) async fn open(&self) -> Result<Conn> {
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
pub(super) async fn open_client(config: &tokio_postgres::Config, url: &Arc<str>, timeout: Duration) -> Result<Client> {
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
pub(super) fn connect_error(config: &tokio_postgres::Config, url: &Arc<str>, e: tokio_postgres::Error) -> Error {
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

/// Whether `e` is the server refusing a transaction that hoped to pass: an
/// assertion that failed (`SELECT 1 / (condition)::int`, `division_by_zero`)
/// or a unique index that refused a row (`unique_violation`, a created
/// workflow id that has an open run). The transaction has then failed.
pub(super) fn refused(e: &Error) -> bool {
    matches!(e.postgres_code(), Some("22012" | "23505"))
}
