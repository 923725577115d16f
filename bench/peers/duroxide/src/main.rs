//! The seed workflow on duroxide, measured as `weft-bench --child` measures weft's
//! (bench/src/scenarios.rs: `latency`, `throughput`, `activities`).
//!
//! ```text
//! duroxide-bench latency|throughput|activities SCALE DIR
//! ```
//!
//! Runs on a fresh SQLite file in DIR with duroxide's own defaults
//! (`SqliteProvider::new`, `RuntimeOptions::default()`), prints the settings in
//! force on stderr and one line of figures on stdout:
//! `p50_ms p99_ms`, `workflows_per_s` or `activities_per_s`.
//! `DUROXIDE_POLL_MS=N` sets `dispatcher_min_poll_interval` (default 100 ms) for a
//! tuned run; nothing else is changed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::providers::sqlite::SqliteProvider;
use duroxide::runtime::registry::ActivityRegistry;
use duroxide::runtime::{Runtime, RuntimeOptions};
use duroxide::{ActivityContext, Client, OrchestrationContext, OrchestrationRegistry};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Serialize, Deserialize)]
struct YourParams {
    greeting: String,
    name: String,
}

/// How long a client waits for one result before the run counts as failed.
const WAIT: Duration = Duration::from_secs(3600);

fn activities() -> ActivityRegistry {
    ActivityRegistry::builder()
        .register_typed("YourActivity", |_ctx: ActivityContext, input: YourParams| async move {
            Ok::<_, String>(format!("{}, {}!", input.greeting, input.name))
        })
        .register_typed("Step", |_ctx: ActivityContext, i: u32| async move { Ok::<_, String>(i + 1) })
        .build()
}

fn orchestrations() -> OrchestrationRegistry {
    // duroxide has no start-to-close timeout for an activity: its
    // `RetryPolicy::with_timeout` races the activity against a durable timer in
    // the orchestration (one more event and a queued timer per call), which is
    // not the same thing, so the seed workflow schedules its activity plainly.
    OrchestrationRegistry::builder()
        .register_typed("YourWorkflow", |ctx: OrchestrationContext, name: String| async move {
            let params = YourParams { greeting: "Hello".into(), name };
            ctx.schedule_activity_typed::<YourParams, String>("YourActivity", &params).await
        })
        .register_typed("Sequential", |ctx: OrchestrationContext, n: u32| async move {
            let mut x = 0;
            for _ in 0..n {
                x = ctx.schedule_activity_typed::<u32, u32>("Step", &x).await?;
            }
            Ok(x)
        })
        .build()
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn wait_output(client: &Client, id: &str) -> String {
    match client.wait_for_orchestration_typed::<String>(id, WAIT).await {
        Ok(Ok(output)) => output,
        other => panic!("{id}: {other:?}"),
    }
}

/// p50 and p99 in ms of `n` sequential workflows, start to result (after 50 unmeasured).
async fn latency(client: &Client, n: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let started = Instant::now();
        let id = format!("lat-{i}");
        client.start_orchestration_typed(&id, "YourWorkflow", "World".to_owned()).await.expect("start");
        assert_eq!(wait_output(client, &id).await, "Hello, World!");
        if i >= 50 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    vec![percentile(&times, 0.50), percentile(&times, 0.99)]
}

/// Workflows per second, `in_flight` at a time, first start to last result.
async fn throughput(client: &Client, n: usize, in_flight: usize) -> Vec<f64> {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("tp-{i}");
            client.start_orchestration_typed(&id, "YourWorkflow", "World".to_owned()).await.expect("start");
            assert_eq!(wait_output(&client, &id).await, "Hello, World!");
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    vec![n as f64 / started.elapsed().as_secs_f64()]
}

/// Activities per second: `n` workflows of 10 sequential activities, all started, then all awaited.
async fn ten_each(client: &Client, n: usize) -> Vec<f64> {
    let started = Instant::now();
    for i in 0..n {
        client.start_orchestration_typed(format!("act-{i}"), "Sequential", 10u32).await.expect("start");
    }
    for i in 0..n {
        match client.wait_for_orchestration_typed::<u32>(&format!("act-{i}"), WAIT).await {
            Ok(Ok(10)) => {}
            other => panic!("act-{i}: {other:?}"),
        }
    }
    vec![(n * 10) as f64 / started.elapsed().as_secs_f64()]
}

/// The settings in force, on stderr: the runtime's options and the pragmas of a pooled connection.
async fn describe(store: &SqliteProvider, options: &RuntimeOptions) {
    let pool = store.get_pool();
    let mut pragmas = Vec::new();
    for name in ["journal_mode", "synchronous", "wal_autocheckpoint", "cache_size", "busy_timeout"] {
        let row = sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.expect("pragma");
        // Unchecked: SQLite gives an integer pragma's value as text when asked to.
        let value: String = row.try_get_unchecked(0).unwrap_or_default();
        pragmas.push(format!("{name}={value}"));
    }
    eprintln!(
        "# duroxide settings: dispatcher_min_poll_interval={:?} dispatcher_long_poll_timeout={:?} \
         orchestration_concurrency={} worker_concurrency={} orchestrator_lock_timeout={:?} \
         worker_lock_timeout={:?} max_attempts={}; sqlite pool max_connections={} {}",
        options.dispatcher_min_poll_interval,
        options.dispatcher_long_poll_timeout,
        options.orchestration_concurrency,
        options.worker_concurrency,
        options.orchestrator_lock_timeout,
        options.worker_lock_timeout,
        options.max_attempts,
        pool.options().get_max_connections(),
        pragmas.join(" "),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, scale, dir] = &args[..] else {
        eprintln!("usage: duroxide-bench latency|throughput|activities SCALE DIR");
        std::process::exit(2);
    };
    let scale: f64 = scale.parse().expect("SCALE is a number");
    let path = std::path::Path::new(dir).join("duroxide.db");
    // As duroxide's examples do: the file first, then the provider on it.
    std::fs::File::create(&path).expect("database file");
    let store = Arc::new(SqliteProvider::new(&format!("sqlite:{}", path.display()), None).await.expect("store"));
    let mut options = RuntimeOptions::default();
    if let Ok(ms) = std::env::var("DUROXIDE_POLL_MS") {
        options.dispatcher_min_poll_interval = Duration::from_millis(ms.parse().expect("DUROXIDE_POLL_MS"));
    }
    describe(&store, &options).await;
    let runtime = Runtime::start_with_options(store.clone(), activities(), orchestrations(), options).await;
    let client = Client::new(store);
    let figures = match mode.as_str() {
        "latency" => latency(&client, scaled(1000, scale)).await,
        "throughput" => throughput(&client, scaled(10_000, scale), 500).await,
        "activities" => ten_each(&client, scaled(1000, scale)).await,
        other => panic!("unknown mode {other}"),
    };
    runtime.shutdown(None).await;
    println!("{}", figures.iter().map(f64::to_string).collect::<Vec<_>>().join(" "));
}
