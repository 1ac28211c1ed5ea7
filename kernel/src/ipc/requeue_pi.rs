//! Requeueing from a plain futex to a priority-inheritance one (FUTEX_WAIT_REQUEUE_PI and
//! FUTEX_CMP_REQUEUE_PI), as Linux 6.1's kernel/futex/requeue.c: a condition variable's
//! waiters sleep on its sequence word, and a signal or broadcast moves them to the mutex's
//! PI word instead of waking them all to fight for it.
//!
//! A waiter sleeps on the plain futex like FUTEX_WAIT, naming the PI word it expects to be
//! moved to. CMP_REQUEUE_PI (which wakes at most one) first tries to take the PI lock for
//! the first waiter: if the lock was free, that waiter is woken owning it (the word names
//! it) and returns 0 at once. Otherwise it, and up to `nr_requeue` more, are queued on the
//! PI lock as LOCK_PI waiters are ([`super::pi_futex`]), and each gets it from an UNLOCK_PI.
//!
//! Before the move, a timeout is ETIMEDOUT and a signal restarts the call after the handler
//! (ERESTARTNOINTR). After it, the waiter waits for the lock: a timeout is still ETIMEDOUT
//! (the waiter leaves the lock's queue, not owning it), and a signal ends the wait with
//! EAGAIN (Linux's EWOULDBLOCK: restarting would only find the plain word changed).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use ostd::sync::SpinLock;

use super::futex::{Key, WAITERS, Waiter};
use super::pi_futex::{self, Tid};
use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

/// A FUTEX_WAIT_REQUEUE_PI waiter's side of its futex waiter record.
pub(super) struct Target {
    /// The PI futex the waiter expects to be requeued to (a requeue to any other is EINVAL).
    key: Key,
    /// The waiting thread (what the PI word names once it owns the lock).
    tid: Tid,
    /// Set when the waiter was queued on the PI lock: its waiter record there.
    queued: SpinLock<Option<Arc<pi_futex::Waiter>>>,
}

/// How the wait on the plain futex ended.
enum Woken {
    /// The requeue took the PI lock for the waiter.
    Locked,
    /// The requeue queued the waiter on the PI lock.
    Queued(Arc<pi_futex::Waiter>),
}

/// FUTEX_WAIT_REQUEUE_PI: waits on `key` (the word at `uaddr` must hold `val`, else
/// EAGAIN) until a CMP_REQUEUE_PI to `key2` (the PI word at `uaddr2`) gives the caller that
/// lock: 0 once the caller owns it. See the module's text for timeouts and signals.
#[allow(clippy::too_many_arguments)]
pub fn wait_requeue_pi(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    val: u32,
    key2: Key,
    uaddr2: u64,
    tid: Tid,
    deadline: Option<u64>,
) -> SysResult<u64> {
    let target = Target { key: key2, tid, queued: SpinLock::new(None) };
    let waiter = Arc::new(Waiter::new(key, super::futex::BITSET_MATCH_ANY, Some(target)));
    {
        let _irq = ostd::sync::disable_local_irqs();
        if mem.read_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        // The word is checked before the keys are compared, as Linux's futex_wait_setup
        // runs before its futex_match (two shared mappings of one word).
        if key == key2 {
            return Err(Errno::EINVAL);
        }
        WAITERS.lock().entry(key).or_default().push(waiter.clone());
    }
    let outcome = |w: &Waiter| {
        if w.woken.load(Ordering::Acquire) {
            return Some(Woken::Locked);
        }
        let target = w.requeue_pi.as_ref()?;
        target.queued.lock().clone().map(Woken::Queued)
    };
    let check = || match outcome(&waiter) {
        Some(woken) => Some(Ok(woken)),
        None if crate::wait::signal_pending() => Some(Err(Errno::EINTR)),
        None => None,
    };
    let result =
        waiter.sleep.wait_until_or_deadline(check, deadline).unwrap_or(Err(Errno::ETIMEDOUT));
    let woken = match result {
        Ok(woken) => woken,
        Err(e) => {
            // Leave the plain futex's queue, unless a requeue came meanwhile.
            let _irq = ostd::sync::disable_local_irqs();
            let mut map = WAITERS.lock();
            match outcome(&waiter) {
                Some(woken) => woken,
                None => {
                    if let Some(list) = map.get_mut(&key) {
                        list.retain(|w| !Arc::ptr_eq(w, &waiter));
                        if list.is_empty() {
                            map.remove(&key);
                        }
                    }
                    // EINTR restarts the call after the handler (see process/run.rs).
                    return Err(e);
                }
            }
        }
    };
    match woken {
        Woken::Locked => Ok(0),
        Woken::Queued(pi_waiter) => {
            match pi_futex::wait_handed(mem, key2, uaddr2, tid, &pi_waiter, deadline) {
                Ok(()) => Ok(0),
                Err(Errno::EINTR) => Err(Errno::EAGAIN),
                Err(e) => Err(e),
            }
        }
    }
}

/// FUTEX_CMP_REQUEUE_PI, once its arguments are checked: if the word at `uaddr` (`key`)
/// holds `expected`, takes the PI lock at `uaddr2` (`key2`) for the first waiter if it is
/// free, and queues the others (up to `nr_requeue` of them, plus the first if it did not
/// get the lock) on it. Returns how many were woken or queued; EAGAIN if the word differs,
/// EINVAL for a waiter that is not a WAIT_REQUEUE_PI one for `key2`, EDEADLK, ESRCH or
/// EFAULT from the lock (Linux's futex_requeue with requeue_pi).
#[allow(clippy::too_many_arguments)]
pub fn cmp_requeue_pi(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    expected: u32,
    key2: Key,
    uaddr2: u64,
    nr_requeue: i64,
    owner_of: &dyn Fn(u32) -> Option<u32>,
) -> SysResult<u64> {
    let _irq = ostd::sync::disable_local_irqs();
    let mut map = WAITERS.lock();
    if mem.read_u32(uaddr)? != expected {
        return Err(Errno::EAGAIN);
    }
    // Linux reads the PI word before it looks for waiters.
    mem.read_u32(uaddr2)?;
    let waiters: Vec<Arc<Waiter>> = map.get(&key).cloned().unwrap_or_default();
    let mut count: i64 = 0;
    let mut result = Ok(());
    let mut rest = waiters.as_slice();
    if let Some(top) = waiters.first() {
        let target = top.requeue_pi.as_ref().filter(|t| t.key == key2).ok_or(Errno::EINVAL)?;
        if pi_futex::proxy_lock(mem, key2, uaddr2, target.tid, nr_requeue > 0, owner_of)? {
            top.woken.store(true, Ordering::Release);
            top.sleep.wake_all();
            count = 1;
            rest = &waiters[1..];
        }
    }
    let mut moved: Vec<Arc<Waiter>> = Vec::new();
    for w in rest {
        // Up to `nr_requeue` queued beyond the one woken, or beyond the first waiter when
        // it did not get the lock (Linux: task_count - nr_wake >= nr_requeue).
        if count > nr_requeue {
            break;
        }
        let Some(target) = w.requeue_pi.as_ref().filter(|t| t.key == key2) else {
            result = Err(Errno::EINVAL);
            break;
        };
        match pi_futex::proxy_queue(key2, target.tid) {
            Ok(pi_waiter) => {
                *target.queued.lock() = Some(pi_waiter);
                w.sleep.wake_all();
                moved.push(w.clone());
                count += 1;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(list) = map.get_mut(&key) {
        list.retain(|w| {
            !(w.woken.load(Ordering::Acquire) || moved.iter().any(|m| Arc::ptr_eq(m, w)))
        });
        if list.is_empty() {
            map.remove(&key);
        }
    }
    pi_futex::forget_if_unwaited(key2);
    result.map(|()| count as u64)
}
