//! What each subcommand does.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use weft::history::{EventAttributes, Failure, HistoryEvent};
use weft::inspect::Inspector;
use weft::{ListFilter, WorkflowDescription};

use crate::args::{Output, Workflow};
use crate::output::{Table, colour, event_colour, paint, status_colour, summary, time};

pub(crate) async fn run(inspector: &Inspector, output: Output, command: Workflow) -> Result<(), CliError> {
    match command {
        Workflow::List { status, workflow_type, limit } => {
            let mut filter = ListFilter::all().limit(limit);
            if let Some(status) = status {
                filter = filter.status(status.into());
            }
            if let Some(workflow_type) = workflow_type {
                filter = filter.workflow_type(workflow_type);
            }
            list(&inspector.list_workflows(filter).await?, output);
        }
        Workflow::Show { workflow_id } => show(&inspector.history(&workflow_id).await?, output),
        Workflow::History { workflow_id } => show(&inspector.history(&workflow_id).await?, output),
        Workflow::Describe { workflow_id } => {
            let description = inspector.describe(&workflow_id).await?;
            let history = inspector.history(&workflow_id).await.ok();
            describe(&description, history.as_deref(), output);
        }
        Workflow::Export { dir } => export(inspector, &dir, output).await?,
        Workflow::Cancel { workflow_id, reason } => {
            inspector.cancel_workflow(&workflow_id, reason).await?;
            done(output, &workflow_id, "cancellation requested");
        }
        Workflow::Terminate { workflow_id, reason } => {
            inspector.terminate_workflow(&workflow_id, reason).await?;
            done(output, &workflow_id, "termination requested");
        }
        Workflow::Signal { workflow_id, name, input } => {
            check_json(&input)?;
            inspector.signal(&workflow_id, &name, &input).await?;
            match output {
                Output::Json => {
                    println!("{}", json!({ "workflow_id": workflow_id, "signal": name, "result": "signaled" }))
                }
                Output::Table => println!("{workflow_id}: signal `{name}` sent"),
            }
        }
        Workflow::Query { workflow_id, name, input, timeout } => {
            check_json(&input)?;
            let answer = match tokio::time::timeout(timeout, inspector.query(&workflow_id, &name, &input)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(error @ weft::Error::NotRunning { .. })) => {
                    return Err(CliError::Hinted { error: Box::new(error), hint: CLOSED_QUERY });
                }
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => {
                    return Err(CliError::NoAnswer {
                        what: format!("query `{name}`"),
                        workflow_id,
                        waited: timeout,
                        then: "ask again once an engine runs it".to_owned(),
                    });
                }
            };
            let result = json_value(answer.as_json());
            match output {
                Output::Json => println!("{}", json!({ "workflow_id": workflow_id, "query": name, "result": result })),
                Output::Table => println!("{}", pretty(&result)),
            }
        }
        Workflow::Update { workflow_id, name, input, update_id, timeout } => {
            check_json(&input)?;
            let update_id = update_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let call = inspector.update(&workflow_id, &name, &input, Some(update_id.clone()));
            let result = match tokio::time::timeout(timeout, call).await {
                Ok(result) => json_value(result?.as_json()),
                Err(_) => {
                    return Err(CliError::NoAnswer {
                        what: format!("update `{name}` (update id {update_id})"),
                        workflow_id,
                        waited: timeout,
                        then: format!(
                            "the update stays in the run's inbox; `--update-id {update_id}` returns its outcome once it ran"
                        ),
                    });
                }
            };
            match output {
                Output::Json => println!(
                    "{}",
                    json!({ "workflow_id": workflow_id, "update": name, "update_id": update_id, "result": result })
                ),
                Output::Table => println!("{}", pretty(&result)),
            }
        }
    }
    Ok(())
}

/// Why a closed run's query is refused, and where it can be asked.
const CLOSED_QUERY: &str = "this command asks the engine running the workflow; a closed run answers queries \
     through `Client::query` in a program that registers its workflow";

/// `--input` is JSON, or the command fails before it touches the store.
fn check_json(input: &str) -> Result<(), CliError> {
    serde_json::from_str::<serde::de::IgnoredAny>(input).map(drop).map_err(|source| CliError::Input { source })
}

/// A payload's JSON as a value (payloads are JSON; a damaged one is shown as its text).
fn json_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("values serialize")
}

fn done(output: Output, workflow_id: &str, what: &str) {
    match output {
        Output::Json => println!("{}", json!({ "workflow_id": workflow_id, "result": what })),
        Output::Table => println!("{workflow_id}: {what} (a running engine acts on it within its poll interval)"),
    }
}

fn run_json(d: &WorkflowDescription) -> Value {
    json!({
        "workflow_id": d.workflow_id,
        "run_id": d.run_id,
        "workflow_type": d.workflow_type,
        "status": d.status.as_str(),
        "start_time": time(d.start_time),
        "close_time": d.close_time.map(time),
        "history_length": d.history_length,
        "held": d.held,
    })
}

/// `weft ui`: serves until Ctrl-C.
pub(crate) async fn ui(inspector: Inspector, args: crate::args::Ui) -> Result<(), CliError> {
    let mut options = weft_ui::UiOptions::new().read_only(args.read_only);
    if let Some(token) = &args.token {
        options = options.token(token.clone());
    }
    let ui = weft_ui::Ui::bind(inspector, args.bind, options).await?;
    match &args.token {
        Some(token) => println!("weft ui: {}?token={token}", ui.url()),
        None => println!("weft ui: {}", ui.url()),
    }
    ui.serve_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// `weft worker list`.
pub(crate) async fn workers(inspector: &Inspector, output: Output) -> Result<(), CliError> {
    let workers = inspector.list_workers().await?;
    let now = std::time::SystemTime::now();
    if output == Output::Json {
        let rows = workers.iter().map(|w| {
            json!({
                "worker_id": w.worker_id,
                "host": w.host,
                "pid": w.pid,
                "task_queues": w.task_queues,
                "workflow_types": w.workflow_types,
                "activity_types": w.activity_types,
                "start_time": time(w.start_time),
                "live_until": time(w.live_until),
                "live": w.is_live(now),
            })
        });
        println!("{}", Value::Array(rows.collect()));
        return Ok(());
    }
    let mut table = Table::new(vec!["WORKER ID", "HOST", "PID", "QUEUES", "STARTED", "STATE"]);
    for worker in &workers {
        let (state, code) = if worker.is_live(now) { ("live", Some("32")) } else { ("gone", Some("31")) };
        table.row(vec![
            (worker.worker_id.clone(), None),
            (worker.host.clone(), None),
            (worker.pid.to_string(), None),
            (worker.task_queues.join(","), None),
            (time(worker.start_time), None),
            (state.to_owned(), code),
        ]);
    }
    table.print(colour());
    if workers.is_empty() {
        println!("(no workers)");
    }
    Ok(())
}

fn list(runs: &[WorkflowDescription], output: Output) {
    if output == Output::Json {
        println!("{}", Value::Array(runs.iter().map(run_json).collect()));
        return;
    }
    let mut table = Table::new(vec!["WORKFLOW ID", "RUN ID", "TYPE", "STATUS", "STARTED", "CLOSED", "EVENTS"]);
    for run in runs {
        let status = if run.held.is_some() { "held".to_owned() } else { run.status.to_string() };
        table.row(vec![
            (run.workflow_id.clone(), None),
            (run.run_id.clone(), None),
            (run.workflow_type.clone(), None),
            (status, if run.held.is_some() { Some("31") } else { status_colour(run.status) }),
            (time(run.start_time), None),
            (run.close_time.map(time).unwrap_or_default(), None),
            (run.history_length.to_string(), None),
        ]);
    }
    table.print(colour());
    if runs.is_empty() {
        println!("(no workflows)");
    }
}

fn show(history: &[HistoryEvent], output: Output) {
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(history).expect("histories serialize"));
        return;
    }
    let mut table = Table::new(vec!["ID", "TIME", "TYPE", "DETAILS"]);
    for event in history {
        table.row(vec![
            (event.event_id().to_string(), None),
            (time(event.timestamp()), None),
            (event.event_type().to_owned(), event_colour(event)),
            (summary(event), None),
        ]);
    }
    table.print(colour());
}

fn describe(d: &WorkflowDescription, history: Option<&[HistoryEvent]>, output: Output) {
    let failure = history.and_then(|h| h.last()).and_then(|e| match e.attributes() {
        EventAttributes::WorkflowExecutionFailed { failure } => Some(failure),
        _ => None,
    });
    let outcome = history.and_then(|h| h.last()).and_then(|e| match e.attributes() {
        EventAttributes::WorkflowExecutionCompleted { result } => {
            Some(("result", Value::String(result.as_json().to_owned())))
        }
        EventAttributes::WorkflowExecutionFailed { failure } => Some(("failure", Value::String(failure.to_string()))),
        EventAttributes::WorkflowExecutionTerminated { reason } => Some(("terminated", Value::String(reason.clone()))),
        EventAttributes::WorkflowExecutionTimedOut { timeout } => {
            Some(("timed_out", Value::String(timeout.to_string())))
        }
        _ => None,
    });
    let activities: Vec<Value> = d
        .pending_activities
        .iter()
        .map(|a| {
            json!({
                "activity_id": a.activity_id,
                "activity_type": a.activity_type,
                "state": format!("{:?}", a.state),
                "attempt": a.attempt,
                "scheduled_time": time(a.scheduled_time),
                "next_attempt_time": a.next_attempt_time.map(time),
                "last_failure": a.last_failure.as_ref().map(ToString::to_string),
                "last_heartbeat_details": a.last_heartbeat_details.as_ref().map(|p| p.as_json().to_owned()),
                "cancel_requested": a.cancel_requested,
            })
        })
        .collect();
    let timers: Vec<Value> = d
        .pending_timers
        .iter()
        .map(|t| json!({ "started_event_id": t.started_event_id, "fire_time": time(t.fire_time) }))
        .collect();
    if output == Output::Json {
        let mut value = run_json(d);
        if let Some((key, outcome)) = &outcome {
            value[*key] = outcome.clone();
        }
        if let Some(failure) = failure {
            // Each level of the chain: the failure, its cause, that one's cause...
            value["failure_chain"] = failure.chain().map(failure_json).collect();
        }
        value["pending_activities"] = Value::Array(activities);
        value["pending_timers"] = Value::Array(timers);
        value["timeout_at"] = json!(d.timeout_at.map(time));
        value["parent"] = json!(d.parent.as_ref().map(|p| json!({
            "workflow_id": p.workflow_id, "run_id": p.run_id, "initiated_event_id": p.initiated_event_id,
        })));
        value["continued_from_run_id"] = json!(d.continued_from_run_id);
        value["continued_as_run_id"] = json!(d.continued_as_run_id);
        value["children"] = d
            .children
            .iter()
            .map(|c| {
                json!({
                    "initiated_event_id": c.initiated_event_id,
                    "workflow_id": c.workflow_id,
                    "workflow_type": c.workflow_type,
                    "run_id": c.run_id,
                    "state": c.state.as_str(),
                })
            })
            .collect();
        println!("{value}");
        return;
    }
    let colour = colour();
    println!("workflow id   {}", d.workflow_id);
    println!("run id        {}", d.run_id);
    println!("type          {}", d.workflow_type);
    println!("status        {}", paint(d.status.as_str(), status_colour(d.status), colour));
    println!("started       {}", time(d.start_time));
    if let Some(closed) = d.close_time {
        println!("closed        {}", time(closed));
    }
    println!("events        {}", d.history_length);
    if let Some(held) = &d.held {
        println!("held          {}", paint(held, Some("31"), colour));
    }
    if let Some(at) = d.timeout_at {
        println!("times out     {}", time(at));
    }
    if let Some(p) = &d.parent {
        println!("parent        {} (run {}, event {})", p.workflow_id, p.run_id, p.initiated_event_id);
    }
    if let Some(run) = &d.continued_from_run_id {
        println!("continues     run {run}");
    }
    if let Some(run) = &d.continued_as_run_id {
        println!("continued as  run {run}");
    }
    if let Some((key, Value::String(text))) = &outcome {
        println!("{key:<13} {text}");
    }
    for cause in failure.iter().flat_map(|f| f.chain().skip(1)) {
        println!("  caused by   {cause}");
    }
    if !d.pending_activities.is_empty() {
        println!("\npending activities:");
        let mut table =
            Table::new(vec!["ID", "TYPE", "STATE", "ATTEMPT", "NEXT ATTEMPT", "LAST FAILURE", "LAST HEARTBEAT"]);
        for a in &d.pending_activities {
            table.row(vec![
                (a.activity_id.clone(), None),
                (a.activity_type.clone(), None),
                (format!("{:?}", a.state), None),
                (a.attempt.to_string(), None),
                (a.next_attempt_time.map(time).unwrap_or_default(), None),
                (a.last_failure.as_ref().map(ToString::to_string).unwrap_or_default(), Some("31")),
                (a.last_heartbeat_details.as_ref().map(|p| p.as_json().to_owned()).unwrap_or_default(), None),
            ]);
        }
        table.print(colour);
    }
    if !d.children.is_empty() {
        println!("\nchildren:");
        let mut table = Table::new(vec!["WORKFLOW ID", "TYPE", "RUN ID", "STATE"]);
        for c in &d.children {
            let state = c.state.as_str();
            let paint = match c.state {
                weft::ChildState::Closed(status) => status_colour(status),
                weft::ChildState::StartFailed => Some("31"),
                _ => None,
            };
            table.row(vec![
                (c.workflow_id.clone(), None),
                (c.workflow_type.clone(), None),
                (c.run_id.clone().unwrap_or_default(), None),
                (state.to_owned(), paint),
            ]);
        }
        table.print(colour);
    }
    if !d.pending_timers.is_empty() {
        println!("\npending timers:");
        let mut table = Table::new(vec!["STARTED EVENT", "FIRES"]);
        for t in &d.pending_timers {
            table.row(vec![(t.started_event_id.to_string(), None), (time(t.fire_time), None)]);
        }
        table.print(colour);
    }
}

/// One level of a failure chain, without its cause (the next level).
fn failure_json(failure: &Failure) -> Value {
    let activity = failure.activity().map(|a| {
        json!({
            "activity_type": a.activity_type(),
            "activity_id": a.activity_id(),
            "scheduled_event_id": a.scheduled_event_id(),
            "attempt": a.attempt(),
            "retry_state": serde_json::to_value(a.retry_state()).unwrap_or_default(),
        })
    });
    json!({ "error_type": failure.error_type(), "message": failure.message(), "activity": activity })
}

/// Writes every workflow's newest history to `dir/<id>@<run id>.json` (see
/// [`file_name`]). A history that cannot be read or written is reported on
/// stderr and skipped; the others are still exported, and the command then
/// fails with [`CliError::ExportIncomplete`].
async fn export(inspector: &Inspector, dir: &Path, output: Output) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|source| CliError::Io { path: dir.to_owned(), source })?;
    let runs = inspector.list_workflows(ListFilter::all()).await?;
    // Newest first: the first run of an id is the one exported.
    let mut newest: Vec<(&str, &str)> = Vec::new();
    for run in &runs {
        if !newest.iter().any(|(id, _)| *id == run.workflow_id) {
            newest.push((&run.workflow_id, &run.run_id));
        }
    }
    newest.sort_unstable();
    let progress = std::io::stderr().is_terminal();
    let mut failed: Vec<Value> = Vec::new();
    for (i, (workflow_id, run_id)) in newest.iter().enumerate() {
        if let Err(error) = export_one(inspector, dir, workflow_id, run_id).await {
            let reason = weft::ErrorChain(&error).to_string();
            if progress {
                eprintln!();
            }
            match &error {
                // It names the workflow and the run itself.
                CliError::Weft(weft::Error::CorruptHistory { .. }) => eprintln!("weft: not exported: {reason}"),
                _ => eprintln!("weft: not exported: workflow `{workflow_id}` (run {run_id}): {reason}"),
            }
            failed.push(json!({ "workflow_id": workflow_id, "run_id": run_id, "reason": reason }));
        }
        if progress {
            eprint!("\rexported {}/{}", i + 1 - failed.len(), newest.len());
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!();
    }
    let exported = newest.len() - failed.len();
    let (failed_count, total) = (failed.len(), newest.len());
    match output {
        Output::Json => {
            println!("{}", json!({ "exported": exported, "dir": dir.display().to_string(), "failed": failed }));
        }
        Output::Table => println!("exported {exported} histories to {}", dir.display()),
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::ExportIncomplete { failed: failed_count, total, dir: dir.to_owned() })
    }
}

async fn export_one(inspector: &Inspector, dir: &Path, workflow_id: &str, listed_run: &str) -> Result<(), CliError> {
    let history = inspector.history(workflow_id).await?;
    // A run started since the listing is the newest now: name the file after the run it holds.
    let run_id = match history.first().map(HistoryEvent::attributes) {
        Some(EventAttributes::WorkflowExecutionStarted { run_id, .. }) => run_id.as_str(),
        _ => listed_run,
    };
    let path = dir.join(file_name(workflow_id, run_id));
    let json = serde_json::to_string_pretty(&history).expect("histories serialize");
    std::fs::write(&path, json + "\n").map_err(|source| CliError::Io { path, source })
}

/// `<id>@<run id>.json`, each part percent-encoded outside `[A-Za-z0-9._-]`:
/// two runs never share a file name (`a/b` is `a%2Fb`, `a_b` stays `a_b`,
/// `@` is always encoded so it only separates), and the name says which
/// workflow and run it holds.
fn file_name(workflow_id: &str, run_id: &str) -> String {
    format!("{}@{}.json", percent_encode(workflow_id), percent_encode(run_id))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"._-".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a `weft` command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The store or the engine's API refused.
    #[error(transparent)]
    Weft(#[from] weft::Error),
    /// A file or folder could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The web view could not start or stopped.
    #[error(transparent)]
    Ui(#[from] weft_ui::UiError),
    /// `--input` is not JSON.
    #[error("--input is not valid JSON")]
    Input {
        /// Where the parser stopped.
        #[source]
        source: serde_json::Error,
    },
    /// An error, and what to do about it.
    #[error("{}; {hint}", weft::ErrorChain(error))]
    Hinted {
        /// The error.
        error: Box<weft::Error>,
        /// What to do.
        hint: &'static str,
    },
    /// No engine answered within the timeout.
    #[error(
        "no answer to {what} from workflow `{workflow_id}` within {}: is an engine with its workflow type running on this store? ({then})",
        humantime::format_duration(*waited)
    )]
    NoAnswer {
        /// The request.
        what: String,
        /// The workflow asked.
        workflow_id: String,
        /// How long the command waited.
        waited: std::time::Duration,
        /// What becomes of the request.
        then: String,
    },
    /// Some histories were not exported; each was reported on stderr.
    #[error("export incomplete: {failed} of {total} histories not exported (the others are in {})", dir.display())]
    ExportIncomplete {
        /// How many were not exported.
        failed: usize,
        /// How many there were.
        total: usize,
        /// The folder written to.
        dir: PathBuf,
    },
}
