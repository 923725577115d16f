//! The scenarios, each run in a child process; each returns its figures.

mod ui;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use weft::testing::Replayer;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Durability, Engine, EngineBuilder, WorkflowContext,
    WorkflowResult, activity, workflow,
};

#[derive(Serialize, Deserialize)]
pub(crate) struct YourParams {
    pub(crate) greeting: String,
    pub(crate) name: String,
}

#[activity]
async fn your_activity(_ctx: ActivityContext, input: YourParams) -> Result<String, ActivityError> {
    Ok(format!("{}, {}!", input.greeting, input.name))
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close(Duration::from_secs(60))
}

/// The seed workflow.
#[workflow(name = "YourWorkflow")]
async fn your_workflow(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(your_activity, YourParams { greeting: "Hello".into(), name }, options()).await?)
}

static STEPS: AtomicUsize = AtomicUsize::new(0);

#[activity]
async fn step(_ctx: ActivityContext, i: u32) -> Result<u32, ActivityError> {
    STEPS.fetch_add(1, Ordering::Relaxed);
    Ok(i + 1)
}

/// `n` sequential activities.
#[workflow]
async fn sequential(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let mut x = 0;
    for _ in 0..n {
        x = ctx.execute_activity(step, x, options()).await?;
    }
    Ok(x)
}

/// `n` concurrent activities.
#[workflow]
async fn fan_out(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let handles: Vec<_> = (0..n).map(|i| ctx.start_activity(step, i, options())).collect();
    let mut sum = 0;
    for result in futures::future::join_all(handles).await {
        sum += result?;
    }
    Ok(sum)
}

/// Waits on a timer for an hour.
#[workflow]
async fn sleeper(ctx: WorkflowContext) -> WorkflowResult<()> {
    ctx.execute_activity(step, 0, options()).await?;
    ctx.sleep(Duration::from_secs(3600)).await?;
    Ok(())
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);

#[activity]
async fn block(_ctx: ActivityContext) -> Result<(), ActivityError> {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

/// Waits on an activity that never returns.
#[workflow]
async fn blocked(ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(ctx.execute_activity(block, (), ActivityOptions::start_to_close(Duration::from_secs(86_400))).await?)
}

/// A counter that signals and updates change: its run waits until it has
/// had `expected` signals, then returns how many it had.
#[derive(Default)]
pub(crate) struct Counter {
    signals: u32,
    total: u64,
}

#[workflow]
impl Counter {
    #[run]
    pub(crate) async fn run(ctx: WorkflowContext<Self>, expected: u32) -> WorkflowResult<u32> {
        ctx.wait_condition(move |s| s.signals >= expected).await?;
        Ok(ctx.state(|s| s.signals))
    }

    /// One more signal, adding `by` to the total.
    #[signal]
    pub(crate) fn bump(&mut self, by: u32) {
        self.signals += 1;
        self.total += u64::from(by);
    }

    #[query]
    pub(crate) fn count(&self) -> u32 {
        self.signals
    }

    /// Adds `by` to the total; returns the new total.
    #[update]
    pub(crate) fn add(&mut self, by: u64) -> WorkflowResult<u64> {
        self.total += by;
        Ok(self.total)
    }
}

/// `n` sequential local activities.
#[workflow]
async fn sequential_local(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let mut x = 0;
    for _ in 0..n {
        x = ctx.execute_local_activity(step, x, options()).await?;
    }
    Ok(x)
}

/// A child that returns at once.
#[workflow]
async fn leaf(_ctx: WorkflowContext, i: u32) -> WorkflowResult<u32> {
    Ok(i)
}

/// Starts `n` `leaf` children at once and sums their results.
#[workflow]
async fn parent(ctx: WorkflowContext, id: u32, n: u32) -> WorkflowResult<u32> {
    let mut started = Vec::with_capacity(n as usize);
    for i in 0..n {
        let options = weft::ChildWorkflowOptions::new(format!("leaf-{id}-{i}"));
        started.push(ctx.start_child_workflow(leaf, i, options));
    }
    let mut sum = 0;
    for start in started {
        sum += start.await?.await?;
    }
    Ok(sum)
}

/// Continues as new until `left` is 0.
#[workflow]
async fn chain(ctx: WorkflowContext, left: u32) -> WorkflowResult<u32> {
    if left > 0 {
        return ctx.continue_as_new(chain, left - 1);
    }
    Ok(0)
}

/// The PostgreSQL store of a `pgN` run: its URL, and the schema of this run.
static POSTGRES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

fn builder(store: &str, dir: &Path) -> EngineBuilder {
    match store {
        "full" => register(Engine::builder().sqlite(dir.join("bench.db")).durability(Durability::Full)),
        "normal" => register(Engine::builder().sqlite(dir.join("bench.db")).durability(Durability::Normal)),
        "memory" => register(Engine::builder().in_memory()),
        // The workers are other processes (`worker`); this one is a client.
        pg if pg.starts_with("pg") => {
            let (url, schema) = POSTGRES.get().expect("a PostgreSQL run");
            register(Engine::builder().postgres(url).postgres_schema(schema)).client_only()
        }
        other => panic!("unknown store {other}: full, normal, memory, pg1, pg2 or pg4"),
    }
}

/// Registers every scenario's workflows and activities.
fn register(builder: EngineBuilder) -> EngineBuilder {
    builder
        .register_workflow(your_workflow)
        .register_workflow(sequential)
        .register_workflow(fan_out)
        .register_workflow(sleeper)
        .register_workflow(blocked)
        .register_workflow(Counter::run)
        .register_workflow(sequential_local)
        .register_workflow(leaf)
        .register_workflow(parent)
        .register_workflow(chain)
        .register_activity(your_activity)
        .register_activity(step)
        .register_activity(block)
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// The scenarios a `pgN` store runs: the others measure one process.
const POSTGRES_SCENARIOS: [&str; 8] =
    ["latency", "throughput", "activities", "signals", "updates", "children", "chains", "local"];

pub(crate) fn run(scenario: &str, store: &str, scale: f64, dir: &Path) -> Vec<f64> {
    let workers = match store.strip_prefix("pg") {
        Some(_) if !POSTGRES_SCENARIOS.contains(&scenario) => return vec![f64::NAN; 4],
        Some(count) => match postgres_workers(count.parse().expect("pgN")) {
            Some(workers) => workers,
            None => return vec![f64::NAN; 4],
        },
        None => Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let figures = runtime.block_on(async {
        match scenario {
            "latency" => latency(store, scaled(1000, scale), dir).await,
            "throughput" => throughput(store, scaled(10_000, scale), 500, "tp", dir).await,
            "activities" => activities(store, scaled(1000, scale), false, dir).await,
            "local" => activities(store, scaled(1000, scale), true, dir).await,
            "fanout" => fanout(store, scaled(1000, scale), dir).await,
            "replay" => replay(store, scaled(3333, scale) as u32, dir).await,
            "memory" => memory(store, scaled(100_000, scale), dir).await,
            "recovery" => recovery(store, scaled(10_000, scale), dir).await,
            "signals" => signals(store, scaled(1000, scale), 10, 500, dir).await,
            "queries" => queries(store, 100, scaled(1000, scale), dir).await,
            "updates" => updates(store, scaled(1000, scale), dir).await,
            "children" => children(store, scaled(100, scale), 10, dir).await,
            "chains" => chains(store, scaled(1000, scale) as u32, dir).await,
            "grown" => grown(store, scaled(100_000, scale), (scale * 10.0).min(1.0), dir).await,
            "ui" => ui::ui(store, scaled(100_000, scale), scaled(3333, scale) as u32, dir).await,
            other => panic!("unknown scenario {other}"),
        }
    });
    match scenario {
        // Workflows/s, then claims/s: this process's and its workers'.
        "throughput" => {
            let (rate, secs, claims) = (figures[0], figures[1], figures[2]);
            let claims = claims + workers.into_iter().map(WorkerProcess::finish).sum::<u64>() as f64;
            vec![rate, claims / secs]
        }
        _ => figures,
    }
}

/// A worker process of a `pgN` run, killed when dropped.
pub(crate) struct WorkerProcess(std::process::Child, Option<std::io::BufReader<std::process::ChildStdout>>);

impl WorkerProcess {
    /// Stops the worker (its stdin closes); what it claimed (see `worker`).
    fn finish(mut self) -> u64 {
        use std::io::BufRead;
        drop(self.0.stdin.take());
        let mut line = String::new();
        let _ = self.1.take().expect("the worker's stdout").read_line(&mut line);
        line.trim().strip_prefix("claimed ").and_then(|n| n.parse().ok()).expect("the worker's claims")
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything an engine's worker claimed from the store.
fn claimed(engine: &Engine) -> u64 {
    let stats = engine.worker_stats();
    stats.workflow_tasks_claimed + stats.activity_attempts_claimed + stats.expired_attempts_claimed
}

/// Starts `count` worker processes on a fresh schema of the server that
/// `WEFT_BENCH_POSTGRES` (or `WEFT_TEST_POSTGRES`) names; `None`, with a
/// notice, when neither is set.
fn postgres_workers(count: usize) -> Option<Vec<WorkerProcess>> {
    use std::io::BufRead;
    let Ok(url) = std::env::var("WEFT_BENCH_POSTGRES").or_else(|_| std::env::var("WEFT_TEST_POSTGRES")) else {
        eprintln!("skipped: neither WEFT_BENCH_POSTGRES nor WEFT_TEST_POSTGRES is set");
        return None;
    };
    let schema = format!("weft_bench_{}", std::process::id());
    POSTGRES.set((url.clone(), schema.clone())).expect("one run per process");
    let exe = std::env::current_exe().expect("own path");
    let workers: Vec<WorkerProcess> = (0..count)
        .map(|_| {
            let child = std::process::Command::new(&exe)
                .args(["--worker", &url, &schema])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("start a worker");
            WorkerProcess(child, None)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|mut worker| {
            let mut stdout = std::io::BufReader::new(worker.0.stdout.take().expect("piped"));
            let mut line = String::new();
            stdout.read_line(&mut line).expect("the worker's first line");
            assert_eq!(line.trim(), "ready", "the worker did not start");
            worker.1 = Some(stdout);
            worker
        })
        .collect();
    Some(workers)
}

/// A worker process: runs every scenario's types on `schema` at `url` until
/// its stdin closes, then prints `claimed N` (what its worker claimed).
pub(crate) fn worker(url: &str, schema: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let engine = register(Engine::builder().postgres(url).postgres_schema(schema)).build().await.expect("worker");
        println!("ready");
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
        println!("claimed {}", claimed(&engine));
        engine.shutdown().await;
    });
}

/// p50 and p99 in milliseconds.
async fn latency(store: &str, n: usize, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let started = Instant::now();
        let handle = client.start_workflow(your_workflow, format!("lat-{i}"), "World".to_owned()).await.expect("start");
        handle.result().await.expect("result");
        if i >= 50 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    engine.shutdown().await;
    times.sort_by(f64::total_cmp);
    vec![percentile(&times, 0.50), percentile(&times, 0.99)]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Workflows per second, `in_flight` at a time; their ids start with `prefix`.
async fn throughput(store: &str, n: usize, in_flight: usize, prefix: &str, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let (client, prefix) = (client.clone(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let handle =
                client.start_workflow(your_workflow, format!("{prefix}-{i}"), "World".to_owned()).await.expect("start");
            handle.result().await.expect("result");
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    let claims = claimed(&engine) as f64;
    engine.shutdown().await;
    vec![n as f64 / secs, secs, claims]
}

/// `latency` and `throughput` (their sizes times `measured`) on a store that
/// already holds `closed` closed seed runs, which `throughput` puts there
/// first. Figures: p50 and p99 (ms), workflows/s, and the seconds the fill took.
async fn grown(store: &str, closed: usize, measured: f64, dir: &Path) -> Vec<f64> {
    if store == "memory" {
        return vec![f64::NAN; 4]; // each engine has a store of its own
    }
    let fill = throughput(store, closed, 500, "old", dir).await;
    let lat = latency(store, scaled(1000, measured), dir).await;
    let tp = throughput(store, scaled(10_000, measured), 500, "tp", dir).await;
    vec![lat[0], lat[1], tp[0], fill[1]]
}

/// Activities per second: `n` workflows of 10 sequential activities (local
/// ones if `local`), all at once.
async fn activities(store: &str, n: usize, local: bool, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let started = Instant::now();
    if local {
        ten_each(&client, sequential_local, n).await;
    } else {
        ten_each(&client, sequential, n).await;
    }
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    vec![(n * 10) as f64 / secs]
}

/// Starts `n` runs of `workflow` with input 10, all at once, and waits for every result.
async fn ten_each<W: weft::Workflow<Input = u32> + Copy>(client: &weft::Client, workflow: W, n: usize) {
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        handles.push(client.start_workflow(workflow, format!("act-{i}"), 10).await.expect("start"));
    }
    for handle in handles {
        handle.result().await.expect("result");
    }
}

/// Child workflows per second: `parents` parents of `per_parent` children each, all at once.
async fn children(store: &str, parents: usize, per_parent: u32, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let started = Instant::now();
    let mut handles = Vec::with_capacity(parents);
    for i in 0..parents {
        handles
            .push(client.start_workflow(parent, format!("parent-{i}"), (i as u32, per_parent)).await.expect("start"));
    }
    for handle in handles {
        handle.result().await.expect("result");
    }
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    vec![(parents * per_parent as usize) as f64 / secs]
}

/// Runs per second of one continue-as-new chain of `runs` runs, start to the last result.
async fn chains(store: &str, runs: u32, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let started = Instant::now();
    client.start_workflow(chain, "chain", runs - 1).await.expect("start").result().await.expect("result");
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    vec![f64::from(runs) / secs, secs]
}

/// One workflow, `n` concurrent activities: seconds, and activities per second.
async fn fanout(store: &str, n: usize, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let started = Instant::now();
    let handle = engine.client().start_workflow(fan_out, "fan", n as u32).await.expect("start");
    handle.result().await.expect("result");
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    vec![secs * 1000.0, n as f64 / secs, n as f64]
}

/// Events per second, loading and replaying cold (no cache) a history of
/// `3 n + 2` events (scheduled, started, completed per activity).
async fn replay(store: &str, n: u32, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    client.start_workflow(sequential, "long", n).await.expect("start").result().await.expect("result");
    let replayer = Replayer::new().register_workflow(sequential);
    let started = Instant::now();
    let history = client.history("long").await.expect("history");
    let loaded = started.elapsed().as_secs_f64();
    replayer.replay(&history).expect("replay");
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    let events = history.len() as f64;
    // The whole (load, check and decode, then replay), and its two halves.
    vec![events / secs, events, events / loaded, events / (secs - loaded)]
}

/// Resident memory in MiB with `n` workflows waiting on timers (cache 10 000).
async fn memory(store: &str, n: usize, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).cache_size(10_000).build().await.expect("engine");
    let client = engine.client();
    let slots = Arc::new(tokio::sync::Semaphore::new(500));
    // Finished start tasks are reaped as they go: a million of them kept
    // until the end would be gigabytes of the harness's, not the engine's.
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let client = client.clone();
        starts.spawn(async move {
            client.start_workflow(sleeper, format!("sleep-{i}"), ()).await.expect("start");
            drop(permit);
        });
        while let Some(start) = starts.try_join_next() {
            start.expect("start task");
        }
    }
    while let Some(start) = starts.join_next().await {
        start.expect("start task");
    }
    while STEPS.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every workflow ran its activity; wait until the last step has started its timer.
    let last = format!("sleep-{}", n - 1);
    while client.describe(&last).await.expect("describe").pending_timers.is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = rss_mib();
    engine.shutdown().await;
    vec![rss]
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// Seconds from engine start to `n` in-flight workflows running again (file stores only).
async fn recovery(store: &str, n: usize, dir: &Path) -> Vec<f64> {
    if store == "memory" {
        return vec![f64::NAN]; // nothing survives a memory store
    }
    let engine = builder(store, dir).max_concurrent_activities(n * 2).build().await.expect("engine");
    let client = engine.client();
    for i in 0..n {
        client.start_workflow(blocked, format!("rec-{i}"), ()).await.expect("start");
    }
    while RUNNING.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    engine.shutdown().await;
    RUNNING.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let engine = builder(store, dir).max_concurrent_activities(n * 2).build().await.expect("engine");
    while RUNNING.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    engine.shutdown().await;
    vec![secs]
}

/// Signals per second into `workflows` running workflows, `per_workflow`
/// each (signal `i` goes to workflow `i % workflows`), `in_flight` calls at a
/// time. Timed from the first signal sent to the last workflow completed
/// (every workflow is started, and waiting, before). Figures: signals/s over
/// that time, the seconds, and signals/s until the last `signal` call returned.
async fn signals(store: &str, workflows: usize, per_workflow: u32, in_flight: usize, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let mut handles = Vec::with_capacity(workflows);
    for i in 0..workflows {
        handles.push(client.start_workflow(Counter::run, format!("sig-{i}"), per_workflow).await.expect("start"));
    }
    // Each result is awaited from before the first signal, so that the last
    // completion is seen when it happens.
    let waiters: Vec<_> = handles
        .iter()
        .cloned()
        .map(|handle| {
            tokio::spawn(async move {
                assert_eq!(handle.result().await.expect("result"), per_workflow);
                Instant::now()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let handles = Arc::new(handles);
    let total = workflows * per_workflow as usize;
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let mut sends = Vec::with_capacity(total);
    for i in 0..total {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let (client, handles) = (client.clone(), handles.clone());
        sends.push(tokio::spawn(async move {
            client.signal(&handles[i % handles.len()], Counter::bump, 1).await.expect("signal");
            drop(permit);
        }));
    }
    for send in sends {
        send.await.expect("send task");
    }
    let sent = started.elapsed().as_secs_f64();
    let mut last = started;
    for waiter in waiters {
        last = last.max(waiter.await.expect("waiter"));
    }
    let secs = (last - started).as_secs_f64();
    engine.shutdown().await;
    vec![total as f64 / secs, secs, total as f64 / sent]
}

/// Query latency on one running workflow that has had `history` signals:
/// `n` sequential queries (after 50 unmeasured), with the default cache
/// (answered from the cached workflow) and with `cache_size(0)` (the run's
/// history read and replayed per query), each on an engine and store of its
/// own. Figures: p50 and p99 in µs cached, the same replayed, the history's
/// length in events, and the p50 in µs of reading that history alone (replayed engine).
async fn queries(store: &str, history: u32, n: usize, dir: &Path) -> Vec<f64> {
    let (mut figures, mut reads) = (Vec::new(), Vec::new());
    let mut length = 0;
    for (mode, cache) in [("cached", None), ("replayed", Some(0))] {
        let dir = dir.join(mode);
        std::fs::create_dir_all(&dir).expect("mode dir");
        let mut builder = builder(store, &dir);
        if let Some(size) = cache {
            builder = builder.cache_size(size);
        }
        let engine = builder.build().await.expect("engine");
        let client = engine.client();
        let handle = client.start_workflow(Counter::run, "queried", u32::MAX).await.expect("start");
        for _ in 0..history {
            client.signal(&handle, Counter::bump, 1).await.expect("signal");
        }
        while client.query(&handle, Counter::count).await.expect("query") < history {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        length = client.describe("queried").await.expect("describe").history_length;
        let mut times = Vec::with_capacity(n);
        for i in 0..n + 50 {
            let asked = Instant::now();
            assert_eq!(client.query(&handle, Counter::count).await.expect("query"), history);
            if i >= 50 {
                times.push(asked.elapsed().as_secs_f64() * 1e6);
            }
        }
        let read = history_read_ms(&client, "queried").await * 1000.0;
        engine.shutdown().await;
        times.sort_by(f64::total_cmp);
        figures.extend([percentile(&times, 0.50), percentile(&times, 0.99)]);
        reads.push(read);
    }
    figures.push(length as f64);
    figures.push(reads[1]);
    figures
}

/// The p50 in ms of reading `workflow_id`'s whole history through the client (100 reads).
async fn history_read_ms(client: &weft::Client, workflow_id: &str) -> f64 {
    let mut times = Vec::with_capacity(100);
    for _ in 0..100 {
        let read = Instant::now();
        client.history(workflow_id).await.expect("history");
        times.push(read.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    percentile(&times, 0.5)
}

/// Update round trips: `n` sequential `update` calls (after 50 unmeasured)
/// on one running workflow, each timed from the call to its result. Figures:
/// p50 and p99 in ms, the history's length at the end, and the p50 of the
/// first and of the last 100 calls (the history grows by each update), and
/// the p50 of reading the final history alone.
async fn updates(store: &str, n: usize, dir: &Path) -> Vec<f64> {
    let engine = builder(store, dir).build().await.expect("engine");
    let client = engine.client();
    let handle = client.start_workflow(Counter::run, "updated", u32::MAX).await.expect("start");
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let called = Instant::now();
        assert_eq!(client.update(&handle, Counter::add, 1).await.expect("update"), i as u64 + 1);
        if i >= 50 {
            times.push(called.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let length = client.describe("updated").await.expect("describe").history_length;
    let read = history_read_ms(&client, "updated").await;
    engine.shutdown().await;
    let median = |times: &[f64]| {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        percentile(&sorted, 0.5)
    };
    let (first, last) = (median(&times[..times.len().min(100)]), median(&times[times.len().saturating_sub(100)..]));
    times.sort_by(f64::total_cmp);
    vec![percentile(&times, 0.50), percentile(&times, 0.99), length as f64, first, last, read]
}

/// One line: the median of each figure over the runs, with min..max.
pub(crate) fn describe(scenario: &str, store: &str, samples: &[Vec<f64>]) -> String {
    let stat = |i: usize| {
        let mut v: Vec<f64> = samples.iter().map(|s| s[i]).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let f = |i: usize, unit: &str| {
        let (median, min, max) = stat(i);
        format!("{median:.2}{unit} ({min:.2}..{max:.2})")
    };
    if samples.iter().all(|s| s.iter().all(|v| v.is_nan())) {
        return format!("{scenario:<11} {store:<7} n/a");
    }
    let body = match scenario {
        "latency" => format!("p50 {}  p99 {}", f(0, " ms"), f(1, " ms")),
        "throughput" => format!("{} workflows/s, {} claims/s", f(0, ""), f(1, "")),
        "activities" | "local" => format!("{} activities/s", f(0, "")),
        "fanout" => format!("{} for {} activities, {} activities/s", f(0, " ms"), stat(2).0, f(1, "")),
        "replay" => format!(
            "{} events/s ({} events; loading alone {} events/s, replaying alone {} events/s)",
            f(0, ""),
            stat(1).0,
            f(2, ""),
            f(3, "")
        ),
        "memory" => format!("{} RSS", f(0, " MiB")),
        "recovery" => format!("{} to all running again", f(0, " s")),
        "grown" => {
            format!("p50 {}  p99 {}, {} workflows/s (the fill took {})", f(0, " ms"), f(1, " ms"), f(2, ""), f(3, " s"))
        }
        "signals" => format!("{} signals/s ({}; sent alone {} signals/s)", f(0, ""), f(1, " s"), f(2, "")),
        "queries" => format!(
            "cached p50 {}  p99 {}; replayed p50 {}  p99 {} ({} events; reading them alone p50 {})",
            f(0, " µs"),
            f(1, " µs"),
            f(2, " µs"),
            f(3, " µs"),
            stat(4).0,
            f(5, " µs")
        ),
        "children" => format!("{} child workflows/s", f(0, "")),
        "chains" => format!("{} runs/s ({} for the chain)", f(0, ""), f(1, " s")),
        "updates" => format!(
            "p50 {}  p99 {} ({} events at the end; p50 of the first 100 {}, of the last 100 {}; \
             reading the final history alone p50 {})",
            f(0, " ms"),
            f(1, " ms"),
            stat(2).0,
            f(3, " ms"),
            f(4, " ms"),
            f(5, " ms")
        ),
        "ui" => format!(
            "list of {} runs: first page {}, halfway ({} deep) {}, rare status {}, type {}, id prefix {}; \
             run of {} events: page {}, history {}, download {} ({} KiB); slowest request {}; \
             in Chromium: opening the run {}, its next history page {}",
            stat(11).0,
            f(0, " ms"),
            stat(12).0,
            f(1, " ms"),
            f(2, " ms"),
            f(3, " ms"),
            f(4, " ms"),
            stat(9).0,
            f(5, " ms"),
            f(6, " ms"),
            f(7, " ms"),
            stat(10).0.round(),
            f(8, " ms"),
            if stat(13).0.is_nan() { "n/a (set WEFT_BENCH_BROWSER)".to_owned() } else { f(13, " ms") },
            if stat(14).0.is_nan() { "n/a".to_owned() } else { f(14, " ms") },
        ),
        _ => String::new(),
    };
    format!("{scenario:<11} {store:<7} {body}")
}
