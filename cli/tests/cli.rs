//! The `weft` binary against a store that real workflows wrote, and against
//! bad input: a one-line error and a non-zero exit, never a panic.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft::history::{EventAttributes, UpdateOutcome};
use weft::testing::Replayer;
use weft::{
    ActivityContext, ActivityError, ActivityOptions, ChildWorkflowOptions, Engine, WorkflowContext, WorkflowError,
    WorkflowResult, activity, workflow,
};

#[activity]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[activity(heartbeat_timeout = "1h")]
async fn forever(ctx: ActivityContext) -> Result<(), ActivityError> {
    ctx.heartbeat(&"waiting")?;
    ctx.cancelled().await;
    Err(ActivityError::new("cancelled"))
}

#[workflow(name = "Greeting")]
async fn greeting(ctx: WorkflowContext, name: String) -> WorkflowResult<String> {
    Ok(ctx.execute_activity(greet, name, ActivityOptions::start_to_close(Duration::from_secs(10))).await?)
}

#[workflow]
async fn failing(_ctx: WorkflowContext) -> WorkflowResult<()> {
    Err(WorkflowError::new("it had to fail").with_type("Planned"))
}

#[activity]
async fn decline(_ctx: ActivityContext, card: String) -> Result<(), ActivityError> {
    Err(ActivityError::new(format!("card {card} declined")).with_type("CardDeclined").non_retryable())
}

#[workflow]
async fn charging(ctx: WorkflowContext, card: String) -> WorkflowResult<()> {
    ctx.execute_activity(decline, card, ActivityOptions::start_to_close(Duration::from_secs(10))).await?;
    Ok(())
}

#[workflow]
async fn waiting(ctx: WorkflowContext) -> WorkflowResult<()> {
    Ok(ctx.execute_activity(forever, (), ActivityOptions::start_to_close(Duration::from_secs(3600))).await?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Approval {
    by: String,
}

/// A ticket: notes come by update, approvals by signal; one approval closes it.
#[derive(Debug, Default)]
struct Ticket {
    notes: Vec<String>,
    approved_by: Option<String>,
}

#[workflow]
impl Ticket {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, _title: String) -> WorkflowResult<(String, Vec<String>)> {
        ctx.wait_condition(|t| t.approved_by.is_some()).await?;
        Ok(ctx.state(|t| (t.approved_by.clone().unwrap_or_default(), t.notes.clone())))
    }

    #[signal]
    fn approve(&mut self, approval: Approval) {
        self.approved_by.get_or_insert(approval.by);
    }

    #[query]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    #[query]
    fn note(&self, index: usize) -> Option<String> {
        self.notes.get(index).cloned()
    }

    #[update]
    fn add_note(&mut self, note: String) -> WorkflowResult<usize> {
        self.notes.push(note);
        Ok(self.notes.len())
    }

    #[validator(add_note)]
    fn check_note(&self, note: &str) -> Result<(), WorkflowError> {
        if note.is_empty() {
            return Err(WorkflowError::new("a note has text").with_type("EmptyNote"));
        }
        Ok(())
    }

    #[update]
    fn reopen(&mut self) -> WorkflowResult<()> {
        Err(WorkflowError::new("tickets do not reopen").with_type("Refused"))
    }
}

/// Starts a `greeting` child, then a `waiting` one it leaves open.
#[workflow]
async fn family(ctx: WorkflowContext) -> WorkflowResult<String> {
    let hello =
        ctx.execute_child_workflow(greeting, "child".to_owned(), ChildWorkflowOptions::new("family-hello")).await?;
    let _open = ctx.start_child_workflow(waiting, (), ChildWorkflowOptions::new("family-wait")).await?;
    ctx.sleep(Duration::from_secs(3600)).await?;
    Ok(hello)
}

fn builder(db: &Path) -> weft::EngineBuilder {
    Engine::builder()
        .sqlite(db)
        .poll_interval(Duration::from_millis(20))
        .register_workflow(family)
        .register_workflow(Ticket::run)
        .register_workflow(greeting)
        .register_workflow(failing)
        .register_workflow(waiting)
        .register_workflow(charging)
        .register_activity(decline)
        .register_activity(greet)
        .register_activity(forever)
}

fn weft(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run weft")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "weft failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// A failed run: exit code 1, one line on stderr starting `weft: `.
fn error_line(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8(output.stderr.clone()).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("weft: ") && !stderr.contains("panicked"), "{stderr}");
    stderr.trim_end().to_owned()
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weft_command_lists_shows_describes_exports_and_cancels() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    let client = engine.client();
    client.start_workflow(greeting, "greet-1", "World".to_owned()).await?.result().await?;
    let _ = client.start_workflow(failing, "fail-1", ()).await?.result().await;
    client.start_workflow(waiting, "wait-1", ()).await?;
    client.start_workflow(waiting, "wait-2", ()).await?;
    wait_until("wait-1 runs its activity", async || {
        client
            .describe("wait-1")
            .await
            .is_ok_and(|d| d.pending_activities.iter().any(|a| a.last_heartbeat_details.is_some()))
    })
    .await;

    let list = stdout(&weft(&db, &["workflow", "list"]));
    assert!(list.starts_with("WORKFLOW ID"), "{list}");
    for expected in ["greet-1", "Greeting", "completed", "fail-1", "failed", "wait-1", "running"] {
        assert!(list.contains(expected), "{expected} missing from\n{list}");
    }
    let failed = stdout(&weft(&db, &["workflow", "list", "--status", "failed"]));
    assert!(failed.contains("fail-1") && !failed.contains("greet-1"), "{failed}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&weft(&db, &["-o", "json", "workflow", "list", "--type", "waiting"]))).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(2));

    let show = stdout(&weft(&db, &["workflow", "show", "greet-1"]));
    assert!(show.contains("ActivityTaskCompleted") && show.contains("result=\"Hello, World!\""), "{show}");
    assert!(show.contains("activity=greet id=1 input=\"World\""), "{show}");

    let describe = stdout(&weft(&db, &["workflow", "describe", "fail-1"]));
    assert!(describe.contains("status        failed") && describe.contains("Planned: it had to fail"), "{describe}");
    let describe = stdout(&weft(&db, &["workflow", "describe", "wait-1"]));
    assert!(describe.contains("pending activities:") && describe.contains("\"waiting\""), "{describe}");

    // The JSON history is the format the Replayer reads.
    let history = stdout(&weft(&db, &["workflow", "history", "greet-1", "--output", "json"]));
    Replayer::new().register_workflow(greeting).replay_json(&history)?;

    let export_dir = dir.path().join("export");
    let export = stdout(&weft(&db, &["workflow", "export", "--dir", export_dir.to_str().unwrap()]));
    assert!(export.contains("exported 4 histories"), "{export}");
    let greet_run = client.describe("greet-1").await?.run_id;
    Replayer::new().register_workflow(greeting).replay_file(export_dir.join(format!("greet-1@{greet_run}.json")))?;

    // Cancel and terminate reach the running engine through the store.
    stdout(&weft(&db, &["workflow", "cancel", "wait-1", "--reason", "from the command line"]));
    stdout(&weft(&db, &["workflow", "terminate", "wait-2", "--reason", "operator"]));
    let cancelled = client.workflow_handle(waiting, "wait-1").await?;
    assert!(matches!(cancelled.result().await, Err(weft::Error::WorkflowCanceled { .. })));
    let terminated = client.workflow_handle(waiting, "wait-2").await?;
    assert!(matches!(terminated.result().await, Err(weft::Error::WorkflowTerminated { .. })));
    let show = stdout(&weft(&db, &["workflow", "show", "wait-1"]));
    assert!(show.contains("WorkflowExecutionCancelRequested") && show.contains("from the command line"), "{show}");
    let line = error_line(&weft(&db, &["workflow", "cancel", "wait-1"]));
    assert!(line.contains("is not running: it is canceled"), "{line}");
    engine.shutdown().await;
    Ok(())
}

/// Issue 11, item 8: the `?`'d activity failure and its cause, level by level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_a_parent_s_children_and_a_child_s_parent() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    let client = engine.client();
    let parent = client.start_workflow(family, "family", ()).await?;
    wait_until("both children start", async || {
        client.describe("family").await.is_ok_and(|d| d.children.len() == 2 && d.children[1].run_id.is_some())
    })
    .await;
    let describe = stdout(&weft(&db, &["workflow", "describe", "family"]));
    assert!(describe.contains("children:"), "{describe}");
    let rows: Vec<&str> = describe.lines().filter(|l| l.starts_with("family-")).collect();
    assert!(rows.len() == 2 && rows[0].contains("Greeting") && rows[0].ends_with("completed"), "{describe}");
    assert!(rows[1].contains("waiting") && rows[1].ends_with("running"), "{describe}");
    let child = stdout(&weft(&db, &["workflow", "describe", "family-wait"]));
    assert!(child.contains(&format!("parent        family (run {}, event ", parent.run_id())), "{child}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&weft(&db, &["-o", "json", "workflow", "describe", "family"]))).unwrap();
    assert_eq!(json["children"][0]["state"], "completed");
    assert_eq!(json["children"][1]["workflow_id"], "family-wait");
    engine.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_printed_with_its_cause_chain() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    let _ = engine.client().start_workflow(charging, "charge-1", "4242".to_owned()).await?.result().await;
    engine.shutdown().await;

    let show = stdout(&weft(&db, &["workflow", "show", "charge-1"]));
    assert!(
        show.contains(
            "failure=\"ActivityFailure: activity `decline` (id 1) failed after 1 attempt(s)\" \
             caused_by=\"CardDeclined: card 4242 declined\""
        ),
        "{show}"
    );
    let describe = stdout(&weft(&db, &["workflow", "describe", "charge-1"]));
    assert!(
        describe.contains(
            "failure       ActivityFailure: activity `decline` (id 1) failed after 1 attempt(s)\n  \
             caused by   CardDeclined: card 4242 declined\n"
        ),
        "{describe}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&weft(&db, &["-o", "json", "workflow", "describe", "charge-1"]))).unwrap();
    let chain = json["failure_chain"].as_array().expect("failure_chain");
    assert_eq!(chain.len(), 2, "{json}");
    assert_eq!(chain[0]["error_type"], "ActivityFailure");
    assert_eq!(chain[0]["activity"]["activity_type"], "decline");
    assert_eq!(chain[0]["activity"]["scheduled_event_id"], 2);
    assert_eq!(chain[0]["activity"]["retry_state"], "NonRetryableFailure");
    assert_eq!(chain[1]["error_type"], "CardDeclined");
    assert_eq!(chain[1]["message"], "card 4242 declined");
    assert!(chain[1]["activity"].is_null());
    let history: serde_json::Value =
        serde_json::from_str(&stdout(&weft(&db, &["workflow", "history", "charge-1", "-o", "json"]))).unwrap();
    let last = &history.as_array().unwrap().last().unwrap()["attributes"]["failure"];
    assert_eq!(last["cause"]["error_type"], "CardDeclined", "{last}");
    Ok(())
}

/// Issue 11, item 13: a damaged history is reported and skipped, the others
/// are exported; ids that differ only in characters a file name cannot hold
/// get different files; an I/O error names its path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_goes_past_a_damaged_history_and_names_every_file_apart() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    let client = engine.client();
    let ids = ["a/b", "a_b", "a%2Fb", "a:b", "m-damaged", "z.last"];
    let mut runs = Vec::new();
    for id in ids {
        let handle = client.start_workflow(greeting, id, id.to_owned()).await?;
        handle.result().await?;
        runs.push(handle.run_id().to_owned());
    }
    engine.shutdown().await;
    // Flip a byte of one run's first event: its checksum no longer matches.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let changed = conn
        .execute(
            "UPDATE events SET data = replace(data, 'm-damaged', 'm-DAMAGED') WHERE run_id = ?1 AND event_id = 1",
            [&runs[4]],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);

    let out = dir.path().join("out");
    let output = weft(&db, &["workflow", "export", "--dir", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        stderr.contains(&format!("`m-damaged` (run {})", runs[4])) && stderr.contains("checksum"),
        "the damaged run, its run id and the reason: {stderr}"
    );
    assert!(stderr.contains("1 of 6 histories not exported"), "{stderr}");
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let mut expected: Vec<String> = [("a%2Fb", 0), ("a_b", 1), ("a%252Fb", 2), ("a%3Ab", 3), ("z.last", 5)]
        .iter()
        .map(|(name, i)| format!("{name}@{}.json", runs[*i]))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    let replayer = Replayer::new().register_workflow(greeting);
    for name in &names {
        replayer.replay_file(out.join(name))?;
    }
    // The history in each file is its own workflow's.
    let json = std::fs::read_to_string(out.join(format!("a%2Fb@{}.json", runs[0]))).unwrap();
    assert!(json.contains("\"workflow_id\": \"a/b\""), "{json}");

    // An I/O error names the path it could not write.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"a file, not a folder").unwrap();
    let line = error_line(&weft(&db, &["workflow", "export", "--dir", blocked.to_str().unwrap()]));
    assert!(line.contains(blocked.to_str().unwrap()), "{line}");
    Ok(())
}

/// A damaged row's time out of 1970..=9999 (humantime formats no other, and
/// panics) is shown as such: `list` and `describe` do not panic.
#[test]
fn a_time_out_of_range_in_a_damaged_row_is_printed_not_panicked_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let engine = builder(&db).build().await.unwrap();
        engine.client().start_workflow(greeting, "greet-1", "World".to_owned()).await.unwrap().result().await.unwrap();
        engine.shutdown().await;
    });
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE runs SET created_at = -5000000, closed_at = ?1", [i64::MAX]).unwrap();
    drop(conn);
    let list = stdout(&weft(&db, &["workflow", "list"]));
    assert!(list.contains("(invalid time: -5000000 µs since 1970)"), "{list}");
    assert!(list.contains(&format!("(invalid time: {} µs since 1970)", i64::MAX)), "{list}");
    let describe = stdout(&weft(&db, &["workflow", "describe", "greet-1"]));
    assert!(describe.contains("started       (invalid time: -5000000 µs since 1970)"), "{describe}");
    stdout(&weft(&db, &["-o", "json", "workflow", "list"]));
}

#[test]
fn bad_input_gives_one_line_and_a_failure_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.db");
    assert!(error_line(&weft(&missing, &["workflow", "list"])).contains("no weft store at"));
    assert!(!missing.exists(), "inspecting must not create a store");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database, not even close; it is plain text repeated. ".repeat(100))
        .unwrap();
    let line = error_line(&weft(&garbage, &["workflow", "list"]));
    assert!(line.contains("store operation failed"), "{line}");

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
    assert!(error_line(&weft(&foreign, &["workflow", "list"])).contains("is not a weft store"));

    let db = dir.path().join("app.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let engine = builder(&db).build().await.unwrap();
        engine.client().start_workflow(greeting, "greet-1", "World".to_owned()).await.unwrap().result().await.unwrap();
        engine.shutdown().await;
    });
    let line = error_line(&weft(&db, &["workflow", "show", "nope"]));
    assert_eq!(line, "weft: workflow `nope` not found");

    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let line = error_line(&weft(&db, &["workflow", "list"]));
    assert!(line.contains("store schema version 99 is newer than this build supports (2)"), "{line}");

    // A usage mistake is clap's: exit code 2.
    let output = weft(&db, &["workflow", "frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

/// Runs weft, failing the test if it has not exited within 10 s.
fn weft_within_10s(db: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--db")
        .arg(db)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run weft");
    for _ in 0..1000 {
        if child.try_wait().expect("wait for weft").is_some() {
            return child.wait_with_output().expect("weft's output");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("weft --db {} {args:?} hung", db.display());
}

#[test]
fn a_directory_or_a_fifo_as_db_is_named_and_never_hangs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = error_line(&weft_within_10s(dir.path(), &["workflow", "list"]));
    assert_eq!(line, format!("weft: {} is a directory, not a store file", dir.path().display()));
    let fifo = dir.path().join("fifo.db");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    for args in [&["workflow", "list"][..], &["workflow", "cancel", "x"]] {
        let line = error_line(&weft_within_10s(&fifo, args));
        assert_eq!(line, format!("weft: {} is a FIFO (named pipe), not a store file", fifo.display()));
    }
}

#[test]
fn a_huge_workflow_id_is_cut_short_in_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { builder(&db).build().await.unwrap().shutdown().await });
    let id = "a".repeat(100_000);
    for command in ["show", "describe", "cancel"] {
        let line = error_line(&weft(&db, &["workflow", command, &id]));
        let expected =
            format!("weft: invalid workflow id \"{}\"… (100000 chars): it is over 1000 bytes", "a".repeat(100));
        assert_eq!(line, expected, "weft workflow {command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_blocked_by_another_connection_names_the_engine_and_what_to_do() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    engine.client().start_workflow(waiting, "wait-1", ()).await?;
    // Another connection holds the write lock, as a stopped engine or a long checkpoint would.
    let holder = rusqlite::Connection::open(&db)?;
    holder.execute_batch("BEGIN IMMEDIATE")?;
    let started = std::time::Instant::now();
    let line = error_line(&weft(&db, &["--busy-timeout", "100ms", "workflow", "cancel", "wait-1"]));
    assert!(started.elapsed() < Duration::from_secs(4), "the busy timeout was not used");
    let pid = std::process::id();
    assert!(line.contains(&format!("store {} is busy", db.display())), "{line}");
    assert!(line.contains("held its write lock for over 100ms"), "{line}");
    assert!(line.contains(&format!("the store's engine is pid {pid} on host ")), "{line}");
    assert!(line.contains("and it is running") && line.contains("retry"), "{line}");
    holder.execute_batch("COMMIT")?;
    drop(holder);
    stdout(&weft(&db, &["--busy-timeout", "100ms", "workflow", "cancel", "wait-1"]));
    engine.shutdown().await;
    Ok(())
}

/// Issue 13: `weft workflow signal`, `query` and `update` reach a struct
/// workflow that an engine in this process runs, through the store file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_weft_command_signals_queries_and_updates_a_running_workflow() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    let client = engine.client();
    let handle = client.start_workflow(Ticket::run, "ticket-1", "printer on fire".to_owned()).await?;

    assert_eq!(stdout(&weft(&db, &["workflow", "query", "ticket-1", "notes"])), "[]\n");
    let update = ["workflow", "update", "ticket-1", "add_note", "--update-id", "note-1", "--input"];
    assert_eq!(stdout(&weft(&db, &[&update[..], &["\"smoke seen\""]].concat())), "1\n");
    // The same update id again: the first outcome, and no second note.
    assert_eq!(stdout(&weft(&db, &[&update[..], &["\"other\""]].concat())), "1\n");
    let json: serde_json::Value = serde_json::from_str(&stdout(&weft(
        &db,
        &["-o", "json", "workflow", "update", "ticket-1", "add_note", "--input", "\"extinguished\""],
    )))
    .unwrap();
    assert_eq!(
        (&json["workflow_id"], &json["update"], &json["result"]),
        (&"ticket-1".into(), &"add_note".into(), &2.into())
    );
    assert!(json["update_id"].as_str().is_some_and(|id| !id.is_empty()), "{json}");
    let notes = stdout(&weft(&db, &["workflow", "query", "ticket-1", "notes"]));
    assert_eq!(notes, "[\n  \"smoke seen\",\n  \"extinguished\"\n]\n");
    assert_eq!(stdout(&weft(&db, &["workflow", "query", "ticket-1", "note", "--input", "1"])), "\"extinguished\"\n");
    let json = stdout(&weft(&db, &["-o", "json", "workflow", "query", "ticket-1", "note", "--input", "5"]));
    assert_eq!(json, "{\"query\":\"note\",\"result\":null,\"workflow_id\":\"ticket-1\"}\n");

    // Typed refusals: one line each, exit code 1, nothing recorded.
    let before = client.history("ticket-1").await?.len();
    let line = error_line(&weft(&db, &["workflow", "update", "ticket-1", "add_note", "--input", "\"\""]));
    assert!(
        line.contains("of workflow `ticket-1` (run ") && line.ends_with("was rejected: EmptyNote: a note has text"),
        "{line}"
    );
    let line = error_line(&weft(&db, &["workflow", "update", "ticket-1", "add_note", "--input", "42"]));
    assert!(line.contains("was rejected: PayloadError: update input rejected"), "{line}");
    let line = error_line(&weft(&db, &["workflow", "update", "ticket-1", "close"]));
    assert!(line.ends_with("has no update `close`"), "{line}");
    let line = error_line(&weft(&db, &["workflow", "query", "ticket-1", "owner"]));
    assert!(line.ends_with("has no query `owner`"), "{line}");
    assert_eq!(client.history("ticket-1").await?.len(), before, "a rejected update records nothing");
    let line = error_line(&weft(&db, &["workflow", "update", "ticket-1", "reopen", "--update-id", "reopen-1"]));
    assert!(
        line.contains("update `reopen-1` of workflow `ticket-1`")
            && line.ends_with("failed: Refused: tickets do not reopen"),
        "{line}"
    );

    let json =
        stdout(&weft(&db, &["-o", "json", "workflow", "signal", "ticket-1", "approve", "--input", r#"{"by":"ann"}"#]));
    assert_eq!(json, "{\"result\":\"signaled\",\"signal\":\"approve\",\"workflow_id\":\"ticket-1\"}\n");
    assert_eq!(handle.result().await?, ("ann".to_owned(), vec!["smoke seen".to_owned(), "extinguished".to_owned()]));

    let show = stdout(&weft(&db, &["workflow", "show", "ticket-1"]));
    for expected in [
        "WorkflowExecutionUpdateAccepted   update=add_note id=note-1 input=\"smoke seen\"",
        "WorkflowExecutionUpdateCompleted  id=note-1 accepted=2 result=1",
        "WorkflowExecutionUpdateCompleted  id=reopen-1 accepted=6 failure=\"Refused: tickets do not reopen\"",
        "WorkflowExecutionSignaled         signal=approve input={\"by\":\"ann\"}",
    ] {
        assert!(show.contains(expected), "{expected} missing from\n{show}");
    }
    let history = client.history("ticket-1").await?;
    let signaled = history.iter().find_map(|e| match e.attributes() {
        EventAttributes::WorkflowExecutionSignaled { signal_name, input } => {
            Some((signal_name.clone(), input.as_json().to_owned()))
        }
        _ => None,
    });
    assert_eq!(signaled, Some(("approve".to_owned(), r#"{"by":"ann"}"#.to_owned())));
    let completed: Vec<bool> = history
        .iter()
        .filter_map(|e| match e.attributes() {
            EventAttributes::WorkflowExecutionUpdateCompleted { outcome, .. } => {
                Some(matches!(outcome, UpdateOutcome::Completed { .. }))
            }
            _ => None,
        })
        .collect();
    assert_eq!(completed, [true, true, false], "note-1, the second note, reopen-1");
    Replayer::new().register_workflow(Ticket::run).replay(&history)?;

    // The closed run: its update ids still answer; anything new is refused.
    assert_eq!(stdout(&weft(&db, &[&update[..], &["\"late\""]].concat())), "1\n");
    let line = error_line(&weft(&db, &["workflow", "signal", "ticket-1", "approve", "--input", r#"{"by":"bob"}"#]));
    assert!(line.ends_with("is not running: it is completed"), "{line}");
    let line = error_line(&weft(&db, &["workflow", "update", "ticket-1", "add_note", "--input", "\"late\""]));
    assert!(line.ends_with("is not running: it is completed"), "{line}");
    let line = error_line(&weft(&db, &["workflow", "query", "ticket-1", "notes"]));
    assert!(line.contains("is not running: it is completed; ") && line.contains("`Client::query`"), "{line}");
    engine.shutdown().await;
    Ok(())
}

#[test]
fn signal_query_and_update_refuse_bad_input_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async { builder(&db).build().await.unwrap().shutdown().await });
    for command in ["signal", "query", "update"] {
        let line = error_line(&weft(&db, &["workflow", command, "ticket-1", "approve", "--input", "{"]));
        assert_eq!(line, "weft: --input is not valid JSON: EOF while parsing an object at line 1 column 1");
        let line = error_line(&weft(&db, &["workflow", command, "nope", "approve", "--input", "{\"by\":\"ann\"}"]));
        assert_eq!(line, "weft: workflow `nope` not found");
    }
    let line = error_line(&weft(&db, &["workflow", "signal", "x", "approve", "--input", "[1, 2"]));
    assert_eq!(line, "weft: --input is not valid JSON: EOF while parsing a list at line 1 column 5");
    // A usage mistake is clap's: exit code 2.
    assert_eq!(weft(&db, &["workflow", "signal", "ticket-1"]).status.code(), Some(2));
}

/// With no engine running the workflow, a query or update times out and
/// says so; the update waits in the inbox, and its id fetches its outcome
/// once an engine ran it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_query_or_update_with_no_engine_running_times_out_and_says_what_became_of_it() -> weft::Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    engine.client().start_workflow(Ticket::run, "ticket-2", "no engine".to_owned()).await?;
    engine.shutdown().await;

    let line = error_line(&weft(&db, &["workflow", "query", "ticket-2", "notes", "--timeout", "300ms"]));
    assert_eq!(
        line,
        "weft: no answer to query `notes` from workflow `ticket-2` within 300ms: is an engine with its workflow \
         type running on this store? (ask again once an engine runs it)"
    );
    let args = ["workflow", "update", "ticket-2", "add_note", "--input", "\"queued\"", "--update-id", "queued-1"];
    let line = error_line(&weft(&db, &[&args[..], &["--timeout", "300ms"]].concat()));
    assert!(
        line.starts_with(
            "weft: no answer to update `add_note` (update id queued-1) from workflow `ticket-2` within 300ms"
        ),
        "{line}"
    );
    assert!(line.ends_with("`--update-id queued-1` returns its outcome once it ran)"), "{line}");

    let engine = builder(&db).build().await?;
    assert_eq!(stdout(&weft(&db, &args)), "1\n", "the queued update ran once");
    assert_eq!(stdout(&weft(&db, &["workflow", "query", "ticket-2", "notes"])), "[\n  \"queued\"\n]\n");
    engine.shutdown().await;
    Ok(())
}

/// `weft ui`: serves the web view over the store while the engine runs;
/// another address than loopback without a token is refused in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weft_ui_serves_the_store_and_refuses_an_open_address_without_a_token() -> weft::Result<()> {
    use std::io::{BufRead, Read, Write};

    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("app.db");
    let engine = builder(&db).build().await?;
    engine.client().start_workflow(greeting, "greet-1", "World".to_owned()).await?.result().await?;

    let line = error_line(&weft_within_10s(&db, &["ui", "--bind", "0.0.0.0:0"]));
    assert!(line.contains("--token"), "{line}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--db")
        .arg(&db)
        .args(["ui", "--bind", "127.0.0.1:0", "--read-only"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run weft ui");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).expect("weft ui prints its address");
    let url = first.trim().strip_prefix("weft ui: http://").unwrap_or_else(|| panic!("{first}"));
    let addr = url.trim_end_matches('/').to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
        write!(stream, "GET /api/workflows HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("reads");
        answer
    })
    .await
    .unwrap();
    child.kill().expect("stops weft ui");
    child.wait().expect("weft ui exits");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"workflow_id\":\"greet-1\"") && answer.contains("\"read_only\":true"), "{answer}");
    engine.shutdown().await;
    Ok(())
}
