//! Futexes: threads sleeping on a 32-bit word of user memory until another thread wakes
//! that word.
//!
//! A waiter is keyed by (address space, user address) for a private futex, else by the
//! physical address of the word, so processes sharing a page meet. Checking the word and
//! queueing happen with interrupts off on one CPU, so no wake can fall between them.
//! `syscall/futex.rs` decodes futex(2) into these operations.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::mm::VmSpace;
use ostd::sync::{SpinLock, WaitQueue};

use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

/// A waiter's bitset that every wake matches.
pub const BITSET_MATCH_ANY: u32 = u32::MAX;

/// (0 = private space id | 1 = physical, address)
pub type Key = (u64, u64);

struct Waiter {
    key: SpinLock<Key>,
    bitset: u32,
    woken: AtomicBool,
    /// Where this waiter's thread sleeps: a wake touches only the threads it picked.
    sleep: WaitQueue,
}

static WAITERS: SpinLock<BTreeMap<Key, Vec<Arc<Waiter>>>> = SpinLock::new(BTreeMap::new());

/// Returns the key of the futex word at `uaddr` in `space` (EINVAL if misaligned, EFAULT if
/// unmapped): private futexes are keyed by the space, shared ones by the word's frame.
pub fn key(space: &Arc<VmSpace>, mem: &UserMem, uaddr: u64, private: bool) -> SysResult<Key> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if private {
        crate::user_mem::range_ok(uaddr, 4)?;
        let space = Arc::as_ptr(space) as u64;
        return Ok((space << 1, uaddr));
    }
    // Touch the word so it is mapped, then key by its frame.
    mem.read_u32(uaddr)?;
    let (paddr, _) = space.translate(uaddr).ok_or(Errno::EFAULT)?;
    Ok((1, paddr))
}

/// Wakes up to `n` waiters on `key` whose bitset meets `bitset`; returns how many.
pub fn wake(key: Key, n: usize, bitset: u32) -> usize {
    let mut map = WAITERS.lock();
    let Some(list) = map.get_mut(&key) else { return 0 };
    let mut woken = 0;
    list.retain(|w| {
        if woken < n && w.bitset & bitset != 0 {
            w.woken.store(true, Ordering::Release);
            w.sleep.wake_all();
            woken += 1;
            false
        } else {
            true
        }
    });
    if list.is_empty() {
        map.remove(&key);
    }
    woken
}

/// Wakes one waiter at a user address in the current address space (CLONE_CHILD_CLEARTID).
pub fn wake_address(space: &Arc<ostd::mm::VmSpace>, uaddr: u64) {
    let private = (Arc::as_ptr(space) as u64) << 1;
    wake((private, uaddr), 1, BITSET_MATCH_ANY);
    if let Some((paddr, _)) = space.translate(uaddr) {
        wake((1, paddr), 1, BITSET_MATCH_ANY);
    }
}

/// Sleeps on `key` while the word at `uaddr` holds `val`: EAGAIN if it does not when the
/// caller queues, then 0 when woken, ETIMEDOUT at `deadline` (monotonic ns), EINTR on a
/// signal. `bitset` (not 0) picks which wakes match.
pub fn wait(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    val: u32,
    deadline: Option<u64>,
    bitset: u32,
) -> SysResult<u64> {
    let waiter = Arc::new(Waiter {
        key: SpinLock::new(key),
        bitset,
        woken: AtomicBool::new(false),
        sleep: WaitQueue::new(),
    });
    {
        // The value check and the queueing are one step: interrupts are off inside.
        let _irq = ostd::sync::disable_local_irqs();
        if mem.read_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        WAITERS.lock().entry(key).or_default().push(waiter.clone());
    }
    // A signal wakes the thread wherever it sleeps (`Process::interrupt_sleep`).
    let check = || {
        if waiter.woken.load(Ordering::Acquire) {
            Some(Ok(0))
        } else if crate::wait::signal_pending() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    };
    let result =
        waiter.sleep.wait_until_or_deadline(check, deadline).unwrap_or(Err(Errno::ETIMEDOUT));
    if result.is_err() {
        // Leave the queue (a requeue may have moved us).
        let k = *waiter.key.lock();
        let mut map = WAITERS.lock();
        if let Some(list) = map.get_mut(&k) {
            list.retain(|w| !Arc::ptr_eq(w, &waiter));
            if list.is_empty() {
                map.remove(&k);
            }
        }
        if waiter.woken.load(Ordering::Acquire) {
            return Ok(0);
        }
    }
    result
}

/// Changes the word at `uaddr` through `f` in one step (nothing else runs on this CPU
/// meanwhile, and there is one CPU): `f` gets the old value and returns the new one, or
/// `None` to leave it. Returns the old value if it was changed.
///
/// # Errors
/// EINVAL if misaligned; EFAULT if the word cannot be read or written.
pub fn update_word(
    mem: &UserMem,
    uaddr: u64,
    f: impl FnOnce(u32) -> Option<u32>,
) -> SysResult<Option<u32>> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let _irq = ostd::sync::disable_local_irqs();
    let old = mem.read_u32(uaddr)?;
    match f(old) {
        Some(new) => {
            mem.write_u32(uaddr, new)?;
            Ok(Some(old))
        }
        None => Ok(None),
    }
}

/// Wakes up to `wake_n` waiters on `from` and moves up to `move_n` of the rest to `to`;
/// returns how many were woken or moved.
pub fn requeue(from: Key, to: Key, wake_n: usize, move_n: usize) -> usize {
    let woken = wake(from, wake_n, BITSET_MATCH_ANY);
    let mut map = WAITERS.lock();
    let moving: Vec<Arc<Waiter>> = match map.get_mut(&from) {
        Some(list) => {
            let n = move_n.min(list.len());
            list.drain(..n).collect()
        }
        None => Vec::new(),
    };
    if map.get(&from).is_some_and(|l| l.is_empty()) {
        map.remove(&from);
    }
    let moved = moving.len();
    for w in moving {
        *w.key.lock() = to;
        map.entry(to).or_default().push(w);
    }
    woken + moved
}
