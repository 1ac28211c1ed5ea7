//! Priority-inheritance futexes (FUTEX_LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI): locks
//! whose word names its owner, so the kernel can hand the lock from owner to waiter.
//!
//! The word holds the owner's thread ID (bits 0..29), FUTEX_OWNER_DIED (bit 30) and
//! FUTEX_WAITERS (bit 31). User space takes a free lock by writing its TID over 0 and
//! gives it back by writing 0 over its TID; it calls the kernel only when that fails: to
//! wait for an owned lock (which sets FUTEX_WAITERS, so the owner's release comes here
//! too), or to release a lock someone waits for. The kernel then hands the lock straight
//! to the first waiter: the word names the new owner before it wakes, as Linux's
//! wake_futex_pi does, so nobody can take the lock in between.
//!
//! Every task here runs at one priority (there is no real-time scheduling to inherit), so
//! the waiters queue in arrival order, as Linux's rt_mutex orders waiters of equal
//! priority, and "inheritance" has nothing to raise.
//!
//! When an owner ends with waiters queued, its first waiter is woken to take the lock over
//! and writes its own TID into the word itself (the dead owner's address space may not map
//! the word where the waiter's does), keeping FUTEX_OWNER_DIED if a robust list set it:
//! Linux's exit_pi_state_list and fixup_pi_state_owner.
//!
//! Words hold thread IDs as the threads' PID namespace numbers them ([`Tid::seen`]); the
//! kernel's own records name threads by their machine-wide numbers ([`Tid::global`]).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU8, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

use super::futex::{Key, update_word};
use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

/// The owner's thread ID in the word.
const TID_MASK: u32 = 0x3fff_ffff;
/// Set while someone waits in the kernel for the lock.
const WAITERS: u32 = 0x8000_0000;
/// Set when the lock's owner died holding it (robust locks).
const OWNER_DIED: u32 = 0x4000_0000;

/// A waiter still waits.
const WAITING: u8 = 0;
/// The lock was handed to the waiter: the word already names it.
const HANDED: u8 = 1;
/// The owner ended: the waiter is to write its own TID into the word.
const ORPHANED: u8 = 2;

/// A thread, by both its numbers.
#[derive(Clone, Copy, Debug)]
pub struct Tid {
    /// Its machine-wide number (the kernel's records).
    pub global: u32,
    /// Its number in its PID namespace (what lock words hold).
    pub seen: u32,
}

pub(super) struct Waiter {
    tid: Tid,
    outcome: AtomicU8,
    sleep: WaitQueue,
}

/// What the kernel knows of a lock someone waits for.
struct PiState {
    /// The thread the word named when the first waiter came, then each one the lock was
    /// handed to (the kernel's record, kept across owner deaths), by machine-wide number.
    owner: u32,
    /// The waiters, first come first.
    waiters: VecDeque<Arc<Waiter>>,
}

static STATES: SpinLock<BTreeMap<Key, PiState>> = SpinLock::new(BTreeMap::new());

/// How one attempt to take the lock ended.
enum Attempt {
    Taken,
    Queued(Arc<Waiter>),
}

/// FUTEX_TRYLOCK_PI: takes the lock if it is free (or its owner died and left it
/// ownerless). EDEADLK if the caller owns it, EAGAIN if someone else does.
/// `owner_of` gives the machine-wide number of a live thread the caller's namespace calls
/// by a number a word holds.
pub fn try_lock(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    tid: Tid,
    owner_of: &dyn Fn(u32) -> Option<u32>,
) -> SysResult<()> {
    lock_or_queue(mem, key, uaddr, tid, false, owner_of).map(|_| ())
}

/// FUTEX_LOCK_PI and LOCK_PI2: takes the lock, waiting until it is handed over or the
/// `deadline` (monotonic ns) passes (ETIMEDOUT). EDEADLK if the caller owns it already;
/// ESRCH if the word names a thread that does not exist; EINTR when a signal comes (the
/// caller restarts the call after any handler, as Linux's ERESTARTNOINTR).
pub fn lock(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    tid: Tid,
    owner_of: &dyn Fn(u32) -> Option<u32>,
    deadline: Option<u64>,
) -> SysResult<()> {
    let waiter = match lock_or_queue(mem, key, uaddr, tid, true, owner_of)? {
        Attempt::Taken => return Ok(()),
        Attempt::Queued(waiter) => waiter,
    };
    wait_handed(mem, key, uaddr, tid, &waiter, deadline)
}

/// Waits as `waiter`, queued on the lock at `uaddr`, until the lock is handed over (or its
/// owner ends: the waiter takes it over), a signal comes (EINTR) or the `deadline` passes
/// (ETIMEDOUT); a waiter that gives up leaves the queue.
pub(super) fn wait_handed(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    tid: Tid,
    waiter: &Arc<Waiter>,
    deadline: Option<u64>,
) -> SysResult<()> {
    let check = || {
        if waiter.outcome.load(Ordering::Acquire) != WAITING {
            Some(Ok(()))
        } else if crate::wait::signal_pending() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    };
    let result =
        waiter.sleep.wait_until_or_deadline(check, deadline).unwrap_or(Err(Errno::ETIMEDOUT));
    let _irq = ostd::sync::disable_local_irqs();
    let mut states = STATES.lock();
    match waiter.outcome.load(Ordering::Acquire) {
        HANDED => Ok(()),
        ORPHANED => take_over_orphan(mem, &mut states, key, uaddr, tid),
        _ => {
            if let Some(state) = states.get_mut(&key) {
                state.waiters.retain(|w| !Arc::ptr_eq(w, waiter));
                if state.waiters.is_empty() {
                    states.remove(&key);
                }
            }
            result
        }
    }
}

/// Takes the lock free, or queues `tid` behind its owner (if `wait`), all under the states'
/// lock with interrupts off, so no release falls between the look at the word and the
/// queueing.
fn lock_or_queue(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    tid: Tid,
    wait: bool,
    owner_of: &dyn Fn(u32) -> Option<u32>,
) -> SysResult<Attempt> {
    let _irq = ostd::sync::disable_local_irqs();
    let mut states = STATES.lock();
    let word = mem.read_u32(uaddr)?;
    let owner = word & TID_MASK;
    if owner == tid.seen {
        return Err(Errno::EDEADLK);
    }
    if let Some(state) = states.get_mut(&key) {
        // Others wait already: behind them (the word names an owner, or a waiter is about
        // to write its own TID there after its owner's death).
        update_word(mem, uaddr, |old| Some(old | WAITERS))?;
        if !wait {
            return Err(Errno::EAGAIN);
        }
        let waiter = new_waiter(tid);
        state.waiters.push_back(waiter.clone());
        return Ok(Attempt::Queued(waiter));
    }
    if owner == 0 {
        // Free, or ownerless after its owner died (the bit stays, for the new owner to
        // see: glibc's EOWNERDEAD).
        update_word(mem, uaddr, |old| Some(old & OWNER_DIED | tid.seen))?;
        return Ok(Attempt::Taken);
    }
    // Linux marks the word before it looks for the owner: a failed try, or an owner that
    // does not exist, leaves FUTEX_WAITERS set (the owner's release then comes here).
    update_word(mem, uaddr, |old| Some(old | WAITERS))?;
    let Some(owner) = owner_of(owner) else { return Err(Errno::ESRCH) };
    if !wait {
        return Err(Errno::EAGAIN);
    }
    let waiter = new_waiter(tid);
    states.insert(key, PiState { owner, waiters: VecDeque::from([waiter.clone()]) });
    Ok(Attempt::Queued(waiter))
}

/// FUTEX_CMP_REQUEUE_PI's attempt to take the lock at `uaddr` for its first waiter `tid`
/// (Linux's futex_lock_pi_atomic on that waiter's behalf). Returns true if the lock was
/// free and is now `tid`'s (with FUTEX_WAITERS if `set_waiters`: more waiters are about to
/// be queued behind it), false if it has an owner, whose record then exists for
/// [`proxy_queue`] (FUTEX_WAITERS set). EDEADLK if `tid` owns it already, ESRCH if the
/// word names a thread that does not exist (FUTEX_WAITERS left set), EFAULT.
/// The caller holds the futex waiters' lock with interrupts off.
pub(super) fn proxy_lock(
    mem: &UserMem,
    key: Key,
    uaddr: u64,
    tid: Tid,
    set_waiters: bool,
    owner_of: &dyn Fn(u32) -> Option<u32>,
) -> SysResult<bool> {
    let mut states = STATES.lock();
    let word = mem.read_u32(uaddr)?;
    let owner = word & TID_MASK;
    if owner == tid.seen {
        return Err(Errno::EDEADLK);
    }
    if states.contains_key(&key) {
        return Ok(false);
    }
    if owner == 0 {
        let waiters = if set_waiters { WAITERS } else { 0 };
        update_word(mem, uaddr, |old| Some(old & OWNER_DIED | tid.seen | waiters))?;
        if set_waiters {
            states.insert(key, PiState { owner: tid.global, waiters: VecDeque::new() });
        }
        return Ok(true);
    }
    update_word(mem, uaddr, |old| Some(old | WAITERS))?;
    let owner = owner_of(owner).ok_or(Errno::ESRCH)?;
    states.insert(key, PiState { owner, waiters: VecDeque::new() });
    Ok(false)
}

/// Queues `tid` on the lock at `key` for FUTEX_CMP_REQUEUE_PI (Linux's
/// rt_mutex_start_proxy_lock): the lock's owner hands it over at its unlock. EDEADLK if
/// `tid` is that owner; EINVAL if the lock has no record ([`proxy_lock`] makes it).
pub(super) fn proxy_queue(key: Key, tid: Tid) -> SysResult<Arc<Waiter>> {
    let mut states = STATES.lock();
    let state = states.get_mut(&key).ok_or(Errno::EINVAL)?;
    if state.owner == tid.global {
        return Err(Errno::EDEADLK);
    }
    let waiter = new_waiter(tid);
    state.waiters.push_back(waiter.clone());
    Ok(waiter)
}

/// Forgets the record of the lock at `key` if nobody waits for it (after a requeue that
/// queued nobody behind a lock it took).
pub(super) fn forget_if_unwaited(key: Key) {
    let mut states = STATES.lock();
    if states.get(&key).is_some_and(|s| s.waiters.is_empty()) {
        states.remove(&key);
    }
}

fn new_waiter(tid: Tid) -> Arc<Waiter> {
    Arc::new(Waiter { tid, outcome: AtomicU8::new(WAITING), sleep: WaitQueue::new() })
}

/// An orphaned waiter's half of an owner's death: the lock is the waiter's; the word gets
/// its TID with FUTEX_OWNER_DIED and FUTEX_WAITERS, as Linux's fixup_pi_state_owner writes
/// it for a lock whose kernel owner is gone (robust or not).
fn take_over_orphan(
    mem: &UserMem,
    states: &mut BTreeMap<Key, PiState>,
    key: Key,
    uaddr: u64,
    tid: Tid,
) -> SysResult<()> {
    let others = states.get_mut(&key).map(|state| {
        state.owner = tid.global;
        !state.waiters.is_empty()
    });
    if others == Some(false) {
        states.remove(&key);
    }
    // The lock is ours whatever the word holds now; a word we cannot write is the
    // program's own undoing (Linux's fixup gives up the same way).
    update_word(mem, uaddr, |_| Some(OWNER_DIED | WAITERS | tid.seen)).map(|_| ())
}

/// Whether the lock word `word` names thread `tid` as its owner.
pub fn owned_by(word: u32, tid: u32) -> bool {
    word & TID_MASK == tid
}

/// FUTEX_UNLOCK_PI: gives the lock `tid` holds to the first waiter (the word then names it,
/// with FUTEX_WAITERS), or frees it (0) if nobody waits. EPERM if `tid` does not own it.
pub fn unlock(mem: &UserMem, key: Key, uaddr: u64, tid: Tid) -> SysResult<()> {
    let _irq = ostd::sync::disable_local_irqs();
    let mut states = STATES.lock();
    if !owned_by(mem.read_u32(uaddr)?, tid.seen) {
        return Err(Errno::EPERM);
    }
    let Some(state) = states.get_mut(&key) else {
        update_word(mem, uaddr, |_| Some(0))?;
        return Ok(());
    };
    let Some(next) = state.waiters.pop_front() else {
        states.remove(&key);
        update_word(mem, uaddr, |_| Some(0))?;
        return Ok(());
    };
    update_word(mem, uaddr, |_| Some(WAITERS | next.tid.seen))?;
    state.owner = next.tid.global;
    if state.waiters.is_empty() {
        states.remove(&key);
    }
    next.outcome.store(HANDED, Ordering::Release);
    next.sleep.wake_all();
    Ok(())
}

/// Thread `tid` (machine-wide number) is ending: each lock it owned with waiters goes to its
/// first waiter, which takes it over (see [`take_over_orphan`]).
pub fn owner_exited(tid: u32) {
    let _irq = ostd::sync::disable_local_irqs();
    let mut states = STATES.lock();
    for state in states.values_mut().filter(|s| s.owner == tid) {
        if let Some(next) = state.waiters.pop_front() {
            // Until it runs, the lock is the orphan's: record it so a second death of
            // the same TID number cannot hand it on twice.
            state.owner = next.tid.global;
            next.outcome.store(ORPHANED, Ordering::Release);
            next.sleep.wake_all();
        }
    }
    states.retain(|_, s| !s.waiters.is_empty() || s.owner != tid);
}
