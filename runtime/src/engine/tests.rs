//! The engine on a store that refuses writes: a full disk (SQLite's own
//! `SQLITE_FULL`, from a capped file) and a store whose writes fail on demand;
//! and what it records of an activity's closing attempt, on either path a close takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use crate::activity::ActivityFn;
use crate::history::{EventAttributes, HistoryEvent, Payload};
use crate::store::sqlite::{Location, SqliteStore};
use crate::store::{
    ActivityFence, ActivityKey, ActivityTask, ActivityUpdate, InboxItem, ListedRun, RunCounts, RunFilter, RunRecord,
    RunStart, StepCommit, Store, StoreListener, TimerTask, WorkerInfo, WorkerRecord, WorkflowIdReusePolicy,
    WorkflowTask,
};
use crate::workflow::Handlers;
use crate::workflow::definition::WorkflowDefinition;
use crate::{
    Activity, ActivityContext, ActivityError, ActivityOptions, Durability, Engine, Error, Result, Workflow,
    WorkflowContext, WorkflowResult,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Returns `size` bytes after 5 s.
#[derive(Clone, Copy)]
struct Produce;
impl Activity for Produce {
    type Input = usize;
    type Output = String;
    const NAME: &'static str = "produce";
}
impl ActivityFn for Produce {
    async fn run(_ctx: ActivityContext, size: usize) -> Result<String, ActivityError> {
        tokio::time::sleep(secs(5)).await;
        Ok("x".repeat(size))
    }
}

/// An activity, then a 60 s timer.
#[derive(Clone, Copy)]
struct ProduceThenSleep;
impl Workflow for ProduceThenSleep {
    type Input = usize;
    type Output = usize;
    const NAME: &'static str = "produce_then_sleep";
    type Definition = Self;
}
impl WorkflowDefinition for ProduceThenSleep {
    type State = ();
    fn init(_: &usize) {}
    async fn run(ctx: WorkflowContext, size: usize) -> WorkflowResult<usize> {
        let text = ctx.execute_activity(Produce, size, ActivityOptions::start_to_close(secs(60))).await?;
        ctx.sleep(secs(60)).await?;
        Ok(text.len())
    }
    fn handlers() -> Handlers<()> {
        Handlers::new()
    }
}

/// A store whose writes fail with SQLite's "database or disk is full" while `full` is set.
/// With `interlope` set, the next closing commit finds a signal that came
/// in after its step read the inbox. With `refuse_workflow_claims` set,
/// only claims of workflow tasks fail so.
struct Faulty {
    sqlite: Arc<SqliteStore>,
    full: Arc<AtomicBool>,
    interlope: Arc<AtomicBool>,
    refuse_workflow_claims: bool,
}

/// SQLite's "database or disk is full", as a refused write gets it.
fn disk_full() -> Error {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL);
    rusqlite::Error::SqliteFailure(code, Some("database or disk is full".into())).into()
}

impl Faulty {
    /// `sqlite`, every switch off.
    fn new(sqlite: Arc<SqliteStore>) -> Self {
        Faulty {
            sqlite,
            full: Arc::new(AtomicBool::new(false)),
            interlope: Arc::new(AtomicBool::new(false)),
            refuse_workflow_claims: false,
        }
    }

    fn check(&self) -> Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(disk_full());
        }
        Ok(())
    }

    /// Runs `write` unless the store is "full" (an inline store writes when called).
    fn write<'a, T: Send + 'a>(&'a self, write: impl FnOnce() -> BoxFuture<'a, Result<T>>) -> BoxFuture<'a, Result<T>> {
        match self.check() {
            Ok(()) => write(),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

impl Store for Faulty {
    fn exclusive(&self) -> bool {
        self.sqlite.exclusive()
    }
    fn subscribe(&self, listener: Arc<dyn StoreListener>) {
        self.sqlite.subscribe(listener)
    }
    fn register_worker(&self, worker: Arc<WorkerInfo>, expires_at: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.register_worker(worker, expires_at))
    }
    fn heartbeat_worker(
        &self,
        worker_id: String,
        expires_at: SystemTime,
        lease_deadline: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.heartbeat_worker(worker_id, expires_at, lease_deadline))
    }
    fn unregister_worker(&self, worker_id: String) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.unregister_worker(worker_id))
    }
    fn list_workers(&self) -> BoxFuture<'_, Result<Vec<WorkerRecord>>> {
        self.sqlite.list_workers()
    }
    fn expire_all(&self, now: SystemTime) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.expire_all(now))
    }
    fn create_run(&self, run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.create_run(run, start, reuse))
    }
    fn claim_workflow_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<WorkflowTask>>> {
        if self.refuse_workflow_claims {
            return Box::pin(async { Err(disk_full()) });
        }
        self.write(|| self.sqlite.claim_workflow_tasks(worker, now, lease, limit))
    }
    fn claim_workflow_task(
        &self,
        worker: Arc<WorkerInfo>,
        run_id: String,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Option<WorkflowTask>>> {
        self.write(|| self.sqlite.claim_workflow_task(worker, run_id, now, lease))
    }
    fn commit_workflow_task(&self, commit: StepCommit) -> BoxFuture<'_, Result<bool>> {
        if commit.close.is_some() && self.interlope.swap(false, Ordering::SeqCst) {
            let signal =
                InboxItem::Signal { signal_name: "late".into(), input: Payload::from_json("1".into()).unwrap() };
            return Box::pin(async move {
                assert!(self.sqlite.add_to_inbox(commit.run_id.clone(), signal).await?);
                self.sqlite.commit_workflow_task(commit).await
            });
        }
        self.write(|| self.sqlite.commit_workflow_task(commit))
    }
    fn release_workflow_task(&self, run_id: String, token: i64) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.release_workflow_task(run_id, token))
    }
    fn hold_run(
        &self,
        run_id: String,
        token: Option<i64>,
        reason: Option<String>,
        now: SystemTime,
    ) -> BoxFuture<'_, Result<()>> {
        self.write(|| self.sqlite.hold_run(run_id, token, reason, now))
    }
    fn add_to_inbox(&self, run_id: String, item: InboxItem) -> BoxFuture<'_, Result<bool>> {
        self.write(|| self.sqlite.add_to_inbox(run_id, item))
    }
    fn claim_activity_tasks(
        &self,
        worker: Arc<WorkerInfo>,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        self.write(|| self.sqlite.claim_activity_tasks(worker, now, limit))
    }
    fn claim_expired_activities(
        &self,
        worker_id: String,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityTask>>> {
        self.write(|| self.sqlite.claim_expired_activities(worker_id, now, lease, limit))
    }
    fn update_activity(&self, fence: ActivityFence, update: ActivityUpdate) -> BoxFuture<'_, Result<bool>> {
        self.write(|| self.sqlite.update_activity(fence, update))
    }
    fn cancel_queued_activity(&self, key: ActivityKey) -> BoxFuture<'_, Result<bool>> {
        self.write(|| self.sqlite.cancel_queued_activity(key))
    }
    fn next_due(&self, worker: Arc<WorkerInfo>, now: SystemTime) -> BoxFuture<'_, Result<Option<SystemTime>>> {
        self.sqlite.next_due(worker, now)
    }
    fn run(&self, run_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.sqlite.run(run_id)
    }
    fn latest_run(&self, workflow_id: String) -> BoxFuture<'_, Result<Option<RunRecord>>> {
        self.sqlite.latest_run(workflow_id)
    }
    fn list_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<Vec<ListedRun>>> {
        self.sqlite.list_runs(filter)
    }
    fn count_runs(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunCounts>> {
        self.sqlite.count_runs(filter)
    }
    fn history(&self, run_id: String, workflow_id: String, after: u64) -> BoxFuture<'_, Result<Vec<HistoryEvent>>> {
        self.sqlite.history(run_id, workflow_id, after)
    }
    fn pending(&self, run_id: String) -> BoxFuture<'_, Result<(Vec<ActivityTask>, Vec<TimerTask>)>> {
        self.sqlite.pending(run_id)
    }
    fn delete_closed_runs(&self, closed_before: SystemTime, limit: usize) -> BoxFuture<'_, Result<usize>> {
        self.sqlite.delete_closed_runs(closed_before, limit)
    }
    fn reply(&self, run_id: String, request_id: String) -> BoxFuture<'_, Result<Option<crate::store::ReplyBody>>> {
        self.sqlite.reply(run_id, request_id)
    }
    fn close(&self) {
        Store::close(&*self.sqlite);
    }
}

/// An engine on `sqlite`, behind a switch that fails its writes.
async fn engine_on(sqlite: Arc<SqliteStore>) -> Result<(Engine, Arc<AtomicBool>)> {
    let full = Arc::new(AtomicBool::new(false));
    let store = Faulty { full: full.clone(), ..Faulty::new(sqlite) };
    let engine = Engine::builder()
        .register_workflow(ProduceThenSleep)
        .register_activity(Produce)
        .store_unavailable_after(secs(30))
        .build_on(Box::new(store))
        .await?;
    Ok((engine, full))
}

fn event_count(history: &[HistoryEvent], event_type: &str) -> usize {
    history.iter().filter(|e| e.event_type() == event_type).count()
}

/// The error and its causes, as one line.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(e) = cause {
        text += &format!(": {e}");
        cause = e.source();
    }
    text
}

fn expect_unavailable(result: Result<usize>, run_id: &str) -> Error {
    let error = result.expect_err("the store refuses the run's writes");
    match &error {
        Error::StoreUnavailable { workflow_id, run_id: r, .. } => {
            assert_eq!((workflow_id.as_str(), r.as_str()), ("w", run_id));
        }
        other => panic!("expected StoreUnavailable, got {other:?}"),
    }
    assert!(error.is_transient());
    assert!(chain(&error).contains("database or disk is full"), "{}", chain(&error));
    error
}

/// Issue 11, item 2: an activity's close that a full disk refuses (real
/// `SQLITE_FULL`: the 200 kB result needs new pages in a capped file) is
/// retried; the caller of `result()` is told after 30 s, and gets the
/// result once space returns.
#[tokio::test(start_paused = true)]
async fn an_activity_close_refused_by_a_full_disk_is_retried_until_space_returns() -> Result<()> {
    let dir = tempfile::tempdir().map_err(Error::store)?;
    let location = Location::File {
        path: dir.path().join("full.db"),
        durability: Durability::Full,
        inline: true,
        foreign_tables: false,
    };
    let sqlite = Arc::new(SqliteStore::open(&location)?);
    let (engine, _) = engine_on(sqlite.clone()).await?;
    let handle = engine.client().start_workflow(ProduceThenSleep, "w", 200_000).await?;
    sqlite.fill_disk(true)?;
    let started = engine.now();

    let waited = tokio::time::timeout(secs(3600), handle.result()).await;
    let error = expect_unavailable(waited.expect("the caller is told, not left waiting"), handle.run_id());
    let Error::StoreUnavailable { since, .. } = error else { unreachable!() };
    let failing_for = engine.now().duration_since(since).unwrap();
    assert!(failing_for >= secs(30) && failing_for < secs(36), "told after {failing_for:?}");
    assert!(since.duration_since(started).unwrap() >= secs(5), "the close failed when the attempt ended");
    assert_eq!(event_count(&handle.history().await?, "ActivityTaskCompleted"), 0);
    // Still refused: a new caller is told at the next failed try (within 5 s).
    let again = tokio::time::timeout(secs(6), handle.result()).await.expect("at the next try");
    expect_unavailable(again, handle.run_id());

    sqlite.fill_disk(false)?;
    let result = tokio::time::timeout(secs(3600), handle.result()).await.expect("the run goes on once space returns");
    assert_eq!(result?, 200_000);
    let history = handle.history().await?;
    assert_eq!(event_count(&history, "ActivityTaskCompleted"), 1, "recorded once");
    assert_eq!(event_count(&history, "WorkflowExecutionCompleted"), 1);
    engine.shutdown().await;
    Ok(())
}

/// Issue 11, item 2: a timer fire the store refuses is retried, not dropped.
#[tokio::test(start_paused = true)]
async fn a_timer_fire_refused_by_the_store_is_retried_until_it_is_recorded() -> Result<()> {
    let sqlite = Arc::new(SqliteStore::open(&Location::Memory)?);
    let (engine, full) = engine_on(sqlite).await?;
    let handle = engine.client().start_workflow(ProduceThenSleep, "w", 3).await?;
    let started = engine.now();
    // The activity closes at 5 s; the store refuses everything from 10 s on,
    // when the workflow waits on its 60 s timer.
    tokio::time::sleep(secs(10)).await;
    full.store(true, Ordering::SeqCst);

    let waited = tokio::time::timeout(secs(3600), handle.result()).await;
    let error = expect_unavailable(waited.expect("the caller is told, not left waiting"), handle.run_id());
    let Error::StoreUnavailable { since, .. } = error else { unreachable!() };
    assert!(since.duration_since(started).unwrap() >= secs(65), "the fire failed when the timer was due");
    assert_eq!(event_count(&handle.history().await?, "TimerFired"), 0);

    // Two more minutes of refusals, then the store takes writes again.
    tokio::time::sleep(secs(120)).await;
    full.store(false, Ordering::SeqCst);
    let result = tokio::time::timeout(secs(3600), handle.result()).await.expect("the run goes on");
    assert_eq!(result?, 3);
    assert_eq!(event_count(&handle.history().await?, "TimerFired"), 1, "fired once");
    assert!(engine.now().duration_since(started).unwrap() < secs(65 + 30 + 120 + 10), "retried within 5 s");
    engine.shutdown().await;
    Ok(())
}

#[test]
fn transient_store_errors_are_told_apart() {
    let sqlite = |code| Error::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None));
    assert!(sqlite(rusqlite::ffi::SQLITE_FULL).is_transient());
    assert!(sqlite(rusqlite::ffi::SQLITE_BUSY).is_transient());
    assert!(sqlite(rusqlite::ffi::SQLITE_IOERR).is_transient());
    assert!(!sqlite(rusqlite::ffi::SQLITE_CORRUPT).is_transient());
    assert!(!sqlite(rusqlite::ffi::SQLITE_CONSTRAINT).is_transient());
    // A cause kept only as text (a failed COMMIT's message).
    assert!(Error::store("database is locked").is_transient());
    assert!(Error::store(std::io::Error::from(std::io::ErrorKind::StorageFull)).is_transient());
    assert!(!Error::store("event 3 out of order in run r").is_transient());
    assert!(!Error::Shutdown.is_transient());
}

static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Returns `size` bytes once the test opens the gate.
#[derive(Clone, Copy)]
struct Gated;
impl Activity for Gated {
    type Input = usize;
    type Output = String;
    const NAME: &'static str = "gated";
}
impl ActivityFn for Gated {
    async fn run(_ctx: ActivityContext, size: usize) -> Result<String, ActivityError> {
        GATE.notified().await;
        Ok("x".repeat(size))
    }
}

#[derive(Clone, Copy)]
struct CallGated;
impl Workflow for CallGated {
    type Input = usize;
    type Output = usize;
    const NAME: &'static str = "call_gated";
    type Definition = Self;
}
impl WorkflowDefinition for CallGated {
    type State = ();
    fn init(_: &usize) {}
    async fn run(ctx: WorkflowContext, size: usize) -> WorkflowResult<usize> {
        let text = ctx.execute_activity(Gated, size, ActivityOptions::start_to_close(secs(600))).await?;
        Ok(text.len())
    }
    fn handlers() -> Handlers<()> {
        Handlers::new()
    }
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0.path()).status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler");
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let block = [0u8; 512];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

/// Issue 11, item 2, on a real full file system (a 16 MB tmpfs, where the
/// test may mount one): the close is retried until space returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_refused_by_a_full_tmpfs_is_retried_until_space_returns() -> Result<()> {
    let Some(tmpfs) = Tmpfs::mount("16m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the capped-file test covers the same path");
        return Ok(());
    };
    let engine = Engine::builder()
        .sqlite(tmpfs.0.path().join("weft.db"))
        .register_workflow(CallGated)
        .register_activity(Gated)
        .store_unavailable_after(Duration::from_millis(200))
        .build()
        .await?;
    let handle = engine.client().start_workflow(CallGated, "w", 1 << 20).await?;
    let filler = tmpfs.0.path().join("filler");
    fill(&filler);
    GATE.notify_one();

    let waited = tokio::time::timeout(secs(30), handle.result()).await;
    expect_unavailable(waited.expect("the caller is told, not left waiting"), handle.run_id());

    std::fs::remove_file(&filler).map_err(Error::store)?;
    let result = tokio::time::timeout(secs(30), handle.result()).await.expect("the run goes on once space returns");
    assert_eq!(result?, 1 << 20);
    assert_eq!(event_count(&handle.history().await?, "ActivityTaskCompleted"), 1);
    engine.shutdown().await;
    drop(tmpfs);
    Ok(())
}

/// Issue 13: a signal that reaches the inbox while the closing step runs
/// is not dropped with the inbox: the close is refused, the step runs again
/// with the signal, and then the run closes.
#[tokio::test(start_paused = true)]
async fn a_signal_that_arrives_during_the_closing_step_is_recorded_before_the_close() -> Result<()> {
    let sqlite = Arc::new(SqliteStore::open(&Location::Memory)?);
    let interlope = Arc::new(AtomicBool::new(true));
    let store = Faulty { interlope: interlope.clone(), ..Faulty::new(sqlite) };
    let engine = Engine::builder()
        .register_workflow(ProduceThenSleep)
        .register_activity(Produce)
        .build_on(Box::new(store))
        .await?;
    let handle = engine.client().start_workflow(ProduceThenSleep, "late-signal", 3).await?;
    assert_eq!(handle.result().await?, 3);
    assert!(!interlope.load(Ordering::SeqCst), "the closing commit met the signal");
    let history = handle.history().await?;
    let types: Vec<&str> = history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(types[types.len() - 3..], ["TimerFired", "WorkflowExecutionSignaled", "WorkflowExecutionCompleted"]);
    engine.shutdown().await;
    Ok(())
}

/// `ActivityTaskStarted` is written with the close (its time is the close's)
/// and records when the closing attempt started: the first attempt starts
/// eagerly with the step that scheduled it, and `produce` takes 5 s. Without
/// the cache the close goes through the inbox (the store reads the start from
/// the activity's row); with it, the close is recorded with its step (the
/// engine's claimed row gives the start).
#[tokio::test(start_paused = true)]
async fn the_started_event_records_when_the_closing_attempt_began_on_either_close_path() -> Result<()> {
    for cache_size in [0, 10_000] {
        let engine = Engine::builder()
            .cache_size(cache_size)
            .register_workflow(ProduceThenSleep)
            .register_activity(Produce)
            .in_memory()
            .build()
            .await?;
        let handle = engine.client().start_workflow(ProduceThenSleep, "started-time", 3).await?;
        assert_eq!(handle.result().await?, 3);
        let history = handle.history().await?;
        let at = |event_type: &str| history.iter().find(|e| e.event_type() == event_type).expect(event_type);
        let (scheduled, started, completed) =
            (at("ActivityTaskScheduled"), at("ActivityTaskStarted"), at("ActivityTaskCompleted"));
        let EventAttributes::ActivityTaskStarted { attempt: 1, started_time: Some(started_time), .. } =
            started.attributes()
        else {
            panic!("cache {cache_size}: {started:?}");
        };
        assert_eq!(*started_time, scheduled.timestamp(), "cache {cache_size}: started with its step");
        assert_eq!(started.timestamp(), completed.timestamp(), "cache {cache_size}: written with the close");
        assert_eq!(started.timestamp().duration_since(*started_time).unwrap(), secs(5), "cache {cache_size}");
        engine.shutdown().await;
    }
    Ok(())
}

/// Fails its first attempt; returns the attempt that succeeded.
#[derive(Clone, Copy)]
struct FailsFirst;
impl Activity for FailsFirst {
    type Input = ();
    type Output = u32;
    const NAME: &'static str = "fails_first";
}
impl ActivityFn for FailsFirst {
    async fn run(ctx: ActivityContext, (): ()) -> Result<u32, ActivityError> {
        match ctx.attempt() {
            1 => Err(ActivityError::new("the first attempt fails")),
            attempt => Ok(attempt),
        }
    }
}

/// Runs `FailsFirst` with a retry 1 s after a failure.
#[derive(Clone, Copy)]
struct RetriedOnce;
impl Workflow for RetriedOnce {
    type Input = ();
    type Output = u32;
    const NAME: &'static str = "retried_once";
    type Definition = Self;
}
impl WorkflowDefinition for RetriedOnce {
    type State = ();
    fn init(_: &()) {}
    async fn run(ctx: WorkflowContext, (): ()) -> WorkflowResult<u32> {
        let retry = crate::RetryPolicy::default().initial_interval(secs(1));
        Ok(ctx.execute_activity(FailsFirst, (), ActivityOptions::start_to_close(secs(10)).retry_policy(retry)).await?)
    }
    fn handlers() -> Handlers<()> {
        Handlers::new()
    }
}

/// A claim the store refuses does not hold back the others of its round:
/// with every claim of workflow tasks refused, the activity's retry (queued
/// in the store for its 1 s backoff) is still claimed and run, and its
/// result reaches the workflow cached here.
#[tokio::test(start_paused = true)]
async fn a_refused_claim_does_not_hold_back_the_other_claims_of_its_round() -> Result<()> {
    let sqlite = Arc::new(SqliteStore::open(&Location::Memory)?);
    let store = Faulty { refuse_workflow_claims: true, ..Faulty::new(sqlite) };
    let engine = Engine::builder()
        .register_workflow(RetriedOnce)
        .register_activity(FailsFirst)
        .build_on(Box::new(store))
        .await?;
    let handle = engine.client().start_workflow(RetriedOnce, "refused-claims", ()).await?;
    let result = tokio::time::timeout(secs(60), handle.result()).await.expect("the retry ran");
    assert_eq!(result?, 2);
    let stats = engine.worker_stats();
    assert_eq!((stats.workflow_tasks_claimed, stats.activity_attempts_claimed), (0, 1), "{stats:?}");
    engine.shutdown().await;
    Ok(())
}
