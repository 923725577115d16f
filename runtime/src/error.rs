//! The crate's error type.

use std::path::PathBuf;

use crate::history::Failure;

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when using the engine or its client.
///
/// Each variant carries the ids needed to find the workflow in question
/// (`weft workflow show <id>`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No workflow of this type is registered with the engine.
    #[error("workflow type `{}` is not registered with this engine", short(.workflow_type))]
    UnknownWorkflowType {
        /// The registered name that was asked for.
        workflow_type: String,
    },
    /// A workflow id is empty or too long.
    #[error("invalid workflow id {:?}: {reason}", short(.workflow_id))]
    InvalidWorkflowId {
        /// The id as given.
        workflow_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A run with this workflow id is still open.
    #[error("workflow `{}` is already running (run {run_id})", short(.workflow_id))]
    AlreadyStarted {
        /// The workflow id.
        workflow_id: String,
        /// The open run that holds the id.
        run_id: String,
    },
    /// The store has no run `run_id` of workflow `workflow_id`.
    #[error("workflow `{}` has no run {}", short(.workflow_id), short(.run_id))]
    RunNotFound {
        /// The workflow id.
        workflow_id: String,
        /// The run id asked for.
        run_id: String,
    },
    /// A page token that no list returned (see [`PageToken`](crate::PageToken)).
    #[error("invalid page token {token:?}: pass the `next_page_token` of the page before")]
    InvalidPageToken {
        /// The token given (its first 64 characters).
        token: String,
    },
    /// No run with this workflow id (or run id) exists.
    #[error("workflow `{}` not found", short(.workflow_id))]
    WorkflowNotFound {
        /// The id that was asked for.
        workflow_id: String,
    },
    /// The workflow's newest run is closed, so it cannot be cancelled or terminated.
    #[error("workflow `{}` (run {run_id}) is not running: it is {status}", short(.workflow_id))]
    NotRunning {
        /// The workflow id.
        workflow_id: String,
        /// Its newest run.
        run_id: String,
        /// How that run ended.
        status: crate::RunStatus,
    },
    /// A payload could not be encoded, decoded, or was over the size limit.
    #[error("payload of workflow `{}` rejected", short(.workflow_id))]
    Payload {
        /// The workflow the payload belongs to.
        workflow_id: String,
        /// What was wrong with it.
        #[source]
        source: PayloadError,
    },
    /// The workflow ended in failure.
    #[error("workflow `{}` (run {run_id}) failed", short(.workflow_id))]
    WorkflowFailed {
        /// The workflow id.
        workflow_id: String,
        /// The failed run.
        run_id: String,
        /// The failure the workflow returned.
        #[source]
        failure: Failure,
    },
    /// The workflow ended by accepting a cancellation.
    #[error("workflow `{}` (run {run_id}) was cancelled", short(.workflow_id))]
    WorkflowCanceled {
        /// The workflow id.
        workflow_id: String,
        /// The cancelled run.
        run_id: String,
    },
    /// The run was terminated.
    #[error("workflow `{}` (run {run_id}) was terminated: {reason}", short(.workflow_id))]
    WorkflowTerminated {
        /// The workflow id.
        workflow_id: String,
        /// The terminated run.
        run_id: String,
        /// Why, as given to terminate.
        reason: String,
    },
    /// The run's timeout, or the workflow's execution timeout, ended it.
    #[error("workflow `{}` (run {run_id}) timed out: its {timeout} ran out", short(.workflow_id))]
    WorkflowTimedOut {
        /// The workflow id.
        workflow_id: String,
        /// The run that timed out.
        run_id: String,
        /// Which timeout.
        timeout: crate::history::WorkflowTimeout,
    },
    /// Replayed workflow code issued other commands than its history records.
    ///
    /// The run is held: it is neither advanced nor failed, and continues once
    /// code that matches the history runs it.
    #[error(
        "non-deterministic workflow `{}` (run {run_id}) at event {event_id}: history has {expected}, code issued {found}",
        short(.workflow_id)
    )]
    NonDeterminism {
        /// The workflow id.
        workflow_id: String,
        /// The held run.
        run_id: String,
        /// The history event that did not match.
        event_id: u64,
        /// What the history records at that point.
        expected: String,
        /// What the workflow code did instead.
        found: String,
    },
    /// The workflow's code panicked; the run is held until code that does not panic runs it.
    #[error("workflow `{}` (run {run_id}) panicked: {message}", short(.workflow_id))]
    WorkflowPanicked {
        /// The workflow id.
        workflow_id: String,
        /// The held run.
        run_id: String,
        /// The panic message.
        message: String,
    },
    /// A run's stored history is damaged; the run is quarantined.
    #[error("corrupt history of workflow `{}` (run {run_id}): {reason}", short(.workflow_id))]
    CorruptHistory {
        /// The workflow id.
        workflow_id: String,
        /// The quarantined run.
        run_id: String,
        /// What check failed.
        reason: String,
    },
    /// The store was written by a newer version of weft.
    #[error("store schema version {found} is newer than this build supports ({supported}); upgrade weft")]
    UnsupportedSchema {
        /// The store's schema version.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// There is no store file at this path.
    #[error("no weft store at {path}")]
    StoreNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file is an SQLite database but not a weft store.
    #[error("{path} is not a weft store")]
    NotAStore {
        /// The path given.
        path: PathBuf,
    },
    /// Another engine (in this or another process) already runs on this store file.
    #[error("store {path} is in use by another engine")]
    StoreLocked {
        /// The store file.
        path: PathBuf,
    },
    /// The store failed (I/O, SQLite, or an unreadable row).
    #[error("store operation failed")]
    Store {
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The engine was shut down while the call was waiting.
    #[error("the engine has shut down")]
    Shutdown,
    /// The store has refused the run's writes for a transient reason (disk
    /// full, locked, an I/O error) for longer than
    /// [`EngineBuilder::store_unavailable_after`](crate::EngineBuilder::store_unavailable_after).
    ///
    /// Nothing is lost: the engine retries the writes (with backoff) until the
    /// store takes them, and the run then goes on; a later
    /// [`result`](crate::WorkflowHandle::result) returns its outcome. The
    /// store's error is the [`source`](std::error::Error::source).
    #[error("workflow `{}` (run {run_id}) is waiting for its store: writes have failed since {}; the engine retries them", short(.workflow_id), humantime::format_rfc3339_seconds(*.since))]
    StoreUnavailable {
        /// The workflow id.
        workflow_id: String,
        /// The run whose writes fail.
        run_id: String,
        /// When the oldest of its failing writes first failed (engine clock).
        since: std::time::SystemTime,
        /// The store's latest error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The workflow is waiting on a future that weft did not give it, so
    /// nothing will ever wake it: the run is held (see [`Error::WorkflowPanicked`]).
    #[error("workflow `{}` (run {run_id}) is stalled: {message}", short(.workflow_id))]
    WorkflowStalled {
        /// The workflow id.
        workflow_id: String,
        /// The held run.
        run_id: String,
        /// What it waits on, and the likely causes.
        message: String,
    },
    /// A worker's completion of a task it no longer holds: its lease ran out
    /// and another worker claimed the task (or the run moved on, or closed).
    /// Nothing was written; the task's new holder carries on.
    #[error("stale {task} of workflow run {run_id}: {reason}")]
    StaleTask {
        /// The run the task belongs to.
        run_id: String,
        /// Which task: `workflow task`, `activity 3 attempt 2`, `timer 4`.
        task: String,
        /// Why it is stale.
        reason: &'static str,
    },
    /// The store path names a directory, a FIFO or another non-file.
    #[error("{path} is {kind}, not a store file")]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// The store file has more than one name (hard links). SQLite keeps the
    /// WAL beside the name a connection used, so two names mean two WALs and
    /// a corrupt store.
    #[error(
        "store {path} has {links} hard links; a store must have one name (SQLite keeps its WAL beside each name): remove the other links (`find / -samefile {path}`)"
    )]
    StoreHasLinks {
        /// The path given.
        path: PathBuf,
        /// How many names the file has.
        links: u64,
    },
    /// The PostgreSQL database (schema) holds other applications' tables and
    /// no weft store; weft does not mix its tables into them unless told to.
    #[error(
        "{url} (schema {schema}) holds other tables and no weft store: use an empty database, or a schema of weft's own (`EngineBuilder::postgres_schema`)"
    )]
    NotAWeftDatabase {
        /// The server's URL, its password replaced by `***`.
        url: String,
        /// The PostgreSQL schema looked in.
        schema: String,
    },
    /// The store's server could not be reached in time, or refused the connection.
    #[error("cannot connect to the store at {url}")]
    StoreConnect {
        /// The server's URL, its password replaced by `***`.
        url: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store's server refused the credentials (wrong user or password).
    #[error("the store at {url} refused the credentials of user `{user}`")]
    StoreAuth {
        /// The server's URL, its password replaced by `***`.
        url: String,
        /// The user name that was refused.
        user: String,
        /// The server's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Every connection of the store's pool stayed in use for longer than
    /// the pool's acquire timeout.
    #[error("all {size} connections to the store at {url} stayed in use for {waited:?}")]
    PoolExhausted {
        /// The server's URL, its password replaced by `***`.
        url: String,
        /// The pool's size.
        size: usize,
        /// How long the call waited for a connection.
        waited: std::time::Duration,
    },
    /// The workflow has no query of this name.
    #[error("workflow `{}` (run {run_id}) has no query `{query_name}`", short(.workflow_id))]
    UnknownQuery {
        /// The workflow id.
        workflow_id: String,
        /// The run queried.
        run_id: String,
        /// The name asked for.
        query_name: String,
    },
    /// A query got no answer: its handler panicked, its input or answer was
    /// refused (the payload limit), or the run's history does not replay.
    #[error("query `{query_name}` of workflow `{}` (run {run_id}) failed: {reason}", short(.workflow_id))]
    QueryFailed {
        /// The workflow id.
        workflow_id: String,
        /// The run queried.
        run_id: String,
        /// The query's name.
        query_name: String,
        /// Why.
        reason: String,
    },
    /// The workflow has no update of this name; nothing was recorded.
    #[error("workflow `{}` (run {run_id}) has no update `{update_name}`", short(.workflow_id))]
    UnknownUpdate {
        /// The workflow id.
        workflow_id: String,
        /// The run updated.
        run_id: String,
        /// The name asked for.
        update_name: String,
    },
    /// The update's validator refused it (or the run no longer takes updates);
    /// nothing was recorded, and the same update id may be sent again.
    #[error("update `{update_id}` of workflow `{}` (run {run_id}) was rejected", short(.workflow_id))]
    UpdateRejected {
        /// The workflow id.
        workflow_id: String,
        /// The run updated.
        run_id: String,
        /// The update id.
        update_id: String,
        /// What the validator returned.
        #[source]
        failure: Box<Failure>,
    },
    /// The update's handler returned an error (`WorkflowExecutionUpdateCompleted`
    /// records it; a call with the same update id returns it again).
    #[error("update `{update_id}` of workflow `{}` (run {run_id}) failed", short(.workflow_id))]
    UpdateFailed {
        /// The workflow id.
        workflow_id: String,
        /// The run updated.
        run_id: String,
        /// The update id.
        update_id: String,
        /// What the handler returned.
        #[source]
        failure: Box<Failure>,
    },
    /// Another connection held the store's write lock for longer than the busy timeout.
    #[error("store {path} is busy: another connection held its write lock for over {waited:?}; {holder}")]
    StoreBusy {
        /// The store file.
        path: PathBuf,
        /// How long the write waited.
        waited: std::time::Duration,
        /// Who is likely to hold the lock (the engine recorded in the store) and what to do.
        holder: String,
    },
}

impl Error {
    pub(crate) fn store(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Store { source: source.into() }
    }

    /// Whether the error may go away by itself, so that the same call can
    /// succeed later: the store is full, busy or locked, or its I/O failed.
    ///
    /// The engine retries its own writes that fail this way (see
    /// [`Error::StoreUnavailable`]); a caller may retry a start or a
    /// cancellation the same way. The classification reads the store's
    /// error chain: SQLite's result codes (`SQLITE_FULL`, `SQLITE_BUSY`,
    /// `SQLITE_LOCKED`, `SQLITE_IOERR`), PostgreSQL's (a lost or refused
    /// connection, a server restart, a serialization or deadlock failure, an
    /// exhausted pool), an I/O error's kind, and, for a cause kept only as
    /// text, SQLite's messages for those codes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store { source } => transient_cause(&**source),
            Error::StoreUnavailable { .. } | Error::PoolExhausted { .. } => true,
            Error::StoreConnect { source, .. } => transient_cause(&**source),
            _ => false,
        }
    }

    /// SQLite's error code, if this is a store error that SQLite reported
    /// (disk full, busy, corrupt, ...).
    pub(crate) fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            Error::Store { source } => source.downcast_ref::<rusqlite::Error>()?.sqlite_error_code(),
            _ => None,
        }
    }

    /// PostgreSQL's SQLSTATE (`23505`, ...), if this is a store error that
    /// the server reported.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_code(&self) -> Option<&str> {
        let Error::Store { source } = self else { return None };
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&**source);
        while let Some(e) = cause {
            if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
                return pg.code().map(|c| c.code());
            }
            cause = e.source();
        }
        None
    }

    /// A copy of an SQLite error for each of several callers (a failed group
    /// commit answers every write in it): the code and message are kept.
    pub(crate) fn from_shared_sqlite(e: &rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(code, message) => {
                Error::store(rusqlite::Error::SqliteFailure(*code, message.clone()))
            }
            other => Error::store(other.to_string()),
        }
    }
}

/// Whether `error` or one of its causes is a transient store failure.
fn transient_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    use rusqlite::ErrorCode as C;
    let mut cause = Some(error);
    while let Some(e) = cause {
        #[cfg(feature = "postgres")]
        if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
            return postgres_transient(pg);
        }
        if let Some(code) = e.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code) {
            return matches!(code, C::DiskFull | C::DatabaseBusy | C::DatabaseLocked | C::SystemIoFailure);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return matches!(
                io.kind(),
                K::StorageFull | K::QuotaExceeded | K::ResourceBusy | K::Interrupted | K::TimedOut | K::WouldBlock
            );
        }
        let text = e.to_string();
        if ["database or disk is full", "database is locked", "database table is locked", "disk I/O error"]
            .iter()
            .any(|m| text.contains(m))
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Whether a PostgreSQL error may go away by itself: the connection failed
/// or closed (a server restart), the server is starting or shutting down, out
/// of connections or resources, or the transaction lost a serialization,
/// deadlock or lock-timeout race. Not: a refused password, a bad query.
#[cfg(feature = "postgres")]
fn postgres_transient(e: &tokio_postgres::Error) -> bool {
    let Some(code) = e.code() else {
        // No SQLSTATE: the driver's own failure. Connecting, I/O, a closed
        // connection and timeouts are transient; conversions and protocol errors are not.
        if e.is_closed() {
            return true;
        }
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if s.is::<std::io::Error>() {
                return true;
            }
            source = s.source();
        }
        let text = e.to_string();
        return ["error connecting to server", "error communicating with the server", "timeout", "connection closed"]
            .iter()
            .any(|m| text.contains(m));
    };
    let code = code.code();
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources: disk full, out of memory, too many connections
        || code.starts_with("58") // system error (I/O)
        || matches!(
            code,
            "40001" // serialization_failure
                | "40P01" // deadlock_detected
                | "55P03" // lock_not_available (lock_timeout)
                | "57014" // query_canceled (statement_timeout)
                | "57P01" // admin_shutdown
                | "57P02" // crash_shutdown
                | "57P03" // cannot_connect_now
        )
}

/// What a store path names, when it is not a regular file ([`Error::NotAFile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A FIFO (named pipe): opening or reading it could block forever.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A block or character device.
    Device,
    /// Something else that is not a regular file.
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::Device => "a device",
            FileKind::Other => "not a regular file",
        })
    }
}

/// Displays an error with its whole `source()` chain: `error: cause: root cause`.
///
/// For logs and command lines, where `{error}` alone would print only the
/// outermost message (`store operation failed`). A cause whose text repeats
/// the one before it is printed once.
///
/// ```
/// let error = weft::Error::WorkflowNotFound { workflow_id: "order-17".into() };
/// tracing::error!(error = %weft::ErrorChain(&error), "could not cancel");
/// assert_eq!(weft::ErrorChain(&error).to_string(), "workflow `order-17` not found");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if text != last {
                write!(f, ": {text}")?;
            }
            last = text;
            source = cause.source();
        }
        Ok(())
    }
}

/// The most characters of a user-given id an error message repeats.
const SHORT_ID_CHARS: usize = 100;

/// An id as error messages show it: at most [`SHORT_ID_CHARS`] characters,
/// then `… (N chars)`, so a huge id does not flood a log or a terminal.
pub(crate) fn short(id: &str) -> Short<'_> {
    Short(id)
}

pub(crate) struct Short<'a>(&'a str);

impl std::fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHORT_ID_CHARS) {
            None => f.write_str(self.0),
            Some((end, _)) => write!(f, "{}… ({} chars)", &self.0[..end], self.0.chars().count()),
        }
    }
}

impl std::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHORT_ID_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((end, _)) => write!(f, "{:?}… ({} chars)", &self.0[..end], self.0.chars().count()),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::store(e)
    }
}

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The encoded payload is larger than the configured limit.
    #[error("payload is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Encoded size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The value could not be serialized.
    #[error("payload could not be encoded: {0}")]
    Encode(String),
    /// The payload does not deserialize into the expected type.
    #[error("payload could not be decoded: {0}")]
    Decode(String),
    /// The value holds a float NaN or infinity, which JSON cannot represent
    /// (serde_json would write `null`, which does not decode as a float).
    #[error("payload holds {value} at {path}; JSON has no such number")]
    NonFinite {
        /// `"NaN"`, `"inf"` or `"-inf"`.
        value: String,
        /// Where in the value: `$` is the value itself, then `.field`, `[index]`, `["key"]`.
        path: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Same(String, #[source] std::io::Error);

    #[test]
    fn the_chain_shows_every_cause_and_a_repeated_one_once() {
        let corrupt = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT);
        let error =
            Error::from(rusqlite::Error::SqliteFailure(corrupt, Some("database disk image is malformed".into())));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "store operation failed: database disk image is malformed: Error code 11: The database disk image is malformed"
        );
        assert_eq!(error.sqlite_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt));
        let repeated = Same("disk full".into(), std::io::Error::other("disk full"));
        assert_eq!(ErrorChain(&repeated).to_string(), "disk full");
    }

    #[test]
    fn a_long_id_is_cut_short_in_messages() {
        let id = "é".repeat(100_000);
        let message = Error::WorkflowNotFound { workflow_id: id.clone() }.to_string();
        assert_eq!(message, format!("workflow `{}… (100000 chars)` not found", "é".repeat(100)));
        let message = Error::InvalidWorkflowId { workflow_id: id, reason: "too long" }.to_string();
        assert!(message.len() < 300 && message.ends_with("… (100000 chars): too long"), "{message}");
        let short = Error::WorkflowNotFound { workflow_id: "x".repeat(100) }.to_string();
        assert_eq!(short, format!("workflow `{}` not found", "x".repeat(100)));
    }
}
