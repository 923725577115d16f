//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod examples;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use weft::history::{EventAttributes, HistoryEvent};

/// What activities saw, by workflow id: each test uses its own ids.
#[derive(Default)]
pub struct Journal(Mutex<BTreeMap<String, Vec<Entry>>>);

/// One activity attempt as it saw itself.
#[derive(Debug, Clone)]
pub struct Entry {
    pub attempt: u32,
    pub started: SystemTime,
    pub note: String,
}

impl Journal {
    pub const fn new() -> Self {
        Journal(Mutex::new(BTreeMap::new()))
    }

    pub fn record(&self, ctx: &weft::ActivityContext, note: impl Into<String>) {
        let entry = Entry { attempt: ctx.attempt(), started: ctx.started_time(), note: note.into() };
        self.0.lock().unwrap().entry(ctx.workflow_id().to_owned()).or_default().push(entry);
    }

    pub fn entries(&self, workflow_id: &str) -> Vec<Entry> {
        self.0.lock().unwrap().get(workflow_id).cloned().unwrap_or_default()
    }

    /// Attempt start times, as offsets from the first.
    pub fn start_offsets(&self, workflow_id: &str) -> Vec<Duration> {
        let entries = self.entries(workflow_id);
        let first = entries.first().map(|e| e.started).unwrap_or(SystemTime::UNIX_EPOCH);
        entries.iter().map(|e| e.started.duration_since(first).unwrap()).collect()
    }
}

/// The event types of a history, in order.
pub fn event_types(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(HistoryEvent::event_type).collect()
}

/// An event's attributes as JSON, with an attempt's start time (the one
/// absolute time in attributes) made relative to `start`: histories of two
/// engines, whose virtual clocks start at different times, compare alike.
pub fn relative_attributes(event: &HistoryEvent, start: SystemTime) -> serde_json::Value {
    let mut json = serde_json::to_value(event).unwrap();
    if let EventAttributes::ActivityTaskStarted { started_time: Some(t), .. } = event.attributes() {
        json["attributes"]["started_time"] = format!("+{:?}", t.duration_since(start).unwrap()).into();
    }
    json["attributes"].take()
}

/// The first event matching `f`.
pub fn find<T>(history: &[HistoryEvent], f: impl Fn(&EventAttributes) -> Option<T>) -> Option<T> {
    history.iter().find_map(|e| f(e.attributes()))
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
