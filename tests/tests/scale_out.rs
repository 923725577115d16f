//! Scale-out under `kill -9`: three worker processes and this test (a
//! client-only process) share one PostgreSQL store; N workflows of three
//! activities and a timer run while one worker at a time is SIGKILLed at K
//! random (seeded, printed) moments and restarted. Then every workflow has
//! completed once with its result, no activity closed twice, attempts stay
//! within the retry policy, and every history replays.
//!
//! Runs when `WEFT_TEST_POSTGRES` names a server (`.ci/run` starts one);
//! CI runs N=1000, K=10. The long run (docs/scale-out.md has its figures):
//! `WEFT_SCALE_N=8000 WEFT_SCALE_K=100 cargo test -p weft-tests --release --test scale_out -- --nocapture`
//! (enough workflows that all 100 kills land before the last one completes).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weft::testing::Replayer;
use weft::{
    ActivityContext, ActivityError, Engine, Error, RunStatus, WorkflowContext, WorkflowIdReusePolicy, WorkflowOptions,
    WorkflowResult, activity, workflow,
};
use weft_tests::{Expected, Rng, check_history, read_witness};

const MAX_ATTEMPTS: u32 = 20;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

// The same types as the worker's, registered here for their names and for replay.
#[activity]
async fn step(_ctx: ActivityContext, workflow: u32, index: u32, _witness: String) -> Result<u32, ActivityError> {
    Ok(workflow * 10 + index)
}

#[workflow]
async fn three_steps(ctx: WorkflowContext, n: u32, witness: String) -> WorkflowResult<u32> {
    let options = weft::ActivityOptions::start_to_close(Duration::from_secs(2)).retry_policy(
        weft::RetryPolicy::default().initial_interval(Duration::from_millis(10)).maximum_attempts(MAX_ATTEMPTS),
    );
    let mut sum = 0;
    for index in 0..3 {
        sum += ctx.execute_activity(step, (n, index, witness.clone()), options.clone()).await?;
    }
    ctx.sleep(Duration::from_millis(100)).await?;
    Ok(sum)
}

struct Workers {
    url: String,
    schema: String,
    witness: std::path::PathBuf,
    children: Vec<Child>,
}

impl Workers {
    fn spawn(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_scale_worker"))
            .args([self.url.as_str(), self.schema.as_str()])
            .arg(&self.witness)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start a worker")
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn workflows_on_three_worker_processes_survive_repeated_sigkill() {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return;
    };
    let n = env_or("WEFT_SCALE_N", 1000) as u32;
    let kills = env_or("WEFT_SCALE_K", 10);
    let seed = env_or("WEFT_SCALE_SEED", 0x5ca1_ab1e);
    println!("scale-out test: N={n} K={kills} WEFT_SCALE_SEED={seed}");
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = format!("weft_scale_{}_{}", std::process::id(), seed % 100_000);
    let mut workers =
        Workers { url: url.clone(), schema: schema.clone(), witness: dir.path().join("witness.log"), children: vec![] };
    for _ in 0..3 {
        let child = workers.spawn();
        workers.children.push(child);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let engine = Engine::builder()
            .postgres(&url)
            .postgres_schema(&schema)
            .client_only()
            .build()
            .await
            .expect("connect the client");
        let client = engine.client();
        let witness = workers.witness.to_string_lossy().into_owned();
        // Started and awaited in a task of their own, while the kills go on.
        let starter = client.clone();
        let start_witness = witness.clone();
        let waiting = tokio::spawn(async move {
            let mut handles = Vec::new();
            for i in 0..n {
                let options =
                    WorkflowOptions::new(format!("scale-{i}")).id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate);
                let handle = starter.start_workflow_with(three_steps, options, (i, start_witness.clone())).await;
                handles.push(handle.expect("start"));
            }
            let mut results = Vec::new();
            for handle in handles {
                results.push(handle.result().await);
            }
            results
        });

        let mut rng = Rng(seed);
        let started = Instant::now();
        let mut killed = 0;
        while killed < kills && !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(100 + rng.next_u64() % 500)).await;
            let victim = (rng.next_u64() % 3) as usize;
            workers.children[victim].kill().expect("SIGKILL a worker");
            workers.children[victim].wait().expect("reap it");
            killed += 1;
            let child = workers.spawn();
            workers.children[victim] = child;
        }
        println!("killed a worker {killed} times in {:?}", started.elapsed());
        let results = tokio::time::timeout(Duration::from_secs(300), waiting)
            .await
            .expect("every workflow completes within 300 s")
            .expect("the waiting task");
        println!("{n} workflows completed in {:?}", started.elapsed());
        assert!(
            killed * 10 >= kills * 8,
            "only {killed} of {kills} kills landed before the end: the test would prove little"
        );

        let ran = read_witness(&workers.witness);
        let retried = ran.values().filter(|attempts| attempts.len() > 1).count();
        println!(
            "{} attempts witnessed; {retried} activities ran more than once",
            ran.values().map(Vec::len).sum::<usize>()
        );
        let replayer = Replayer::new().register_workflow(three_steps);
        let expected = Expected { activities: 3, timers: 1, max_attempts: MAX_ATTEMPTS };
        for (i, result) in results.into_iter().enumerate() {
            let id = format!("scale-{i}");
            let i = i as u32;
            let want: u32 = (0..3).map(|index| i * 10 + index).sum();
            assert_eq!(result.expect("completed"), want, "{id}");
            let description = client.describe(&id).await.expect("describe");
            assert_eq!(description.status, RunStatus::Completed, "{id}");
            let history = client.history(&id).await.expect("a clean history");
            let result: u32 = check_history(&id, &history, &ran, &expected);
            assert_eq!(result, want, "{id}");
            replayer.replay(&history).unwrap_or_else(|e| panic!("{id} does not replay: {e}"));
        }
        // One run per workflow id: none started twice.
        let runs = client.list_workflows(weft::ListFilter::all()).await.expect("list");
        assert_eq!(runs.len(), n as usize);
        assert!(matches!(
            client
                .start_workflow_with(
                    three_steps,
                    WorkflowOptions::new("scale-0").id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate),
                    (0, witness)
                )
                .await,
            Err(Error::AlreadyStarted { .. })
        ));
        engine.shutdown().await;
    });
}

/// The builder's PostgreSQL settings apply whichever order they are given
/// in: a schema named before the URL is the schema used.
#[test]
fn postgres_settings_apply_in_any_order() {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return;
    };
    let schema = format!("weft_order_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let worker = Engine::builder()
            .postgres_schema(&schema)
            .postgres_pool_size(2)
            .task_queue("order-test")
            .postgres(&url)
            .register_workflow(three_steps)
            .build()
            .await
            .expect("a worker");
        let client = Engine::builder().postgres(&url).postgres_schema(&schema).client_only().build().await.unwrap();
        let workers = client.client().list_workers().await.unwrap();
        assert_eq!(workers.len(), 1, "the worker registered in {schema}: {workers:?}");
        assert_eq!(workers[0].task_queues, ["order-test"]);
        assert_eq!(workers[0].pid, std::process::id());
        // A client only has no worker, even with a task queue given after.
        let quiet = Engine::builder().postgres(&url).postgres_schema(&schema).client_only().task_queue("x");
        let quiet = quiet.build().await.unwrap();
        assert_eq!(client.client().list_workers().await.unwrap().len(), 1);
        quiet.shutdown().await;
        worker.shutdown().await;
        assert!(client.client().list_workers().await.unwrap().is_empty(), "a worker unregisters at shutdown");
        client.shutdown().await;
    });
}

/// The worker process's mailbox (issue 13), registered here for its stubs
/// and to answer queries by replay: this process runs nothing.
#[derive(Debug, Default)]
struct Mailbox {
    letters: u32,
}

#[workflow]
impl Mailbox {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, expected: u32, notify: String) -> WorkflowResult<u32> {
        ctx.wait_condition(move |s| s.letters >= expected).await?;
        ctx.signal_external(notify, Mailbox::letter, 0).await?;
        Ok(ctx.state(|s| s.letters))
    }

    #[signal]
    fn letter(&mut self, _n: u32) {
        self.letters += 1;
    }

    #[query]
    fn letters(&self) -> u32 {
        self.letters
    }
}

/// Signals sent from this (client-only) process reach a workflow that a
/// worker in another process runs, woken by PostgreSQL's notifications (its
/// poll interval is 60 s); that workflow then signals another one; queries
/// from here answer by replaying the shared history.
#[test]
fn signals_reach_a_worker_process_by_notification() {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = format!("weft_messages_{}", std::process::id());
    let mut workers =
        Workers { url: url.clone(), schema: schema.clone(), witness: dir.path().join("witness.log"), children: vec![] };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        // The client creates the schema before the worker starts.
        let engine = Engine::builder()
            .postgres(&url)
            .postgres_schema(&schema)
            .client_only()
            .register_workflow(Mailbox::run)
            .build()
            .await
            .expect("connect the client");
        let child = workers.spawn();
        workers.children.push(child);
        let client = engine.client();
        let sink = client.start_workflow(Mailbox::run, "sink", (1, "nobody".to_owned())).await.unwrap();
        let mailbox = client.start_workflow(Mailbox::run, "mailbox", (20, "sink".to_owned())).await.unwrap();
        let started = Instant::now();
        let mut waits = Vec::new();
        for i in 0..20 {
            let sent = Instant::now();
            client.signal(&mailbox, Mailbox::letter, i).await.unwrap();
            loop {
                // The last letter closes the run; a closed run answers too.
                match client.query(&mailbox, Mailbox::letters).await {
                    Ok(letters) if letters > i => break,
                    Ok(_) => {}
                    Err(Error::QueryFailed { reason, .. }) if reason.contains("not started") => {}
                    Err(other) => panic!("{other:?}"),
                }
                assert!(started.elapsed() < Duration::from_secs(30), "letter {i} not delivered");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            waits.push(sent.elapsed());
        }
        assert_eq!(mailbox.result().await.unwrap(), 20);
        // The sink got the mailbox's letter, then signalled a workflow that does not exist.
        match sink.result().await {
            Err(Error::WorkflowFailed { failure, .. }) => {
                assert_eq!(failure.error_type(), "ExternalSignalError");
                assert!(failure.message().contains("`nobody` has no open run"), "{failure:?}");
            }
            other => panic!("{other:?}"),
        }
        waits.sort();
        println!("signal to recorded, seen from another process: median {:?}, max {:?}", waits[10], waits[19]);
        let history = mailbox.history().await.unwrap();
        let types: Vec<&str> = history.iter().map(|e| e.event_type()).collect();
        assert_eq!(types.iter().filter(|t| **t == "WorkflowExecutionSignaled").count(), 20);
        assert!(types.contains(&"ExternalWorkflowExecutionSignaled"), "{types:?}");
        Replayer::new().register_workflow(Mailbox::run).replay(&history).unwrap();
        engine.shutdown().await;
    });
}
