//! Scheduling policy, behind an interface.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use super::Task;
use crate::sync::SpinLock;

/// A scheduling policy: which runnable task runs next, and when to preempt.
///
/// Called with local interrupts off; implementations must not sleep.
pub trait Scheduler: Send + Sync {
    /// Makes a runnable task eligible to run.
    fn enqueue(&self, task: Arc<Task>);
    /// Removes and returns the task to run next, if any is waiting.
    fn pick_next(&self) -> Option<Arc<Task>>;
    /// Accounts one timer tick to the running task; returns whether it should be preempted.
    fn tick(&self, current: &Task) -> bool;
    /// Returns whether any task is waiting to run.
    fn has_runnable(&self) -> bool;
}

/// Round robin with a fixed time slice.
pub struct RoundRobin {
    queue: SpinLock<VecDeque<Arc<Task>>>,
    slice_ticks: u32,
    used: AtomicU32,
}

impl RoundRobin {
    /// Creates a round-robin policy that preempts after `slice_ticks` timer ticks.
    pub const fn new(slice_ticks: u32) -> Self {
        Self { queue: SpinLock::new(VecDeque::new()), slice_ticks, used: AtomicU32::new(0) }
    }
}

impl Scheduler for RoundRobin {
    fn enqueue(&self, task: Arc<Task>) {
        self.queue.lock().push_back(task);
    }

    fn pick_next(&self) -> Option<Arc<Task>> {
        self.used.store(0, Ordering::Relaxed);
        self.queue.lock().pop_front()
    }

    fn tick(&self, current: &Task) -> bool {
        let used = self.used.fetch_add(1, Ordering::Relaxed) + 1;
        (used >= self.slice_ticks || current.is_idle) && self.has_runnable()
    }

    fn has_runnable(&self) -> bool {
        !self.queue.lock().is_empty()
    }
}
