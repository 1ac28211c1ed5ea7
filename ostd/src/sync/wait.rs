//! Wait queues: sleep until a condition holds.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use super::{SpinLock, disable_local_irqs};
use crate::task::{self, Task, TaskState};

/// Tasks sleeping until something happens.
///
/// The rule: a waker first makes the condition true, then calls [`WaitQueue::wake_all`] or
/// [`WaitQueue::wake_one`]. Sleepers re-check the condition after every wake-up, so a
/// spurious wake-up costs a check, never correctness.
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// Creates an empty queue.
    pub const fn new() -> Self {
        Self { waiters: SpinLock::new(VecDeque::new()) }
    }

    /// Sleeps until `cond` returns `Some`, and returns that value.
    ///
    /// Must be called from task context, never with a [`SpinLock`] held.
    pub fn wait_until<R>(&self, mut cond: impl FnMut() -> Option<R>) -> R {
        loop {
            // Interrupts stay off from the check to the sleep, so a wake-up from an
            // interrupt handler cannot fall between them.
            let _irq = disable_local_irqs();
            if let Some(result) = cond() {
                return result;
            }
            let current = task::current();
            current.set_state_sleeping();
            self.waiters.lock().push_back(current);
            task::block_current();
        }
    }

    /// Wakes every sleeper.
    pub fn wake_all(&self) {
        let waiters = core::mem::take(&mut *self.waiters.lock());
        for t in waiters {
            task::wake(t);
        }
    }

    /// Wakes the longest sleeper that is still asleep.
    pub fn wake_one(&self) {
        loop {
            let next = self.waiters.lock().pop_front();
            match next {
                Some(t) if t.state() == TaskState::Sleeping => {
                    task::wake(t);
                    return;
                }
                Some(_) => continue,
                None => return,
            }
        }
    }

    /// Returns whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiters.lock().is_empty()
    }
}
