//! What the web view's tests share: a store with workflows in every
//! state, the web view on it, and a plain HTTP/1.1 client.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft::workflow::Signal;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, Engine, RetryPolicy, WorkflowContext, WorkflowResult, activity,
    workflow,
};

/// How long [`shout`] takes: its timeline lane starts measurably before it closes.
pub const SHOUT_TAKES: Duration = Duration::from_millis(20);

/// Upper-cases its input, after [`SHOUT_TAKES`].
#[activity]
pub async fn shout(_ctx: ActivityContext, text: String) -> Result<String, ActivityError> {
    tokio::time::sleep(SHOUT_TAKES).await;
    Ok(text.to_uppercase())
}

/// Fails its first `failures` attempts, then returns the attempt that succeeded.
#[activity]
pub async fn flaky(ctx: ActivityContext, failures: u32) -> Result<u32, ActivityError> {
    if ctx.attempt() <= failures {
        return Err(ActivityError::new(format!("attempt {} failed", ctx.attempt())));
    }
    Ok(ctx.attempt())
}

/// Always fails.
#[activity]
pub async fn broken(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Err(ActivityError::new("the service is down"))
}

fn quick() -> ActivityOptions {
    ActivityOptions::start_to_close(Duration::from_secs(10))
        .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(20)).maximum_attempts(3))
}

/// Two activities (the second retried twice) and a timer.
#[workflow]
pub async fn greet(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    let loud = ctx.execute_activity(shout, name, quick()).await?;
    let attempts = ctx.execute_activity(flaky, 2, quick()).await?;
    ctx.sleep(Duration::from_millis(50)).await?;
    Ok(format!("{loud} after {attempts} attempts"))
}

/// An activity that fails every attempt: the workflow fails.
#[workflow]
pub async fn doomed(ctx: WorkflowContext) -> WorkflowResult<()> {
    ctx.execute_activity(broken, (), quick()).await?;
    Ok(())
}

/// Each `go` signal runs one activity; `steps` signals end it.
pub const GO: Signal<waiter, String> = Signal::new("go");

#[workflow]
pub async fn waiter(ctx: WorkflowContext, steps: u32) -> WorkflowResult<Vec<String>> {
    let mut go = ctx.signal_channel(GO);
    let mut done = Vec::new();
    while done.len() < steps as usize {
        let word = go.recv().await?;
        done.push(ctx.execute_activity(shout, word, quick()).await?);
    }
    Ok(done)
}

/// Returns its input at once.
#[activity]
pub async fn echo(_ctx: ActivityContext, i: u32) -> Result<u32, ActivityError> {
    Ok(i)
}

/// `n` activities, 100 at a time: a history of `3 n + 2` events.
#[workflow]
pub async fn long(ctx: WorkflowContext, n: u32) -> WorkflowResult<u32> {
    let mut done = 0;
    while done < n {
        let batch = (done..n.min(done + 100)).map(|i| ctx.start_activity(echo, i, quick()));
        for result in futures::future::join_all(batch.collect::<Vec<_>>()).await {
            result?;
        }
        done = n.min(done + 100);
    }
    Ok(done)
}

pub fn register(builder: weft::EngineBuilder) -> weft::EngineBuilder {
    builder
        .register_workflow(greet)
        .register_workflow(doomed)
        .register_workflow(waiter)
        .register_workflow(long)
        .register_activity(echo)
        .register_activity(shout)
        .register_activity(flaky)
        .register_activity(broken)
}

/// The input of the workflow that tries to put HTML into the page.
pub const HOSTILE: &str = "<script>window.__weft_xss = 1</script><img src=x onerror=\"window.__weft_xss = 2\">";

/// A store file with: three completed `greet` runs (one with [`HOSTILE`]
/// input), a failed `doomed`, and `waiter-1` open (waiting for `go`).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
}

impl Fixture {
    pub async fn new() -> weft::Result<Fixture> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let engine = register(Engine::builder().sqlite(dir.path().join("ui.weft.db"))).build().await?;
        let client = engine.client();
        for (id, name) in [("greet-ada", "ada"), ("greet-bob", "bob"), ("greet-hostile", HOSTILE)] {
            client.start_workflow(greet, id, name.to_owned()).await?.result().await?;
        }
        let doomed = client.start_workflow(doomed, "doomed-1", ()).await?;
        assert!(doomed.result().await.is_err());
        client.start_workflow(waiter, "waiter-1", 2).await?;
        Ok(Fixture { dir, engine })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("ui.weft.db")
    }
}

/// Serves the web view on `path` on a free loopback port; its address.
pub async fn serve(path: &Path, options: weft_ui::UiOptions) -> std::net::SocketAddr {
    let inspector = weft::inspect::Inspector::open(path).expect("the store opens");
    let ui = weft_ui::Ui::bind(inspector, "127.0.0.1:0".parse().unwrap(), options).await.expect("binds");
    let addr = ui.local_addr();
    tokio::spawn(ui.serve());
    addr
}

/// An HTTP answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request (`extra` are header lines) and reads the whole answer.
pub async fn request(addr: std::net::SocketAddr, method: &str, target: &str, extra: &[&str], body: &str) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).await.expect("sends");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reads");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Answer { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// `GET target`.
pub async fn get(addr: std::net::SocketAddr, target: &str) -> Answer {
    request(addr, "GET", target, &[], "").await
}

/// The page's action secret, read from the page as a browser would.
pub async fn csrf(addr: std::net::SocketAddr) -> String {
    let page = get(addr, "/").await.body;
    let at = page.find("name=\"weft-csrf\" content=\"").expect("the secret's meta tag") + 26;
    page[at..at + 32].to_owned()
}
