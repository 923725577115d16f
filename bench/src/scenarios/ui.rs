//! The `ui` scenario: the web view's JSON over HTTP on a store of
//! 100 000 runs and one run of about 10 000 events.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft::{WorkflowContext, WorkflowError, WorkflowResult, workflow};

use super::{builder, percentile, sequential, sleeper, your_workflow};

/// Requests timed per figure.
const REQUESTS: usize = 20;

/// Fails at once: the rare status of the store.
#[workflow]
pub(super) async fn refused(_ctx: WorkflowContext, _i: u32) -> WorkflowResult<()> {
    Err(WorkflowError::new("refused").with_type("Refused"))
}

/// The id of run `i` of the store: `order-000042`.
fn order(i: usize) -> String {
    format!("order-{i:06}")
}

/// Fills the store with `runs` runs, 500 at a time: one in 100 waits on a
/// timer (`sleeper`, running), one in 1 000 fails (`refused`), the rest
/// complete (`YourWorkflow`); then one `sequential` run of `3 activities + 2`
/// events. Serves the web view on the file, the engine still running, and
/// times each request `REQUESTS` times.
///
/// Figures, each the median in ms: the first page of 50; a page halfway
/// down (50 000 runs deep, by its token); the rare status; the type of 1 in 100; an id prefix
/// of 10 runs; the 10 000-event run's page (facts and timeline); its history;
/// its download; then the slowest of all those requests in ms, the history's
/// events, its size in KiB, the runs in the store, and how deep the deep
/// page is; last, where `WEFT_BENCH_BROWSER` names a Chromium binary, the
/// medians of opening the long run's page in it and of turning to the next
/// page of its history, in ms (see `in_browser`).
pub(super) async fn ui(store: &str, runs: usize, activities: u32, dir: &Path) -> Vec<f64> {
    if !matches!(store, "full" | "normal") {
        return vec![f64::NAN; 15];
    }
    let engine = builder(store, dir).register_workflow(refused).build().await.expect("engine");
    let client = engine.client();
    let slots = Arc::new(tokio::sync::Semaphore::new(500));
    let mut tasks = Vec::with_capacity(runs);
    for i in 0..runs {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 100 == 0 {
                client.start_workflow(sleeper, order(i), ()).await.expect("start");
            } else if i % 1000 == 1 {
                let handle = client.start_workflow(refused, order(i), i as u32).await.expect("start");
                assert!(handle.result().await.is_err(), "refused completed");
            } else {
                let handle = client.start_workflow(your_workflow, order(i), "World".to_owned()).await.expect("start");
                handle.result().await.expect("result");
            }
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    client.start_workflow(sequential, "long", activities).await.expect("start").result().await.expect("result");

    let inspector = weft::inspect::Inspector::open(dir.join("bench.db")).expect("inspector");
    let server = weft_ui::Ui::bind(inspector, "127.0.0.1:0".parse().expect("address"), weft_ui::UiOptions::new())
        .await
        .expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_until(async move {
        let _ = stopped.await;
    }));

    // A token 50 000 runs deep (or halfway, on a smaller store), walked to 500 at a time.
    let (mut deep, depth) = (String::new(), (runs / 2).div_ceil(500) * 500);
    for _ in 0..depth / 500 {
        let page = json(&get(addr, &format!("/api/workflows?limit=500{deep}")).await);
        deep = format!("&page={}", page["next_page_token"].as_str().expect("a next page"));
    }
    let paths = [
        "/api/workflows?limit=50".to_owned(),
        format!("/api/workflows?limit=50{deep}"),
        "/api/workflows?limit=50&status=failed".to_owned(),
        "/api/workflows?limit=50&type=sleeper".to_owned(),
        format!("/api/workflows?limit=50&prefix={}", &order(runs / 2)[..10]),
        "/api/run?id=long".to_owned(),
        "/api/history?id=long".to_owned(),
        "/api/history?id=long&download=1".to_owned(),
    ];
    let mut figures = Vec::new();
    let mut slowest = 0.0_f64;
    let mut history = Vec::new();
    for path in &paths {
        let mut times = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            let asked = Instant::now();
            let body = get(addr, path).await;
            times.push(asked.elapsed().as_secs_f64() * 1000.0);
            check(path, &body, runs);
            history = body;
        }
        times.sort_by(f64::total_cmp);
        slowest = slowest.max(times[times.len() - 1]);
        figures.push(percentile(&times, 0.5));
    }
    let events = json(&history).as_array().map_or(0, Vec::len);
    figures.extend([slowest, events as f64, history.len() as f64 / 1024.0, (runs + 1) as f64, depth as f64]);
    figures.extend(in_browser(addr).await);
    let _ = stop.send(());
    serving.await.expect("server task").expect("serve");
    engine.shutdown().await;
    figures
}

/// Opens the long run's page 10 times in headless Chromium (the script
/// `ui/tests/browser/open.mjs`, after `npm ci` there): the medians of
/// opening (navigation to the table and timeline drawn) and of turning to
/// the history's next page, in ms; not a number where no browser is named.
async fn in_browser(addr: std::net::SocketAddr) -> [f64; 2] {
    let Some(chromium) = std::env::var_os("WEFT_BENCH_BROWSER") else {
        return [f64::NAN; 2];
    };
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/tests/browser");
    let out = tokio::process::Command::new("node")
        .arg(scripts.join("open.mjs"))
        .arg(format!("http://{addr}"))
        .arg(chromium)
        .args(["long", "10"])
        .current_dir(&scripts)
        .output()
        .await
        .expect("node runs (npm ci in ui/tests/browser first)");
    assert!(out.status.success(), "open.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut opens = Vec::new();
    let mut turns = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let figures: Vec<f64> = line.split_whitespace().skip(1).map(|v| v.parse().expect("ms")).collect();
        opens.push(figures[0]);
        turns.push(figures[1]);
    }
    for times in [&mut opens, &mut turns] {
        times.sort_by(f64::total_cmp);
    }
    [percentile(&opens, 0.5), percentile(&turns, 0.5)]
}

/// What each answer must hold, so that a fast wrong answer cannot pass.
fn check(path: &str, body: &[u8], runs: usize) {
    let value = json(body);
    if path.starts_with("/api/workflows") {
        let workflows = value["workflows"].as_array().expect("workflows");
        // The counts leave out the status filter, and only it.
        let matching = match path.contains("status=failed") {
            true => value["counts"]["by_status"]["failed"].as_u64().unwrap_or(0),
            false => value["counts"]["total"].as_u64().expect("total"),
        };
        let expected = matching.min(50);
        assert!(expected > 0 && matching <= runs as u64 + 1, "{path}: {matching} matching");
        assert_eq!(workflows.len() as u64, expected, "{path}");
        if path.contains("type=sleeper") {
            assert!(workflows.iter().all(|w| w["workflow_type"] == "sleeper"), "{path}");
        }
    } else if path.starts_with("/api/run") {
        assert!(value["timeline"]["lanes"].as_array().is_some_and(|l| !l.is_empty()), "{path}");
    } else {
        assert!(value.as_array().is_some_and(|events| events.len() > 2), "{path}");
    }
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("a JSON answer")
}

/// `GET path` over a fresh connection; the body of a 200 answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a header") + 4;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{path}: chunked");
    answer.split_off(split)
}
