//! Looking into a store from outside the engine: the `weft` command's view.
//!
//! An [`Inspector`] opens an existing store file without taking the engine's
//! lock and without running anything, so it works next to a running engine
//! (SQLite's WAL lets readers and one writer share the file). It lists runs,
//! describes them and reads their histories; [`cancel_workflow`](Inspector::cancel_workflow),
//! [`terminate_workflow`](Inspector::terminate_workflow), [`signal`](Inspector::signal),
//! [`update`](Inspector::update) and [`query`](Inspector::query) put a
//! request in the run's inbox, which wakes a running engine at once (a
//! datagram, or PostgreSQL's `NOTIFY`) and a stopped one on its next start.
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
use crate::description::{WorkerDescription, WorkflowDescription};
use crate::history::{HistoryEvent, Payload};
use crate::list::{ListFilter, WorkflowCounts, WorkflowPage};
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

    /// A page of runs, newest first, and the next page's token.
    pub async fn list_workflows_page(&self, filter: ListFilter) -> Result<WorkflowPage> {
        query::list_page(&*self.store, filter).await
    }

    /// How many runs of `filter`'s type and id prefix have each status.
    pub async fn count_workflows(&self, filter: ListFilter) -> Result<WorkflowCounts> {
        query::count(&*self.store, filter).await
    }

    /// The newest run of `workflow_id`: status, hold reason, pending activities and timers.
    pub async fn describe(&self, workflow_id: &str) -> Result<WorkflowDescription> {
        query::describe(&*self.store, workflow_id).await
    }

    /// Run `run_id` of `workflow_id`, as [`describe`](Self::describe) tells
    /// of the newest; [`Error::RunNotFound`](crate::Error::RunNotFound) if there is no such run.
    pub async fn describe_run(&self, workflow_id: &str, run_id: &str) -> Result<WorkflowDescription> {
        query::describe_run(&*self.store, query::run_of(&*self.store, workflow_id, run_id).await?).await
    }

    /// The history of the newest run of `workflow_id`, checked (contiguous ids, checksums).
    pub async fn history(&self, workflow_id: &str) -> Result<Vec<HistoryEvent>> {
        query::history(&*self.store, workflow_id).await
    }

    /// The events of run `run_id` of `workflow_id` with ids above `after`, checked.
    pub async fn run_history(&self, workflow_id: &str, run_id: &str, after: u64) -> Result<Vec<HistoryEvent>> {
        let run = query::run_of(&*self.store, workflow_id, run_id).await?;
        self.store.history(run.run_id, run.workflow_id, after).await
    }

    /// The workers registered with the store (see [`Client::list_workers`](crate::Client::list_workers)).
    pub async fn list_workers(&self) -> Result<Vec<WorkerDescription>> {
        query::workers(&*self.store).await
    }

    /// Asks the open run of `workflow_id` to cancel (see [`Client::cancel_workflow`](crate::Client::cancel_workflow)).
    pub async fn cancel_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        query::deliver(&*self.store, workflow_id, InboxItem::CancelRequested { reason: reason.into() }).await.map(drop)
    }

    /// Signals the newest run of `workflow_id` with a JSON input (see
    /// [`Client::signal`](crate::Client::signal)); [`Error::NotRunning`](crate::Error::NotRunning)
    /// if it has closed. The input is not checked against the handler's type
    /// (this process has no workflow code): one that does not decode is
    /// recorded and skipped by the workflow, with a warning in its log.
    pub async fn signal(&self, workflow_id: &str, signal_name: &str, input_json: &str) -> Result<()> {
        let run = query::latest_run(&*self.store, workflow_id).await?;
        let input = self.payload(workflow_id, input_json)?;
        query::signal(&*self.store, &run, signal_name, input).await
    }

    /// Sends an update with a JSON input to the newest run of `workflow_id`
    /// and waits for its result, as JSON (see [`Client::update_with`](crate::Client::update_with)).
    /// `update_id` makes a retried call return the first call's outcome.
    pub async fn update(
        &self,
        workflow_id: &str,
        update_name: &str,
        input_json: &str,
        update_id: Option<String>,
    ) -> Result<Payload> {
        let run = query::latest_run(&*self.store, workflow_id).await?;
        let input = self.payload(workflow_id, input_json)?;
        let request = query::UpdateRequest { update_id, update_name: update_name.to_owned(), input };
        query::update(&*self.store, &run, request, None, || ()).await
    }

    /// Queries the open newest run of `workflow_id` with a JSON input and
    /// returns the answer, as JSON. This process has no workflow code, so
    /// the run's worker answers, with its next workflow task (which records
    /// nothing); a closed run is queried with [`Client::query`](crate::Client::query)
    /// from a process that registers its workflow.
    pub async fn query(&self, workflow_id: &str, query_name: &str, input_json: &str) -> Result<Payload> {
        let run = query::latest_run(&*self.store, workflow_id).await?;
        let input = self.payload(workflow_id, input_json)?;
        query::ask(&*self.store, &run, query_name, input).await
    }

    fn payload(&self, workflow_id: &str, json: &str) -> Result<Payload> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| crate::Error::Payload {
            workflow_id: workflow_id.to_owned(),
            source: crate::PayloadError::Decode(e.to_string()),
        })?;
        Payload::encode(&value, crate::history::DEFAULT_PAYLOAD_LIMIT)
            .map_err(|source| crate::Error::Payload { workflow_id: workflow_id.to_owned(), source })
    }

    /// Terminates the open run of `workflow_id` (see [`Client::terminate_workflow`](crate::Client::terminate_workflow)).
    pub async fn terminate_workflow(&self, workflow_id: &str, reason: impl Into<String>) -> Result<()> {
        query::deliver(&*self.store, workflow_id, InboxItem::Terminate { reason: reason.into() }).await.map(drop)
    }
}
