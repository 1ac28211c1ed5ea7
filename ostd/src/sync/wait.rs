//! Wait queues: sleep until a condition holds.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{SpinLock, disable_local_irqs};
use crate::task::{self, Task, TaskState};

/// Tasks sleeping until something happens.
///
/// The rule: a waker first makes the condition true, then calls [`WaitQueue::wake_all`] or
/// [`WaitQueue::wake_one`]. Sleepers re-check the condition after every wake-up, so a
/// spurious wake-up costs a check, never correctness.
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
    /// How many tasks `waiters` holds, kept under its lock, so that a wake-up with nobody
    /// to wake takes no lock. A sleeper checks its condition and queues itself with
    /// interrupts off on the one CPU, so a waker that made the condition true either ran
    /// before the check or finds the sleeper counted.
    len: AtomicUsize,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// Creates an empty queue.
    pub const fn new() -> Self {
        Self { waiters: SpinLock::new(VecDeque::new()), len: AtomicUsize::new(0) }
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
            let mut waiters = self.waiters.lock();
            waiters.push_back(current);
            self.len.store(waiters.len(), Ordering::Release);
            drop(waiters);
            task::block_current();
        }
    }

    /// Wakes every sleeper.
    pub fn wake_all(&self) {
        if self.len.load(Ordering::Acquire) == 0 {
            return;
        }
        let waiters = {
            let mut waiters = self.waiters.lock();
            self.len.store(0, Ordering::Release);
            core::mem::take(&mut *waiters)
        };
        for t in waiters {
            task::wake(t);
        }
    }

    /// Wakes the longest sleeper that is still asleep.
    pub fn wake_one(&self) {
        loop {
            if self.len.load(Ordering::Acquire) == 0 {
                return;
            }
            let next = {
                let mut waiters = self.waiters.lock();
                let next = waiters.pop_front();
                self.len.store(waiters.len(), Ordering::Release);
                next
            };
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
        self.len.load(Ordering::Acquire) == 0
    }
}
