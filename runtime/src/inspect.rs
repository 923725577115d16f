//! Looking into a store from outside the engine: the `weft` command's view.
//!
//! An [`Inspector`] opens an existing store file without taking the engine's
//! lock and without running anything, so it works next to a running engine
//! (SQLite's WAL lets readers and one writer share the file). It lists runs,
//! describes them and reads their histories; [`cancel_workflow`](Inspector::cancel_workflow)
//! and [`terminate_workflow`](Inspector::terminate_workflow) put a request in
//! the run's inbox, which a running engine picks up within its poll interval
//! (one second by default) and a stopped one on its next start.
//!
//! # Examples
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> weft::Result<()> {
//! let inspector = weft::inspect::Inspector::open("app.weft.db")?;
//! for run in inspector.list_workflows(weft::ListFilter::all().limit(10)).await? {
//!     println!("{} {} {}", run.workflow_id, run.workflow_type, run.status);
//! }
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use crate::Result;
use crate::client::ListFilter;
use crate::description::{WorkerDescription, WorkflowDescription};
use crate::history::HistoryEvent;
use crate::query;
use crate::store::sqlite::{Location, SqliteStore};
use crate::store::{InboxItem, Store};

/// A store opened for inspection: reads, and requests to cancel or terminate.
pub struct Inspector {
    store: Box<dyn Store>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").finish_non_exhaustive()
    }
}

impl Inspector {
    /// Opens the store at `path`. Fails with [`Error::StoreNotFound`](crate::Error::StoreNotFound) if there
    /// is no file, [`Error::NotAFile`](crate::Error::NotAFile) if it is a directory, a FIFO or the
    /// like, [`Error::StoreHasLinks`](crate::Error::StoreHasLinks) if it has several names,
    /// [`Error::UnsupportedSchema`](crate::Error::UnsupportedSchema) if a newer weft wrote it, and
    /// [`Error::NotAStore`](crate::Error::NotAStore) if it is not a weft store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_busy_timeout(path, Duration::from_secs(5))
    }

    /// Like [`open`](Self::open); a cancel or terminate that waits longer
    /// than `busy_timeout` for the store's write lock fails with
    /// [`Error::StoreBusy`](crate::Error::StoreBusy), which names the engine recorded in the store.
    pub fn open_with_busy_timeout(path: impl AsRef<Path>, busy_timeout: Duration) -> Result<Self> {
        let store = SqliteStore::open(&Location::Inspect { path: path.as_ref().to_owned(), busy_timeout })?;
        Ok(Inspector { store: Box::new(store) })
    }

    /// Connects to the weft store in the PostgreSQL database at `url`
    /// (`postgres://user:password@host:port/database`). A cancel or terminate
    /// wakes the worker that runs the workflow at once (`NOTIFY`).
    #[cfg(feature = "postgres")]
    pub async fn connect_postgres(url: &str) -> Result<Self> {
        let mut options = crate::store::postgres::PostgresOptions::new(url.to_owned());
        options.pool_size = 1;
        let store = crate::store::postgres::PostgresStore::connect(options).await?;
        Ok(Inspector { store: Box::new(store) })
    }

    /// Runs, newest first.
    pub async fn list_workflows(&self, filter: ListFilter) -> Result<Vec<WorkflowDescription>> {
        query::list(&*self.store, filter).await
    }

    /// The newest run of `workflow_id`: status, hold reason, pending activities and timers.
    pub async fn describe(&self, workflow_id: &str) -> Result<WorkflowDescription> {
        query::describe(&*self.store, workflow_id).await
    }

    /// The history of the newest run of `workflow_id`, checked (contiguous ids, checksums).
    pub async fn history(&self, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
        query::history(&*self.store, workflow_id).await
    }

    /// The workers registered with the store (see [`Client::list_workers`](crate::Client::list_workers)).
    pub async fn list_workers(&self) -> Result<Vec<WorkerDescription>> {
        query::workers(&*self.store).await
    }

    /// Asks the open run of `workflow_id` to cancel (see [`Client::cancel_workflow`](crate::Client::cancel_workflow)).
    pub async fn cancel_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        query::deliver(&*self.store, workflow_id, InboxItem::CancelRequested { reason: reason.into() }).await.map(drop)
    }

    /// Terminates the open run of `workflow_id` (see [`Client::terminate_workflow`](crate::Client::terminate_workflow)).
    pub async fn terminate_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        query::deliver(&*self.store, workflow_id, InboxItem::Terminate { reason: reason.into() }).await.map(drop)
    }
}
