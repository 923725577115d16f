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
    #[error("workflow type `{workflow_type}` is not registered with this engine")]
    UnknownWorkflowType {
        /// The registered name that was asked for.
        workflow_type: String,
    },
    /// A workflow id is empty or too long.
    #[error("invalid workflow id {workflow_id:?}: {reason}")]
    InvalidWorkflowId {
        /// The id as given.
        workflow_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A run with this workflow id is still open.
    #[error("workflow `{workflow_id}` is already running (run {run_id})")]
    AlreadyStarted {
        /// The workflow id.
        workflow_id: String,
        /// The open run that holds the id.
        run_id: String,
    },
    /// No run with this workflow id (or run id) exists.
    #[error("workflow `{workflow_id}` not found")]
    WorkflowNotFound {
        /// The id that was asked for.
        workflow_id: String,
    },
    /// The workflow's newest run is closed, so it cannot be cancelled or terminated.
    #[error("workflow `{workflow_id}` (run {run_id}) is not running: it is {status}")]
    NotRunning {
        /// The workflow id.
        workflow_id: String,
        /// Its newest run.
        run_id: String,
        /// How that run ended.
        status: crate::RunStatus,
    },
    /// A payload could not be encoded, decoded, or was over the size limit.
    #[error("payload of workflow `{workflow_id}` rejected")]
    Payload {
        /// The workflow the payload belongs to.
        workflow_id: String,
        /// What was wrong with it.
        #[source]
        source: PayloadError,
    },
    /// The workflow ended in failure.
    #[error("workflow `{workflow_id}` (run {run_id}) failed")]
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
    #[error("workflow `{workflow_id}` (run {run_id}) was cancelled")]
    WorkflowCanceled {
        /// The workflow id.
        workflow_id: String,
        /// The cancelled run.
        run_id: String,
    },
    /// The run was terminated.
    #[error("workflow `{workflow_id}` (run {run_id}) was terminated: {reason}")]
    WorkflowTerminated {
        /// The workflow id.
        workflow_id: String,
        /// The terminated run.
        run_id: String,
        /// Why, as given to terminate.
        reason: String,
    },
    /// Replayed workflow code issued other commands than its history records.
    ///
    /// The run is held: it is neither advanced nor failed, and continues once
    /// code that matches the history runs it.
    #[error(
        "non-deterministic workflow `{workflow_id}` (run {run_id}) at event {event_id}: history has {expected}, code issued {found}"
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
    #[error("workflow `{workflow_id}` (run {run_id}) panicked: {message}")]
    WorkflowPanicked {
        /// The workflow id.
        workflow_id: String,
        /// The held run.
        run_id: String,
        /// The panic message.
        message: String,
    },
    /// A run's stored history is damaged; the run is quarantined.
    #[error("corrupt history of workflow `{workflow_id}` (run {run_id}): {reason}")]
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
    #[error("workflow `{workflow_id}` (run {run_id}) is waiting for its store: writes have failed since {}; the engine retries them", humantime::format_rfc3339_seconds(*since))]
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
    #[error("workflow `{workflow_id}` (run {run_id}) is stalled: {message}")]
    WorkflowStalled {
        /// The workflow id.
        workflow_id: String,
        /// The held run.
        run_id: String,
        /// What it waits on, and the likely causes.
        message: String,
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
    /// `SQLITE_LOCKED`, `SQLITE_IOERR`), an I/O error's kind, and, for a
    /// cause kept only as text, SQLite's messages for those codes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store { source } => transient_cause(&**source),
            Error::StoreUnavailable { .. } => true,
            _ => false,
        }
    }
}

/// Whether `error` or one of its causes is a transient store failure.
fn transient_cause(error: &(dyn std::error::Error + 'static)) -> bool {
    use rusqlite::ErrorCode as C;
    let mut cause = Some(error);
    while let Some(e) = cause {
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
}
