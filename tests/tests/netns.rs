//! Workers on a real network: two worker processes, each in a network
//! namespace of its own, reach PostgreSQL across a veth pair (through a
//! TCP relay in this process, which listens on the host side of each pair).
//! Worker A runs a slow activity; its link is cut for longer than the
//! attempt's heartbeat timeout; worker B takes the attempt over and
//! completes the workflow; when A's link comes back, A's late completion is
//! refused (`StaleTask`) and the history keeps B's result.
//!
//! Runs when `WEFT_TEST_POSTGRES` names a server and the machine allows
//! network namespaces (root, `ip netns`); skipped with a notice otherwise.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weft::history::EventAttributes;
use weft::{ActivityContext, ActivityError, Engine, WorkflowContext, WorkflowResult, activity, workflow};

// The worker's types (tests/src/bin/scale_worker.rs), for their names.
#[activity(heartbeat_timeout = "1s")]
async fn slow_step(_ctx: ActivityContext, _ms: u64, _witness: String) -> Result<String, ActivityError> {
    unreachable!("runs in the workers")
}

#[workflow]
async fn one_slow_step(ctx: WorkflowContext, ms: u64, witness: String) -> WorkflowResult<String> {
    let options = weft::ActivityOptions::start_to_close(Duration::from_secs(60))
        .heartbeat_timeout(Duration::from_secs(1))
        .retry_policy(weft::RetryPolicy::default().initial_interval(Duration::from_millis(10)).maximum_attempts(20));
    Ok(ctx.execute_activity(slow_step, (ms, witness), options).await?)
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Two namespaces, each joined to this one by a veth pair; removed on drop.
struct Net {
    namespaces: [String; 2],
    hosts: [String; 2],
}

impl Net {
    /// `Err` (with the reason) where the machine does not allow namespaces;
    /// a failure after the first one is a bug here, and panics.
    fn create() -> Result<Net, String> {
        let tag = std::process::id() % 10_000;
        let subnets = [format!("10.231.{}", tag % 250), format!("10.232.{}", tag % 250)];
        let net = Net {
            namespaces: [format!("weft-a{tag}"), format!("weft-b{tag}")],
            hosts: [format!("{}.1", subnets[0]), format!("{}.1", subnets[1])],
        };
        ip(&["netns", "add", &net.namespaces[0]])?;
        let setup = |args: &[&str]| ip(args).unwrap_or_else(|e| panic!("setting up the namespaces: {e}"));
        setup(&["netns", "add", &net.namespaces[1]]);
        for (i, ns) in net.namespaces.iter().enumerate() {
            let (host_if, ns_if) = (format!("wh{i}{tag}"), format!("wn{i}{tag}"));
            setup(&["link", "add", &host_if, "type", "veth", "peer", "name", &ns_if]);
            setup(&["link", "set", &ns_if, "netns", ns]);
            setup(&["addr", "add", &format!("{}/30", net.hosts[i]), "dev", &host_if]);
            setup(&["link", "set", &host_if, "up"]);
            setup(&["-n", ns, "addr", "add", &format!("{}.2/30", subnets[i]), "dev", &ns_if]);
            setup(&["-n", ns, "link", "set", &ns_if, "up"]);
            setup(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Ok(net)
    }

    /// Cuts (`false`) or restores (`true`) namespace `i`'s link.
    fn link(&self, i: usize, up: bool) {
        let ns_if = format!("wn{i}{}", std::process::id() % 10_000);
        ip(&["-n", &self.namespaces[i], "link", "set", &ns_if, if up { "up" } else { "down" }]).expect("set the link");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            // Deleting a namespace deletes its end of the pair, and so the pair.
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// Relays TCP connections from `listen` to `target`, until the runtime ends.
async fn relay(listen: &str, target: String) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind((listen, 0)).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Ok(port)
}

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `path` has a line containing all of `parts`.
async fn wait_for_line(path: &std::path::Path, parts: &[&str], within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no line with {parts:?} in {} within {within:?}:\n{text}", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_worker_cut_off_past_its_lease_loses_its_attempt_and_its_late_completion_is_refused() {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES") else {
        println!("skipped: WEFT_TEST_POSTGRES is not set (see README.md, Tests)");
        return;
    };
    // postgres://user:password@host:port/database
    let (head, rest) = url.split_once('@').expect("a URL with user@host");
    let (server, database) = rest.split_once('/').expect("a URL with /database");
    let net = match Net::create() {
        Ok(net) => net,
        Err(reason) => {
            println!("skipped: this machine does not allow network namespaces ({reason})");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let witness = dir.path().join("witness.log");
    let marks = dir.path().join("witness.log.marks");
    let schema = format!("weft_netns_{}", std::process::id());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut urls = Vec::new();
        for host in &net.hosts {
            let port = relay(host, server.to_owned()).await.expect("a relay on the veth's host side");
            urls.push(format!("{head}@{host}:{port}/{database}"));
        }
        let spawn = |i: usize, log: &std::path::Path| {
            let log = std::fs::File::create(log).expect("worker log");
            let child = Command::new("ip")
                .args(["netns", "exec", &net.namespaces[i], env!("CARGO_BIN_EXE_scale_worker"), &urls[i], &schema])
                .arg(&witness)
                .env("RUST_LOG", "weft=debug")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start a worker in its namespace");
            Worker(child)
        };
        let log_a = dir.path().join("a.log");
        let worker_a = spawn(0, &log_a);
        let engine = Engine::builder()
            .postgres(&url)
            .postgres_schema(&schema)
            .client_only()
            .build()
            .await
            .expect("connect the client");
        let client = engine.client();
        let handle = client
            .start_workflow(one_slow_step, "cut-1", (3000, witness.to_string_lossy().into_owned()))
            .await
            .expect("start");
        let pid_a = worker_a.0.id().to_string();
        wait_for_line(&marks, &["cut-1", " 1 ", &pid_a, "start"], Duration::from_secs(30)).await;

        let worker_b = spawn(1, &dir.path().join("b.log"));
        net.link(0, false);
        let result = tokio::time::timeout(Duration::from_secs(60), handle.result())
            .await
            .expect("B completes the workflow while A is cut off")
            .expect("completed");
        let pid_b = worker_b.0.id().to_string();
        assert_eq!(result, format!("{pid_b}:2"), "B ran attempt 2 and its result is the one recorded");

        // A worked on: its attempt ends, and its completion is refused once it gets through.
        net.link(0, true);
        wait_for_line(&marks, &["cut-1", " 1 ", &pid_a, "end"], Duration::from_secs(30)).await;
        wait_for_line(&log_a, &["stale activity result discarded"], Duration::from_secs(60)).await;
        let history = client.history("cut-1").await.expect("history");
        let completed: Vec<_> = history
            .iter()
            .filter_map(|e| match e.attributes() {
                EventAttributes::ActivityTaskCompleted { result, .. } => Some(result.decode::<String>().unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(completed, [format!("{pid_b}:2")], "one completion, B's");
        let started: Vec<u32> = history
            .iter()
            .filter_map(|e| match e.attributes() {
                EventAttributes::ActivityTaskStarted { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect();
        assert_eq!(started, [2]);
        engine.shutdown().await;
    });
}
