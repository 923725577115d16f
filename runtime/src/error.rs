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
}

impl Error {
    pub(crate) fn store(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Store { source: source.into() }
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
