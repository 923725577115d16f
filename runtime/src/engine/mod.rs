//! The embedded engine: workflow steps, activity attempts, timers, recovery.
//!
//! [`Engine::builder`] registers workflows and activities, picks a store
//! (an SQLite file by default, or memory) and builds an [`Engine`], which
//! runs everything on the current tokio runtime: it recovers what was in
//! flight, then serves new work until [`Engine::shutdown`].

mod activity_task;
mod clock;
mod outage;
mod registry;
#[cfg(test)]
mod tests;
mod timers;
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
use self::timers::{TimerAction, TimerQueue};
pub(crate) use self::workflow_task::replay;
use crate::activity::{Activities, ActivityFn, AttemptShared, Registrar};
use crate::history::{DEFAULT_PAYLOAD_LIMIT, HistoryEvent};
use crate::store::sqlite::{Location, SqliteStore};
use crate::store::{ActivityKey, Store};
use crate::workflow::Workflow;
use crate::workflow::machine::WorkflowMachine;
use crate::{Client, Result};

/// How hard the SQLite store pushes each commit to disk.
///
/// | setting | a committed step survives |
/// |---|---|
/// | `Full` (default) | process crash (`kill -9`) and power loss |
/// | `Normal` | process crash; power loss may lose the last commits (never corrupts) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// SQLite `synchronous=FULL`: every commit is fsynced (group commit shares one fsync).
    #[default]
    Full,
    /// SQLite `synchronous=NORMAL` in WAL mode: fsync at checkpoints only.
    Normal,
}

/// Tunables, set through [`EngineBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) payload_limit: usize,
    pub(crate) cache_size: usize,
    pub(crate) max_concurrent_activities: usize,
    pub(crate) heartbeat_throttle: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) store_unavailable_after: Duration,
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
    location: Location,
    registry: Registry,
    config: Config,
}

pub(crate) struct Inner {
    pub(crate) store: Box<dyn Store>,
    pub(crate) registry: Registry,
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    /// Runs with a workflow step under way; `true` if another is wanted after it.
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
    timers: TimerQueue,
    /// Runs whose store writes are being retried (disk full, locked).
    pub(crate) outages: Outages,
    activity_slots: Arc<Semaphore>,
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
            location: Location::File {
                path: PathBuf::from("weft.db"),
                durability: Durability::Full,
                inline: false,
                foreign_tables: false,
            },
            registry: Registry::default(),
            config: Config {
                payload_limit: DEFAULT_PAYLOAD_LIMIT,
                cache_size: 10_000,
                max_concurrent_activities: 1_000,
                heartbeat_throttle: Duration::from_secs(30),
                poll_interval: Duration::from_secs(1),
                store_unavailable_after: Duration::from_secs(10),
            },
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
        self.location =
            Location::File { path: path.into(), durability: Durability::Full, inline: false, foreign_tables: false };
        self
    }

    /// Like [`sqlite`](Self::sqlite), but the database may also hold other
    /// applications' tables: weft adds its own (`runs`, `events`,
    /// `activity_tasks`, `timers`, `inbox`, `weft_engine`) beside them and
    /// takes the database's `user_version` for its schema version, so the
    /// database must not use `user_version` itself.
    pub fn sqlite_shared(mut self, path: impl Into<PathBuf>) -> Self {
        self.location =
            Location::File { path: path.into(), durability: Durability::Full, inline: false, foreign_tables: true };
        self
    }

    /// Keeps the store in the SQLite file at `path`, run on the caller's
    /// thread instead of a writer thread: slower, but deterministic on
    /// virtual time. For [`TestEnv::start_on_file`](crate::testing::TestEnv::start_on_file).
    pub(crate) fn sqlite_inline(mut self, path: impl Into<PathBuf>) -> Self {
        self.location =
            Location::File { path: path.into(), durability: Durability::Full, inline: true, foreign_tables: false };
        self
    }

    /// Sets the file store's durability (ignored in memory).
    pub fn durability(mut self, durability: Durability) -> Self {
        if let Location::File { durability: d, .. } = &mut self.location {
            *d = durability;
        }
        self
    }

    /// Keeps the store in memory: nothing survives the engine. For tests.
    pub fn in_memory(mut self) -> Self {
        self.location = Location::Memory;
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
    /// in the queue, where their schedule-to-start timeout runs.
    pub fn max_concurrent_activities(mut self, attempts: usize) -> Self {
        self.config.max_concurrent_activities = attempts.max(1);
        self
    }

    /// How often the engine looks for requests written into its store from
    /// outside, such as `weft workflow cancel` (default 1 s).
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

    /// Opens the store, recovers the work that was in flight, and starts serving.
    ///
    /// Must be called within a tokio runtime.
    pub async fn build(self) -> Result<Engine> {
        let store = SqliteStore::open(&self.location)?;
        self.build_on(Box::new(store)).await
    }

    /// Builds the engine on an open store.
    pub(crate) async fn build_on(self, store: Box<dyn Store>) -> Result<Engine> {
        let cache = NonZeroUsize::new(self.config.cache_size).map(LruCache::new);
        let inner = Arc::new(Inner {
            store,
            registry: self.registry,
            activity_slots: Arc::new(Semaphore::new(self.config.max_concurrent_activities)),
            config: self.config,
            clock: Clock::new(),
            busy: Mutex::default(),
            cache: Mutex::new(cache),
            attempts: Mutex::default(),
            cancelled: Mutex::default(),
            waiters: Mutex::default(),
            timers: TimerQueue::default(),
            outages: Outages::default(),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        });
        let (mut seen, _) = inner.store.inbox_since(-1).await?;
        inner.recover().await?;
        let poller = inner.clone();
        inner.spawn(async move {
            loop {
                tokio::time::sleep(poller.config.poll_interval).await;
                match poller.store.inbox_since(seen).await {
                    Ok((newest, runs)) => {
                        seen = newest;
                        for run_id in runs {
                            poller.schedule_workflow_task(run_id);
                        }
                    }
                    Err(error) => tracing::warn!(error = %crate::ErrorChain(&error), "could not poll the store for outside requests"),
                }
            }
        });
        let timer_loop = inner.clone();
        inner.spawn(async move {
            loop {
                let action = timer_loop.timers.next().await;
                timer_loop.on_timer(action);
            }
        });
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

    /// The engine's clock: wall time, or virtual time under `tokio::time::pause`
    /// (see [`testing`](crate::testing)). History timestamps come from it.
    pub fn now(&self) -> std::time::SystemTime {
        self.inner.clock.now()
    }

    /// Stops all background work and waits until it has stopped. Running
    /// activity attempts are dropped; the next engine retries them.
    pub async fn shutdown(self) {
        self.inner.stop();
        self.inner.tracker.wait().await;
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

    fn on_timer(self: &Arc<Self>, action: TimerAction) {
        match action {
            TimerAction::Fire(timer) => {
                let inner = self.clone();
                self.spawn(async move {
                    let fire = || inner.store.fire_timer(timer.run_id.clone(), timer.seq, timer.started_event_id);
                    match inner.persist(&timer.run_id, fire).await {
                        Ok(true) => inner.schedule_workflow_task(timer.run_id),
                        Ok(false) => {}
                        Err(e) => tracing::error!(run_id = %timer.run_id, error = %crate::ErrorChain(&e), "could not fire timer"),
                    }
                });
            }
            TimerAction::Retry(task) => self.start_activity(*task),
        }
    }

    /// Registers interest in a run's close; the receiver fires when it closes.
    pub(crate) fn watch_close(&self, run_id: &str) -> oneshot::Receiver<HistoryEvent> {
        let (tx, rx) = oneshot::channel();
        if !self.is_stopped() {
            self.waiters.lock().entry(run_id.to_owned()).or_default().push(tx);
        }
        rx
    }

    /// The run closed: waiters get its close event (or, without one, a dropped
    /// channel, and read the store).
    fn notify_closed(&self, run_id: &str, close: Option<&HistoryEvent>) {
        for tx in self.waiters.lock().remove(run_id).unwrap_or_default() {
            if let Some(close) = close {
                let _ = tx.send(close.clone());
            }
        }
    }

    /// Reloads what was in flight: workflow steps, activities, timers.
    async fn recover(self: &Arc<Self>) -> Result<()> {
        let recovery = self.store.recover().await?;
        let (runs, activities, timers) =
            (recovery.runs_with_work.len(), recovery.activities.len(), recovery.timers.len());
        for timer in recovery.timers {
            self.arm_timer(timer);
        }
        for task in recovery.activities {
            self.recover_activity(task);
        }
        for run_id in recovery.runs_with_work {
            self.schedule_workflow_task(run_id);
        }
        if runs + activities + timers > 0 {
            tracing::info!(runs, activities, timers, "recovered work in flight");
        }
        Ok(())
    }
}
