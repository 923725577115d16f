//! Rendering: aligned tables with optional colour, one-line event summaries.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weft::RunStatus;
use weft::history::{EventAttributes, Failure, HistoryEvent, Marker, Payload, UpdateOutcome};

/// Whether to colour: only on a terminal, and never under `NO_COLOR`.
pub(crate) fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A table printed with aligned columns.
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<(String, Option<&'static str>)>>,
}

impl Table {
    pub(crate) fn new(header: Vec<&'static str>) -> Self {
        Table { header, rows: Vec::new() }
    }

    /// A row: each cell with an optional ANSI colour code.
    pub(crate) fn row(&mut self, cells: Vec<(String, Option<&'static str>)>) {
        self.rows.push(cells);
    }

    pub(crate) fn print(&self, colour: bool) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let last = widths.len() - 1;
        let header: Vec<String> = self.header.iter().enumerate().map(|(i, h)| pad(h, widths[i], i == last)).collect();
        println!("{}", paint(&header.join("  "), Some("1"), colour));
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, (c, code))| paint(&pad(c, widths[i], i == last), *code, colour))
                .collect();
            println!("{}", cells.join("  "));
        }
    }
}

fn pad(text: &str, width: usize, last: bool) -> String {
    if last { text.to_owned() } else { format!("{text:<width$}") }
}

pub(crate) fn paint(text: &str, code: Option<&str>, colour: bool) -> String {
    match code {
        Some(code) if colour => format!("\x1b[{code}m{text}\x1b[0m"),
        _ => text.to_owned(),
    }
}

/// The colour of a status.
pub(crate) fn status_colour(status: RunStatus) -> Option<&'static str> {
    Some(match status {
        RunStatus::Running => "36",
        RunStatus::Completed => "32",
        RunStatus::Failed => "31",
        _ => "33",
    })
}

/// RFC 3339 with milliseconds. humantime formats 1970 to 9999 only (and panics on
/// other times); a damaged store row can hold any, which is shown as its microseconds.
pub(crate) fn time(t: SystemTime) -> String {
    const END_OF_9999: Duration = Duration::from_secs(253_402_300_799);
    match t.duration_since(UNIX_EPOCH) {
        Ok(since) if since <= END_OF_9999 => humantime::format_rfc3339_millis(t).to_string(),
        Ok(since) => format!("(invalid time: {} µs since 1970)", since.as_micros()),
        Err(before) => format!("(invalid time: -{} µs since 1970)", before.duration().as_micros()),
    }
}

/// A payload cut to fit a table cell.
pub(crate) fn preview(payload: &Payload) -> String {
    const MAX: usize = 60;
    let text = payload.as_json();
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}… ({} bytes)", text.chars().take(MAX).collect::<String>(), text.len())
    }
}

/// A failure and its causes on one line: `"Type: message" caused_by="Type: message"`.
pub(crate) fn failure_text(failure: &Failure) -> String {
    let mut levels = failure.chain();
    let mut text = format!("\"{}\"", levels.next().unwrap_or(failure));
    for cause in levels {
        text.push_str(&format!(" caused_by=\"{cause}\""));
    }
    text
}

/// The attributes of an event a person looks for first.
pub(crate) fn summary(event: &HistoryEvent) -> String {
    use EventAttributes as E;
    match event.attributes() {
        E::WorkflowExecutionStarted { workflow_type, input, .. } => {
            format!("type={workflow_type} input={}", preview(input))
        }
        E::ActivityTaskScheduled { activity_id, activity_type, input, .. } => {
            format!("activity={activity_type} id={activity_id} input={}", preview(input))
        }
        E::ActivityTaskStarted { scheduled_event_id, attempt, last_failure, .. } => match last_failure {
            Some(f) => format!("scheduled={scheduled_event_id} attempt={attempt} last_failure={}", failure_text(f)),
            None => format!("scheduled={scheduled_event_id} attempt={attempt}"),
        },
        E::ActivityTaskCompleted { scheduled_event_id, result, .. } => {
            format!("scheduled={scheduled_event_id} result={}", preview(result))
        }
        E::ActivityTaskFailed { scheduled_event_id, failure, .. } => {
            format!("scheduled={scheduled_event_id} failure={}", failure_text(failure))
        }
        E::ActivityTaskTimedOut { scheduled_event_id, timeout_type, last_failure } => match last_failure {
            Some(f) => {
                format!("scheduled={scheduled_event_id} timeout={timeout_type} last_failure={}", failure_text(f))
            }
            None => format!("scheduled={scheduled_event_id} timeout={timeout_type}"),
        },
        E::ActivityTaskCancelRequested { scheduled_event_id } | E::ActivityTaskCanceled { scheduled_event_id } => {
            format!("scheduled={scheduled_event_id}")
        }
        E::TimerStarted { seq, duration } => format!("timer={seq} duration={}", humantime::format_duration(*duration)),
        E::TimerFired { started_event_id } | E::TimerCanceled { started_event_id } => {
            format!("started={started_event_id}")
        }
        E::WorkflowExecutionCancelRequested { reason } | E::WorkflowExecutionTerminated { reason } => {
            format!("reason=\"{reason}\"")
        }
        E::WorkflowExecutionSignaled { signal_name, input } => format!("signal={signal_name} input={}", preview(input)),
        E::WorkflowExecutionUpdateAccepted { update_id, update_name, input } => {
            format!("update={update_name} id={update_id} input={}", preview(input))
        }
        E::WorkflowExecutionUpdateCompleted { update_id, accepted_event_id, outcome } => match outcome {
            UpdateOutcome::Completed { result } => {
                format!("id={update_id} accepted={accepted_event_id} result={}", preview(result))
            }
            UpdateOutcome::Failed { failure } => {
                format!("id={update_id} accepted={accepted_event_id} failure={}", failure_text(failure))
            }
        },
        E::MarkerRecorded { marker: Marker::Patch { patch_id, deprecated } } => {
            format!("patch={patch_id}{}", if *deprecated { " deprecated" } else { "" })
        }
        E::WorkflowExecutionCompleted { result } => format!("result={}", preview(result)),
        E::WorkflowExecutionFailed { failure } => format!("failure={}", failure_text(failure)),
        _ => String::new(),
    }
}

/// The colour of an event type: failures (an update's too) red, completions green.
pub(crate) fn event_colour(event: &HistoryEvent) -> Option<&'static str> {
    let t = event.event_type();
    let update_failed = matches!(
        event.attributes(),
        EventAttributes::WorkflowExecutionUpdateCompleted { outcome: UpdateOutcome::Failed { .. }, .. }
    );
    if t.ends_with("Failed") || t.ends_with("TimedOut") || update_failed {
        Some("31")
    } else if t.ends_with("Completed") {
        Some("32")
    } else if t.contains("Cancel") || t.ends_with("Terminated") {
        Some("33")
    } else {
        None
    }
}
