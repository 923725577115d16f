//! Durability under `kill -9`: a worker running N workflows is SIGKILLed at
//! K random (seeded, printed, reproducible) moments and restarted each time;
//! then every workflow must have completed with the right result, no
//! activity may have run again after its completion was committed, no
//! attempt number may repeat, attempts stay within the retry bound, and every
//! history must be contiguous and pass its checksums. Families of child
//! workflows chained by continue-as-new ride along: every child must have
//! run once (one run per child id), every run of a chain closed once.
//!
//! CI runs N=50, K=10. The large run:
//! `WEFT_CRASH_N=500 WEFT_CRASH_K=100 cargo test -p weft-tests --release --test crash -- --nocapture`
//! (`WEFT_CRASH_SEED` replays a given run).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weft::history::{EventAttributes, Marker};
use weft::{Engine, ListFilter, RunStatus};
use weft_tests::{Expected, Rng, check_history, read_witness};

const MAX_ATTEMPTS: u32 = 25;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn workflows_survive_repeated_sigkill() {
    let n = env_or("WEFT_CRASH_N", 50);
    let kills = env_or("WEFT_CRASH_K", 10);
    let seed = env_or("WEFT_CRASH_SEED", 0x5eed_cafe);
    println!("crash test: N={n} K={kills} WEFT_CRASH_SEED={seed}");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("crash.db");
    let witness = dir.path().join("witness.log");
    let worker = env!("CARGO_BIN_EXE_crash_worker");
    let spawn = || {
        Command::new(worker)
            .args([store.as_os_str(), witness.as_os_str(), n.to_string().as_ref()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the worker")
    };

    let mut rng = Rng(seed);
    let mut killed = 0;
    for _ in 0..kills {
        let mut child = spawn();
        let after = Duration::from_millis(10 + rng.next_u64() % 100);
        let started = Instant::now();
        while started.elapsed() < after {
            if child.try_wait().expect("poll the worker").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().expect("poll the worker").is_none() {
            child.kill().expect("SIGKILL the worker");
            killed += 1;
        }
        child.wait().expect("reap the worker");
    }
    println!("killed the worker {killed} times");
    assert!(killed * 10 >= kills * 8, "only {killed} of {kills} kills landed mid-work: the test would prove little");

    let mut last = spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = last.try_wait().expect("poll the worker") {
            break status;
        }
        assert!(Instant::now() < deadline, "the last worker did not finish in 120 s");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "the last worker failed: {status}");

    let ran = read_witness(&witness);
    let retried = ran.values().filter(|attempts| attempts.len() > 1).count();
    println!(
        "{} activity executions witnessed, {retried} activities ran more than one attempt",
        ran.values().map(Vec::len).sum::<usize>()
    );

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Nothing registered: this engine only reads.
        let engine = Engine::builder().sqlite(&store).build().await.expect("open the store");
        let client = engine.client();
        let mut local_reruns = 0;
        for i in 0..n as u32 {
            let id = format!("crash-{i}");
            let description = client.describe(&id).await.expect("describe");
            assert_eq!(description.status, RunStatus::Completed, "{id}");
            // history() checks contiguous ids and every checksum.
            let history = client.history(&id).await.expect("a clean history");
            let expected: u32 = (0..6).map(|index| i * 10 + index).sum();
            let result: u32 =
                check_history(&id, &history, &ran, &Expected { activities: 5, timers: 1, max_attempts: MAX_ATTEMPTS });
            assert_eq!(result, expected, "{id}");
            // The local activity's end is recorded once, by an execution that left a witness.
            let markers: Vec<u32> = history
                .iter()
                .filter_map(|e| match e.attributes() {
                    EventAttributes::MarkerRecorded { marker: Marker::LocalActivity { attempt, .. } } => Some(*attempt),
                    _ => None,
                })
                .collect();
            assert_eq!(markers.len(), 1, "{id}: {markers:?}");
            let executions = ran.get(&(id.clone(), "local".to_owned())).map_or(0, Vec::len);
            assert!(executions >= 1, "{id}: the local activity left no witness");
            local_reruns += executions - 1;
        }
        // The families: each chain is FAMILY_RUNS runs, each run started two children, once each.
        let runs = client.list_workflows(ListFilter::all()).await.expect("list");
        for i in 0..n as u32 / 5 {
            let id = format!("family-{i}");
            let chain: Vec<_> = runs.iter().filter(|d| d.workflow_id == id).collect();
            assert_eq!(chain.len(), 3, "{id}: one run per link of the chain: {chain:?}");
            assert_eq!(chain.iter().filter(|d| d.status == RunStatus::ContinuedAsNew).count(), 2, "{id}");
            let last = client.describe(&id).await.expect("describe");
            assert_eq!(last.status, RunStatus::Completed, "{id}");
            let mut sum = 0;
            for round in 0..3 {
                for k in 0..2 {
                    let child = format!("family-{i}-{round}-{k}");
                    let child_runs = runs.iter().filter(|d| d.workflow_id == child).count();
                    assert_eq!(child_runs, 1, "{child} started {child_runs} times");
                    let history = client.history(&child).await.expect("a clean history");
                    let expected = Expected { activities: 1, timers: 0, max_attempts: MAX_ATTEMPTS };
                    sum += check_history::<u32>(&child, &history, &ran, &expected);
                }
            }
            let history = client.history(&id).await.expect("a clean history");
            let result: u32 =
                check_history(&id, &history, &ran, &Expected { activities: 0, timers: 0, max_attempts: 0 });
            assert_eq!(result, sum, "{id}");
            assert_eq!(sum, (0..6).map(|index| i * 10 + index).sum::<u32>(), "{id}");
        }
        // At least once: a kill while a local activity ran runs it again after the restart.
        println!("local activities run again after a kill: {local_reruns}");
        engine.shutdown().await;
    });
}

/// A worker killed while a local activity runs commits nothing of its step:
/// after the restart the step runs again, the activity with it, and the
/// workflow completes with its end recorded once.
#[test]
fn a_local_activity_killed_mid_run_runs_again_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("local.db");
    let witness = dir.path().join("witness.log");
    let worker = env!("CARGO_BIN_EXE_crash_worker");
    let spawn = || {
        Command::new(worker)
            .args([store.as_os_str(), witness.as_os_str(), "slow-local".as_ref()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the worker")
    };
    let started = || std::fs::read_to_string(&witness).map_or(0, |w| w.lines().count());
    let mut child = spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while started() == 0 {
        assert!(Instant::now() < deadline, "the local activity did not start");
        assert!(child.try_wait().expect("poll the worker").is_none(), "the worker exited before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL the worker");
    child.wait().expect("reap the worker");

    let status = spawn().wait().expect("run the worker");
    assert!(status.success(), "the restarted worker failed: {status}");
    let runs = started();
    println!("the local activity started {runs} times");
    assert_eq!(runs, 2, "killed once mid-run: it ran again once");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let engine = Engine::builder().sqlite(&store).build().await.expect("open the store");
        let history = engine.client().history("slow-local").await.expect("a clean history");
        let markers: Vec<_> =
            history.iter().filter(|e| matches!(e.attributes(), EventAttributes::MarkerRecorded { .. })).collect();
        assert_eq!(markers.len(), 1, "{history:#?}");
        assert!(matches!(
            history.last().map(|e| e.attributes()),
            Some(EventAttributes::WorkflowExecutionCompleted { result }) if result.as_json() == "7"
        ));
        engine.shutdown().await;
    });
}
