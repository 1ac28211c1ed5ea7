//! A queue of deadlines, earliest first: the pure part of the deadline timers (`timer.rs`),
//! which the host-side tests also compile (`tests/tests/timer_queue.rs`).
//!
//! Entries with equal deadlines leave in the order they were inserted. Every entry has a key
//! that removes exactly it, even after other entries with the same deadline came and went.

use alloc::collections::BTreeMap;

/// Names one entry of a [`TimerQueue`]; keys are never reused within a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerKey {
    deadline_ns: u64,
    seq: u64,
}

/// Values waiting for their deadlines (nanoseconds on the monotonic clock).
pub struct TimerQueue<T> {
    entries: BTreeMap<TimerKey, T>,
    next_seq: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TimerQueue<T> {
    /// Creates an empty queue.
    pub const fn new() -> Self {
        Self { entries: BTreeMap::new(), next_seq: 0 }
    }

    /// Adds `value`, due at `deadline_ns`.
    pub fn insert(&mut self, deadline_ns: u64, value: T) -> TimerKey {
        let key = TimerKey { deadline_ns, seq: self.next_seq };
        // 2^64 inserts would take centuries at any interrupt rate.
        self.next_seq += 1;
        self.entries.insert(key, value);
        key
    }

    /// Removes the entry `key` names and returns its value, or `None` if it already left
    /// (it expired, or was removed before).
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.entries.remove(&key)
    }

    /// Removes and returns the earliest entry if it is due at `now_ns` (its deadline is not
    /// after it).
    pub fn pop_expired(&mut self, now_ns: u64) -> Option<T> {
        let entry = self.entries.first_entry()?;
        (entry.key().deadline_ns <= now_ns).then(|| entry.remove())
    }

    /// Returns the earliest deadline, if any entry waits.
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.first_key_value().map(|(k, _)| k.deadline_ns)
    }
}
