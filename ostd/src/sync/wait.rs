//! Wait queues: sleep until a condition holds.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{SpinLock, disable_local_irqs};
use crate::task::{self, Task, TaskState};

/// A wait with a deadline ended because the deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

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
    pub fn wait_until<R>(&self, cond: impl FnMut() -> Option<R>) -> R {
        match self.wait_until_or_deadline(cond, None) {
            Ok(result) => result,
            Err(TimedOut) => unreachable!("a wait without a deadline timed out"),
        }
    }

    /// Sleeps until `cond` returns `Some` (and returns that value) or until the monotonic
    /// clock reaches `deadline_ns` (then [`TimedOut`]), whichever comes first; `None` waits
    /// without a deadline. The condition is checked first, so a condition that holds wins
    /// over a deadline that passed.
    ///
    /// The sleeper is woken at its deadline by a one-shot timer, not at the next tick. The
    /// timer's interrupt is only a hint (the host decides when interrupts arrive): the TSC
    /// decides whether the deadline has passed.
    ///
    /// Must be called from task context, never with a [`SpinLock`] held.
    pub fn wait_until_or_deadline<R>(
        &self,
        mut cond: impl FnMut() -> Option<R>,
        deadline_ns: Option<u64>,
    ) -> Result<R, TimedOut> {
        let mut alarm = None;
        let mut slept = None;
        let outcome = loop {
            // Interrupts stay off from the check to the sleep, so a wake-up from an
            // interrupt handler cannot fall between them.
            let _irq = disable_local_irqs();
            if let Some(result) = cond() {
                break Ok(result);
            }
            let current = task::current();
            if let Some(deadline) = deadline_ns {
                if crate::time::monotonic_ns() >= deadline {
                    break Err(TimedOut);
                }
                if alarm.is_none() {
                    alarm = Some(crate::time::timer::wake_at(deadline, current.clone()));
                }
            }
            current.set_state_sleeping();
            let mut waiters = self.waiters.lock();
            waiters.push_back(current.clone());
            self.len.store(waiters.len(), Ordering::Release);
            drop(waiters);
            slept = Some(current);
            task::block_current();
        };
        if let Some(key) = alarm {
            crate::time::timer::cancel(key);
        }
        if let Some(current) = slept {
            // Woken by the timer, a signal or a spurious wake-up, the task may still be
            // queued: a stale entry would swallow a later `wake_one` meant for another.
            self.leave(&current);
        }
        outcome
    }

    /// Removes `task`'s entries from the queue.
    fn leave(&self, task: &Arc<Task>) {
        if self.len.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut waiters = self.waiters.lock();
        waiters.retain(|t| !Arc::ptr_eq(t, task));
        self.len.store(waiters.len(), Ordering::Release);
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
