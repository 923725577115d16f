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

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weft::history::EventAttributes;
use weft::{Engine, RunStatus};

const MAX_ATTEMPTS: u32 = 25;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small seeded generator (SplitMix64): the kill schedule is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
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
        let after = Duration::from_millis(10 + rng.next() % 100);
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

    // Witness lines: (workflow, activity) -> attempts that ran.
    let mut ran: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for line in std::fs::read_to_string(&witness).expect("witness file").lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 4, "witness line {line:?}");
        ran.entry((parts[0].to_owned(), parts[1].to_owned())).or_default().push(parts[2].parse().unwrap());
    }

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
            let result = history.iter().find_map(|e| match e.attributes() {
                EventAttributes::WorkflowExecutionCompleted { result } => Some(result.decode::<u32>().unwrap()),
                _ => None,
            });
            assert_eq!(result, Some(expected), "{id}");
            let mut activity_ids = BTreeMap::new();
            for event in &history {
                match event.attributes() {
                    EventAttributes::ActivityTaskScheduled { activity_id, .. } => {
                        activity_ids.insert(event.event_id(), activity_id.clone());
                    }
                    EventAttributes::ActivityTaskStarted { scheduled_event_id, attempt, .. } => {
                        let activity_id = &activity_ids[scheduled_event_id];
                        let attempts = &ran[&(id.clone(), activity_id.clone())];
                        let distinct: BTreeSet<_> = attempts.iter().collect();
                        assert_eq!(
                            distinct.len(),
                            attempts.len(),
                            "{id}/{activity_id}: an attempt ran twice: {attempts:?}"
                        );
                        assert!(attempts.contains(attempt), "{id}/{activity_id}: the closing attempt left no witness");
                        assert!(
                            attempts.iter().all(|a| a <= attempt),
                            "{id}/{activity_id}: ran again after attempt {attempt} completed: {attempts:?}"
                        );
                        assert!(*attempt <= MAX_ATTEMPTS, "{id}/{activity_id}: {attempt} attempts");
                    }
                    _ => {}
                }
            }
            assert_eq!(activity_ids.len(), 5, "{id}");
            // The durable timer fired once, however often its worker was killed.
            let timers = |kind: fn(&EventAttributes) -> bool| history.iter().filter(|e| kind(e.attributes())).count();
            assert_eq!(timers(|a| matches!(a, EventAttributes::TimerStarted { .. })), 1, "{id}");
            assert_eq!(timers(|a| matches!(a, EventAttributes::TimerFired { .. })), 1, "{id}");
        }
        engine.shutdown().await;
    });
}
