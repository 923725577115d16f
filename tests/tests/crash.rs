//! Durability under `kill -9`: a worker running N workflows is SIGKILLed at
//! K random (seeded, printed, reproducible) moments and restarted each time;
//! then every workflow must have completed with the right result, no
//! activity may have run again after its completion was committed, no
//! attempt number may repeat, attempts stay within the retry bound, and every
//! history must be contiguous and pass its checksums.
//!
//! CI runs N=50, K=10. The large run:
//! `WEFT_CRASH_N=500 WEFT_CRASH_K=100 cargo test -p weft-tests --release --test crash -- --nocapture`
//! (`WEFT_CRASH_SEED` replays a given run).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weft::{Engine, RunStatus};
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
        for i in 0..n as u32 {
            let id = format!("crash-{i}");
            let description = client.describe(&id).await.expect("describe");
            assert_eq!(description.status, RunStatus::Completed, "{id}");
            // history() checks contiguous ids and every checksum.
            let history = client.history(&id).await.expect("a clean history");
            let expected: u32 = (0..5).map(|index| i * 10 + index).sum();
            let result: u32 =
                check_history(&id, &history, &ran, &Expected { activities: 5, timers: 1, max_attempts: MAX_ATTEMPTS });
            assert_eq!(result, expected, "{id}");
        }
        engine.shutdown().await;
    });
}
