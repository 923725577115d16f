//! Integration tests live in `tests/`; compile-fail cases in `ui/`. This
//! library holds what the kill tests share: a seeded generator for their
//! kill schedules, and the checks they run on the histories afterwards.

use std::collections::{BTreeMap, BTreeSet};

use weft::history::{EventAttributes, HistoryEvent};

/// A small seeded generator (SplitMix64): a kill schedule is reproducible.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The attempts that ran, per (workflow id, activity id), read from a witness
/// file of `workflow activity attempt pid` lines (one per attempt that returned).
pub fn read_witness(path: &std::path::Path) -> BTreeMap<(String, String), Vec<u32>> {
    let mut ran: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).expect("witness file").lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 4, "witness line {line:?}");
        ran.entry((parts[0].to_owned(), parts[1].to_owned())).or_default().push(parts[2].parse().unwrap());
    }
    ran
}

/// What a kill test expects of one workflow's history.
#[derive(Debug)]
pub struct Expected {
    /// Activities it schedules.
    pub activities: usize,
    /// Durable timers it starts (each must fire once).
    pub timers: usize,
    /// The retry policy's bound on attempts.
    pub max_attempts: u32,
}

/// Checks a completed workflow's history against the witness: every
/// activity closed once, by an attempt that left a witness line; no attempt
/// number ran twice; none ran after the closing one; attempts within the
/// bound; every timer fired once. Returns the decoded result.
pub fn check_history<T: serde::de::DeserializeOwned>(
    id: &str,
    history: &[HistoryEvent],
    ran: &BTreeMap<(String, String), Vec<u32>>,
    expected: &Expected,
) -> T {
    let mut activity_ids = BTreeMap::new();
    let mut closes: BTreeMap<u64, usize> = BTreeMap::new();
    for event in history {
        match event.attributes() {
            EventAttributes::ActivityTaskScheduled { activity_id, .. } => {
                activity_ids.insert(event.event_id(), activity_id.clone());
            }
            EventAttributes::ActivityTaskStarted { scheduled_event_id, attempt, .. } => {
                let activity_id = &activity_ids[scheduled_event_id];
                let attempts = &ran[&(id.to_owned(), activity_id.clone())];
                let distinct: BTreeSet<_> = attempts.iter().collect();
                assert_eq!(distinct.len(), attempts.len(), "{id}/{activity_id}: an attempt ran twice: {attempts:?}");
                assert!(attempts.contains(attempt), "{id}/{activity_id}: the closing attempt left no witness");
                assert!(
                    attempts.iter().all(|a| a <= attempt),
                    "{id}/{activity_id}: ran again after attempt {attempt} completed: {attempts:?}"
                );
                assert!(*attempt <= expected.max_attempts, "{id}/{activity_id}: {attempt} attempts");
            }
            EventAttributes::ActivityTaskCompleted { scheduled_event_id, .. }
            | EventAttributes::ActivityTaskFailed { scheduled_event_id, .. }
            | EventAttributes::ActivityTaskTimedOut { scheduled_event_id, .. }
            | EventAttributes::ActivityTaskCanceled { scheduled_event_id } => {
                *closes.entry(*scheduled_event_id).or_default() += 1;
            }
            _ => {}
        }
    }
    assert_eq!(activity_ids.len(), expected.activities, "{id}: activities scheduled");
    assert!(closes.values().all(|&n| n == 1) && closes.len() == activity_ids.len(), "{id}: closes {closes:?}");
    let count = |kind: fn(&EventAttributes) -> bool| history.iter().filter(|e| kind(e.attributes())).count();
    // Each durable timer fired once, however often its worker was killed.
    assert_eq!(count(|a| matches!(a, EventAttributes::TimerStarted { .. })), expected.timers, "{id}");
    assert_eq!(count(|a| matches!(a, EventAttributes::TimerFired { .. })), expected.timers, "{id}");
    assert_eq!(count(|a| matches!(a, EventAttributes::WorkflowExecutionCompleted { .. })), 1, "{id}");
    history
        .iter()
        .find_map(|e| match e.attributes() {
            EventAttributes::WorkflowExecutionCompleted { result } => Some(result.decode::<T>().unwrap()),
            _ => None,
        })
        .expect("a completed workflow")
}
