//! What each subcommand does.

use std::io::{IsTerminal, Write};

use serde_json::{Value, json};
use weft::history::{EventAttributes, HistoryEvent};
use weft::inspect::Inspector;
use weft::{ListFilter, WorkflowDescription};

use crate::args::{Output, Workflow};
use crate::output::{Table, colour, event_colour, paint, status_colour, summary, time};

pub(crate) async fn run(inspector: &Inspector, output: Output, command: Workflow) -> weft::Result<()> {
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
    }
    Ok(())
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
    let outcome = history.and_then(|h| h.last()).and_then(|e| match e.attributes() {
        EventAttributes::WorkflowExecutionCompleted { result } => {
            Some(("result", Value::String(result.as_json().to_owned())))
        }
        EventAttributes::WorkflowExecutionFailed { failure } => Some(("failure", Value::String(failure.to_string()))),
        EventAttributes::WorkflowExecutionTerminated { reason } => Some(("terminated", Value::String(reason.clone()))),
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
        value["pending_activities"] = Value::Array(activities);
        value["pending_timers"] = Value::Array(timers);
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
    if let Some((key, Value::String(text))) = &outcome {
        println!("{key:<13} {text}");
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
    if !d.pending_timers.is_empty() {
        println!("\npending timers:");
        let mut table = Table::new(vec!["STARTED EVENT", "FIRES"]);
        for t in &d.pending_timers {
            table.row(vec![(t.started_event_id.to_string(), None), (time(t.fire_time), None)]);
        }
        table.print(colour);
    }
}

async fn export(inspector: &Inspector, dir: &std::path::Path, output: Output) -> weft::Result<()> {
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let runs = inspector.list_workflows(ListFilter::all()).await?;
    let mut ids: Vec<&str> = runs.iter().map(|r| r.workflow_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let progress = std::io::stderr().is_terminal();
    for (i, id) in ids.iter().enumerate() {
        let history = inspector.history(id).await?;
        let file = dir.join(format!("{}.json", sanitize(id)));
        let json = serde_json::to_string_pretty(&history).expect("histories serialize");
        std::fs::write(&file, json + "\n").map_err(io_error)?;
        if progress {
            eprint!("\rexported {}/{}", i + 1, ids.len());
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!();
    }
    match output {
        Output::Json => println!("{}", json!({ "exported": ids.len(), "dir": dir.display().to_string() })),
        Output::Table => println!("exported {} histories to {}", ids.len(), dir.display()),
    }
    Ok(())
}

/// A workflow id as a file name: path separators and the like become `_`.
fn sanitize(id: &str) -> String {
    id.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

fn io_error(error: std::io::Error) -> weft::Error {
    weft::Error::Store { source: error.into() }
}
