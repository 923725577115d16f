//! The engine: a client, a worker and a store, in one process.
//!
//! [`Engine::builder`] registers workflows and activities, picks a store (an
//! SQLite file by default, memory, or PostgreSQL) and builds an [`Engine`].
//! Its worker claims work from the store under leases (see
//! [`worker`](self::worker)): workflow tasks, activity attempts and expired
//! attempts of its task queues and types. What it produces itself it runs
//! at once (a first step with the run, an activity's first attempt with the
//! step that scheduled it, a close with the step that records it); the rest
//! it claims like any other worker would. A client-only engine
//! ([`EngineBuilder::client_only`]) starts and reads workflows and runs nothing.

mod activity_task;
mod clock;
mod local_activity;
pub(crate) mod messages;
mod outage;
mod registry;
mod retention;
#[cfg(test)]
mod tests;
mod timers;
mod worker;
mod workflow_task;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lru::LruCache;
use parking_lot::Mutex;
use tokio::sync::{Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::clock::Clock;
use self::outage::Outages;
pub(crate) use self::registry::Registry;
use self::timers::TimerQueue;
pub use self::worker::WorkerStats;
use self::worker::{ClaimCounters, Poller};
pub(crate) use self::workflow_task::replay;
use crate::activity::{Activities, ActivityFn, AttemptShared, Registrar};
use crate::history::{DEFAULT_PAYLOAD_LIMIT, HistoryEvent};
pub use crate::store::Durability;
use crate::store::sqlite::{Location, SqliteStore};
use crate::store::{ActivityKey, Store, WorkerInfo};
use crate::workflow::Workflow;
use crate::workflow::machine::WorkflowMachine;
use crate::{Client, Result};

/// Tunables, set through [`EngineBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) payload_limit: usize,
    pub(crate) cache_size: usize,
    pub(crate) max_concurrent_activities: usize,
    pub(crate) heartbeat_throttle: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) store_unavailable_after: Duration,
    /// How long a claimed workflow task (and a worker's registration) lasts without renewal.
    pub(crate) lease: Duration,
    pub(crate) max_concurrent_workflow_tasks: usize,
    /// How long a closed run is kept (`None`: for ever).
    pub(crate) retention: Option<Duration>,
}

/// A running weft engine: the workers and the store, in this process.
///
/// Dropping it stops its background work at once; [`shutdown`](Engine::shutdown)
/// also waits for that to finish. What was committed stays in the store, and
/// the next engine on the same file carries on from there.
#[derive(Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// Builds an [`Engine`]: its store, its registered types, its limits.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> weft::Result<()> {
/// let engine = weft::Engine::builder()
///     .sqlite("app.weft.db")
///     .cache_size(1000)
///     .build()
///     .await?;
/// # drop(engine); Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an EngineBuilder does nothing until `build` is awaited"]
pub struct EngineBuilder {
    location: StoreLocation,
    /// Applied to the store at `build`, whichever store is chosen (and whenever).
    durability: Durability,
    #[cfg(feature = "postgres")]
    postgres: PostgresSettings,
    registry: Registry,
    config: Config,
    /// The task queues the worker polls (none given: [`DEFAULT_TASK_QUEUE`]).
    task_queues: Vec<String>,
    /// No worker: a client only.
    client_only: bool,
}

/// PostgreSQL settings given to the builder, applied at `build`.
#[cfg(feature = "postgres")]
#[derive(Debug, Default)]
struct PostgresSettings {
    pool_size: Option<usize>,
    schema: Option<String>,
}

/// Which store an [`EngineBuilder`] opens.
#[derive(Debug)]
enum StoreLocation {
    Sqlite(Location),
    #[cfg(feature = "postgres")]
    Postgres(crate::store::postgres::PostgresOptions),
}

/// The task queue of workflows and activities that name none.
pub const DEFAULT_TASK_QUEUE: &str = "default";

pub(crate) struct Inner {
    pub(crate) store: Box<dyn Store>,
    pub(crate) registry: Registry,
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    /// This process's worker; `None` in a client-only engine.
    pub(crate) worker: Option<Arc<WorkerInfo>>,
    /// Runs whose workflow task this process is claiming or stepping; `true`
    /// if another claim is wanted after it.
    busy: Mutex<HashMap<String, bool>>,
    /// Workflow machines kept between steps (absent: rebuilt by replay).
    cache: Mutex<Option<LruCache<String, WorkflowMachine>>>,
    /// Running activity attempts.
    attempts: Mutex<HashMap<ActivityKey, Arc<AttemptShared>>>,
    /// Activities whose cancellation was requested, until they close.
    cancelled: Mutex<HashSet<ActivityKey>>,
    /// Callers waiting for a run to close.
    /// Waiting for a run to close: each gets the run's close event.
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<HistoryEvent>>>>,
    /// Runs whose steps a caller waits on (an update's outcome), by run id.
    stepped: Mutex<HashMap<String, tokio::sync::watch::Sender<()>>>,
    /// Wakes the worker's claim loop.
    pub(crate) poller: Poller,
    /// What the claim loop has claimed.
    pub(crate) claimed: ClaimCounters,
    /// The timers this worker started, by due time.
    timers: TimerQueue,
    /// Runs whose store writes are being retried (disk full, locked).
    pub(crate) outages: Outages,
    activity_slots: Arc<Semaphore>,
    workflow_slots: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            location: StoreLocation::Sqlite(Location::File {
                path: PathBuf::from("weft.db"),
                durability: Durability::Full,
                inline: false,
                foreign_tables: false,
            }),
            registry: Registry::default(),
            config: Config {
                payload_limit: DEFAULT_PAYLOAD_LIMIT,
                cache_size: 10_000,
                max_concurrent_activities: 1_000,
                heartbeat_throttle: Duration::from_secs(30),
                poll_interval: Duration::from_secs(5),
                store_unavailable_after: Duration::from_secs(10),
                lease: Duration::from_secs(10),
                max_concurrent_workflow_tasks: 256,
                retention: None,
            },
            durability: Durability::Full,
            #[cfg(feature = "postgres")]
            postgres: PostgresSettings::default(),
            task_queues: Vec::new(),
            client_only: false,
        }
    }
}

impl EngineBuilder {
    /// Keeps the store in the SQLite file at `path` (created if missing or
    /// empty), with [`Durability::Full`]. This is the default, at `./weft.db`.
    ///
    /// A database that is not a weft store (it has other tables) is refused
    /// with [`Error::NotAStore`](crate::Error::NotAStore): weft does not write
    /// into another application's database unless told to with
    /// [`sqlite_shared`](Self::sqlite_shared).
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.location = StoreLocation::Sqlite(Location::File {
            path: path.into(),
            durability: Durability::Full,
            inline: false,
            foreign_tables: false,
        });
        self
    }

    /// Like [`sqlite`](Self::sqlite), but the database may also hold other
    /// applications' tables: weft adds its own (`runs`, `events`,
    /// `activity_tasks`, `timers`, `inbox`, `weft_engine`) beside them and
    /// takes the database's `user_version` for its schema version, so the
    /// database must not use `user_version` itself.
    pub fn sqlite_shared(mut self, path: impl Into<PathBuf>) -> Self {
        self.location = StoreLocation::Sqlite(Location::File {
            path: path.into(),
            durability: Durability::Full,
            inline: false,
            foreign_tables: true,
        });
        self
    }

    /// Keeps the store in the SQLite file at `path`, run on the caller's
    /// thread instead of a writer thread: slower, but deterministic on
    /// virtual time. For [`TestEnv::start_on_file`](crate::testing::TestEnv::start_on_file).
    pub(crate) fn sqlite_inline(mut self, path: impl Into<PathBuf>) -> Self {
        self.location = StoreLocation::Sqlite(Location::File {
            path: path.into(),
            durability: Durability::Full,
            inline: true,
            foreign_tables: false,
        });
        self
    }

    /// Sets the store's durability (ignored in memory), before or after the
    /// store is chosen.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Keeps the store in memory: nothing survives the engine. For tests.
    pub fn in_memory(mut self) -> Self {
        self.location = StoreLocation::Sqlite(Location::Memory);
        self
    }

    /// Keeps the store in the PostgreSQL database at `url`
    /// (`postgres://user:password@host:port/database`), shared by every
    /// process that names it: workers on many machines and client-only
    /// processes. See docs/scale-out.md.
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.location = StoreLocation::Postgres(crate::store::postgres::PostgresOptions::new(url.into()));
        self
    }

    /// How many connections this process keeps to PostgreSQL (default 8).
    /// Ignored by the other stores.
    #[cfg(feature = "postgres")]
    pub fn postgres_pool_size(mut self, connections: usize) -> Self {
        self.postgres.pool_size = Some(connections.max(1));
        self
    }

    /// Keeps weft's tables in this PostgreSQL schema (created if missing)
    /// instead of the connection's default (`public`): several weft stores,
    /// or weft beside an application's own tables, in one database.
    /// Ignored by the other stores.
    #[cfg(feature = "postgres")]
    pub fn postgres_schema(mut self, schema: impl Into<String>) -> Self {
        self.postgres.schema = Some(schema.into());
        self
    }

    /// Adds a task queue for this engine's worker to poll. Without any, it
    /// polls [`DEFAULT_TASK_QUEUE`]. The worker claims only the workflow and
    /// activity types registered with it, on its queues; route work to a
    /// queue with [`WorkflowOptions::task_queue`](crate::WorkflowOptions::task_queue)
    /// and [`ActivityOptions::task_queue`](crate::ActivityOptions::task_queue).
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queues.push(queue.into());
        self
    }

    /// Builds a client only: it starts, describes, cancels and waits for
    /// workflows, and runs none (no worker, nothing claimed; task queues
    /// given to the builder are ignored).
    pub fn client_only(mut self) -> Self {
        self.client_only = true;
        self
    }

    /// How long a worker's claim on a workflow task lasts, and how long a
    /// worker counts as live, without renewal (default 10 s). The worker
    /// renews both every third of it; when it dies, another takes its
    /// workflow tasks (and its cached runs) over once this has passed.
    pub fn lease(mut self, duration: Duration) -> Self {
        self.config.lease = duration.max(Duration::from_millis(10));
        self
    }

    /// How many workflow tasks the worker runs at once (default 256).
    pub fn max_concurrent_workflow_tasks(mut self, tasks: usize) -> Self {
        self.config.max_concurrent_workflow_tasks = tasks.max(1);
        self
    }

    /// Deletes each closed run, with its history, `period` after it closed
    /// (Temporal's namespace retention), so that the store does not grow
    /// without bound. The worker sweeps at start and then every minute (or
    /// every `period`, if shorter); open runs are never deleted, and a
    /// client-only engine deletes nothing. Default: closed runs are kept.
    /// A period under one second is taken as one second.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> weft::Result<()> {
    /// use std::time::Duration;
    /// let engine = weft::Engine::builder()
    ///     .sqlite("app.weft.db")
    ///     .retention(Duration::from_secs(7 * 24 * 3600))
    ///     .build()
    ///     .await?;
    /// # drop(engine); Ok(()) }
    /// ```
    pub fn retention(mut self, period: Duration) -> Self {
        self.config.retention = Some(period.max(Duration::from_secs(1)));
        self
    }

    /// Registers a workflow type (the stub `#[workflow]` made).
    pub fn register_workflow<W: Workflow>(mut self, workflow: W) -> Self {
        let _ = workflow;
        self.registry.add_workflow::<W>();
        self
    }

    /// Registers an activity type (the stub `#[activity]` made).
    pub fn register_activity<A: ActivityFn>(mut self, activity: A) -> Self {
        let _ = activity;
        self.registry.add_activity::<A>();
        self
    }

    /// Registers the activity methods of an `#[activities]` impl block; the
    /// one `instance` serves every call, concurrently, so it holds what the
    /// calls share (connection pools, clients) and must be `Sync`.
    pub fn register_activities<T: Activities>(mut self, instance: Arc<T>) -> Self {
        T::register(instance, &mut Registrar { registry: &mut self.registry });
        self
    }

    /// The largest payload (input, result, heartbeat details) accepted, in bytes.
    /// Default: [`DEFAULT_PAYLOAD_LIMIT`] (2 MiB).
    pub fn payload_limit(mut self, bytes: usize) -> Self {
        self.config.payload_limit = bytes;
        self
    }

    /// How many workflows are kept in memory between steps (default 10 000).
    /// 0 replays every workflow from its history at every step.
    pub fn cache_size(mut self, workflows: usize) -> Self {
        self.config.cache_size = workflows;
        self
    }

    /// How many activity attempts run at once (default 1 000); the rest wait
    /// in the store, where their schedule-to-start timeout runs.
    pub fn max_concurrent_activities(mut self, attempts: usize) -> Self {
        self.config.max_concurrent_activities = attempts.max(1);
        self
    }

    /// How often the worker looks for work when nothing has woken it (default
    /// 5 s). Only a fallback: new work wakes it at once (an in-process signal,
    /// a datagram from the `weft` command, or PostgreSQL's `NOTIFY`), and
    /// timers, retries and lease ends wake it when they are due.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long the store may refuse a run's writes for a transient reason
    /// (the disk is full, the file is locked) before callers waiting on the
    /// run's [`result`](crate::WorkflowHandle::result) get
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable) (default 10 s).
    /// The engine retries the writes either way, until the store takes them.
    pub fn store_unavailable_after(mut self, duration: Duration) -> Self {
        self.config.store_unavailable_after = duration;
        self
    }

    /// Opens the store, registers the worker, and starts serving: the work
    /// that was in flight is claimed like any other.
    ///
    /// Must be called within a tokio runtime.
    pub async fn build(mut self) -> Result<Engine> {
        let store: Box<dyn Store> = match &mut self.location {
            StoreLocation::Sqlite(location) => {
                if let Location::File { durability, .. } = location {
                    *durability = self.durability;
                }
                Box::new(SqliteStore::open(location)?)
            }
            #[cfg(feature = "postgres")]
            StoreLocation::Postgres(options) => {
                options.durability = self.durability;
                if let Some(pool_size) = self.postgres.pool_size {
                    options.pool_size = pool_size;
                }
                options.schema = self.postgres.schema.take();
                Box::new(crate::store::postgres::PostgresStore::connect(options.clone()).await?)
            }
        };
        self.build_on(store).await
    }

    /// Builds the engine on an open store.
    pub(crate) async fn build_on(self, store: Box<dyn Store>) -> Result<Engine> {
        let cache = NonZeroUsize::new(self.config.cache_size).map(LruCache::new);
        let clock = Clock::new();
        let queues = (!self.client_only).then_some(self.task_queues);
        let worker = queues.map(|mut queues| {
            if queues.is_empty() {
                queues.push(DEFAULT_TASK_QUEUE.to_owned());
            }
            queues.sort();
            queues.dedup();
            let mut workflow_types: Vec<String> = self.registry.workflows.keys().map(|t| (*t).to_owned()).collect();
            let mut activity_types: Vec<String> = self.registry.activities.keys().map(|t| (*t).to_owned()).collect();
            workflow_types.sort();
            activity_types.sort();
            Arc::new(WorkerInfo {
                worker_id: uuid::Uuid::now_v7().to_string(),
                host: crate::store::host_name(),
                pid: std::process::id(),
                task_queues: queues,
                workflow_types,
                activity_types,
                started_at: clock.now(),
            })
        });
        let inner = Arc::new(Inner {
            store,
            registry: self.registry,
            activity_slots: Arc::new(Semaphore::new(self.config.max_concurrent_activities)),
            workflow_slots: Arc::new(Semaphore::new(self.config.max_concurrent_workflow_tasks)),
            config: self.config,
            clock,
            worker,
            busy: Mutex::default(),
            cache: Mutex::new(cache),
            attempts: Mutex::default(),
            cancelled: Mutex::default(),
            waiters: Mutex::default(),
            stepped: Mutex::default(),
            poller: Poller::default(),
            claimed: ClaimCounters::default(),
            timers: TimerQueue::default(),
            outages: Outages::default(),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        });
        if inner.store.exclusive() {
            // No one else can be running what the previous process left running.
            inner.store.expire_all(inner.clock.now()).await?;
        }
        inner.start_worker().await?;
        Ok(Engine { inner })
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// A client to start workflows and read their state. Cheap to clone.
    pub fn client(&self) -> Client {
        Client::new(self.inner.clone())
    }

    /// What this process's worker has claimed from the store so far (all
    /// zero for a client-only engine).
    pub fn worker_stats(&self) -> WorkerStats {
        self.inner.claimed.stats()
    }

    /// The engine's clock: wall time, or virtual time under `tokio::time::pause`
    /// (see [`testing`](crate::testing)). History timestamps come from it.
    pub fn now(&self) -> std::time::SystemTime {
        self.inner.clock.now()
    }

    /// Stops all background work and waits until it has stopped, then
    /// unregisters the worker, so that other workers take its runs over at
    /// once. Running activity attempts are dropped: another worker (or the
    /// next engine on an embedded store) retries them.
    pub async fn shutdown(self) {
        self.inner.stop();
        self.inner.tracker.wait().await;
        if let Some(worker) = &self.inner.worker
            && let Err(error) = self.inner.store.unregister_worker(worker.worker_id.clone()).await
        {
            tracing::warn!(error = %crate::ErrorChain(&error), "could not unregister the worker; its runs move when its lease ends");
        }
        self.inner.store.close();
    }
}

impl Drop for Engine {
    /// Stops the engine without waiting; handles and clients still around
    /// get [`Error::Shutdown`](crate::Error::Shutdown).
    fn drop(&mut self) {
        self.inner.stop();
        self.inner.store.close();
    }
}

impl Inner {
    fn stop(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.waiters.lock().clear();
        self.stepped.lock().clear();
    }

    /// Spawns engine work that ends with the engine.
    pub(crate) fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        let shutdown = self.shutdown.clone();
        self.tracker.spawn(async move {
            // Biased: once the engine is stopped, no task takes another step
            // (such as a timer firing because paused time jumped during shutdown).
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {}
                () = future => {}
            }
        });
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Registers interest in a run's close; the receiver fires when it closes.
    pub(crate) fn watch_close(&self, run_id: &str) -> oneshot::Receiver<HistoryEvent> {
        let (tx, rx) = oneshot::channel();
        if !self.is_stopped() {
            self.waiters.lock().entry(run_id.to_owned()).or_default().push(tx);
        }
        rx
    }

    /// Every caller waiting for a close reads the store again (a dropped channel).
    pub(crate) fn recheck_waiters(&self) {
        self.waiters.lock().clear();
    }

    /// The run closed: waiters get its close event (or, without one, a dropped
    /// channel, and read the store).
    pub(crate) fn notify_closed(&self, run_id: &str, close: Option<&HistoryEvent>) {
        for tx in self.waiters.lock().remove(run_id).unwrap_or_default() {
            if let Some(close) = close {
                let _ = tx.send(close.clone());
            }
        }
    }
}
