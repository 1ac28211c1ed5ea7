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

/// One thread waiting on a futex word.
pub(super) struct Waiter {
    key: SpinLock<Key>,
    bitset: u32,
    /// Woken (for a FUTEX_WAIT_REQUEUE_PI waiter: given the PI lock by the requeue).
    pub(super) woken: AtomicBool,
    /// Where this waiter's thread sleeps: a wake touches only the threads it picked.
    pub(super) sleep: WaitQueue,
    /// A FUTEX_WAIT_REQUEUE_PI waiter's side (see [`super::requeue_pi`]); plain wakes and
    /// requeues refuse such a waiter (EINVAL), as Linux's do.
    pub(super) requeue_pi: Option<super::requeue_pi::Target>,
}

impl Waiter {
    /// A waiter on `key` that wakes for `bitset`, a FUTEX_WAIT_REQUEUE_PI one if
    /// `requeue_pi` says where it is to be requeued.
    pub(super) fn new(
        key: Key,
        bitset: u32,
        requeue_pi: Option<super::requeue_pi::Target>,
    ) -> Self {
        Self {
            key: SpinLock::new(key),
            bitset,
            woken: AtomicBool::new(false),
            sleep: WaitQueue::new(),
            requeue_pi,
        }
    }
}

/// The waiters of each futex, first come first. Lock order: this, then the PI futexes'
/// states (`pi_futex`), never the other way.
pub(super) static WAITERS: SpinLock<BTreeMap<Key, Vec<Arc<Waiter>>>> =
    SpinLock::new(BTreeMap::new());

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

/// Wakes up to `n` waiters on `key` whose bitset meets `bitset`; returns how many. EINVAL
/// when it meets a FUTEX_WAIT_REQUEUE_PI waiter before it is done (the ones before it are
/// woken all the same, as by Linux's futex_wake).
pub fn wake(key: Key, n: usize, bitset: u32) -> SysResult<usize> {
    let mut map = WAITERS.lock();
    let Some(list) = map.get_mut(&key) else { return Ok(0) };
    let (mut woken, mut refused) = (0, false);
    list.retain(|w| {
        if woken >= n || refused {
            return true;
        }
        if w.requeue_pi.is_some() {
            refused = true;
            return true;
        }
        if w.bitset & bitset == 0 {
            return true;
        }
        w.woken.store(true, Ordering::Release);
        w.sleep.wake_all();
        woken += 1;
        false
    });
    if list.is_empty() {
        map.remove(&key);
    }
    if refused { Err(Errno::EINVAL) } else { Ok(woken) }
}

/// Wakes one waiter at a user address in the current address space (CLONE_CHILD_CLEARTID).
pub fn wake_address(space: &Arc<ostd::mm::VmSpace>, uaddr: u64) {
    let private = (Arc::as_ptr(space) as u64) << 1;
    // A FUTEX_WAIT_REQUEUE_PI waiter there is not woken (EINVAL), as on Linux.
    let _ = wake((private, uaddr), 1, BITSET_MATCH_ANY);
    if let Some((paddr, _)) = space.translate(uaddr) {
        let _ = wake((1, paddr), 1, BITSET_MATCH_ANY);
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
    let waiter = Arc::new(Waiter::new(key, bitset, None));
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
/// returns how many were woken or moved. EINVAL at a FUTEX_WAIT_REQUEUE_PI waiter (the ones
/// before it are woken or moved all the same).
pub fn requeue(from: Key, to: Key, wake_n: usize, move_n: usize) -> SysResult<usize> {
    let woken = wake(from, wake_n, BITSET_MATCH_ANY)?;
    let mut map = WAITERS.lock();
    let mut refused = false;
    let moving: Vec<Arc<Waiter>> = match map.get_mut(&from) {
        Some(list) => {
            let plain = list.iter().take_while(|w| w.requeue_pi.is_none()).count();
            refused = plain < move_n.min(list.len());
            let n = move_n.min(plain);
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
    if refused { Err(Errno::EINVAL) } else { Ok(woken + moved) }
}
