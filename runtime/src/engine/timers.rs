//! The timer queue: the durable timers this worker started, so that it
//! claims their runs the moment they are due. (The store fires a timer in the
//! claim of its run; timers of runs taken over from other workers come due
//! through the claim loop's `next_due`.)

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::store::TimerTask;

struct Entry {
    at: Instant,
    id: u64,
    timer: TimerTask,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.id) == (other.at, other.id)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: the heap's top is the earliest entry.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.id).cmp(&(self.at, self.id))
    }
}

#[derive(Default)]
pub(crate) struct TimerQueue {
    heap: Mutex<(BinaryHeap<Entry>, u64)>,
    changed: Notify,
}

impl std::fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerQueue").field("len", &self.heap.lock().0.len()).finish()
    }
}

impl TimerQueue {
    pub(crate) fn push(&self, at: Instant, timer: TimerTask) {
        let mut heap = self.heap.lock();
        let id = heap.1;
        heap.1 += 1;
        let earliest = heap.0.peek().is_none_or(|top| at < top.at);
        heap.0.push(Entry { at, id, timer });
        drop(heap);
        if earliest {
            self.changed.notify_one();
        }
    }

    /// Waits for the next due timer.
    pub(crate) async fn next(&self) -> TimerTask {
        loop {
            let next = {
                let mut heap = self.heap.lock();
                match heap.0.peek() {
                    Some(top) if top.at <= Instant::now() => {
                        return heap.0.pop().expect("peeked").timer;
                    }
                    Some(top) => Some(top.at),
                    None => None,
                }
            };
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}
