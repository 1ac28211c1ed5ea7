//! futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET; private or shared.
//!
//! A waiter is keyed by (address space, user address) when FUTEX_PRIVATE_FLAG is set, else by
//! the physical address of the word, so processes sharing a page meet. Checking the word and
//! queueing happen with interrupts off on one CPU, so no wake can fall between them.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

use super::SyscallCtx;
use crate::error::{Errno, SysResult};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const BITSET_MATCH_ANY: u32 = u32::MAX;

/// (0 = private space id | 1 = physical, address)
type Key = (u64, u64);

struct Waiter {
    key: SpinLock<Key>,
    bitset: u32,
    woken: AtomicBool,
}

static WAITERS: SpinLock<BTreeMap<Key, Vec<Arc<Waiter>>>> = SpinLock::new(BTreeMap::new());
static WOKEN: WaitQueue = WaitQueue::new();

fn key(ctx: &SyscallCtx, uaddr: u64, private: bool) -> SysResult<Key> {
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    if private {
        crate::user_mem::range_ok(uaddr, 4)?;
        let space = Arc::as_ptr(ctx.user.vm_space()) as u64;
        return Ok((space << 1, uaddr));
    }
    // Touch the word so it is mapped, then key by its frame.
    ctx.mem().read_u32(uaddr)?;
    let (paddr, _) = ctx.user.vm_space().translate(uaddr).ok_or(Errno::EFAULT)?;
    Ok((1, paddr))
}

/// Wakes up to `n` waiters on `key` whose bitset meets `bitset`; returns how many.
fn wake(key: Key, n: usize, bitset: u32) -> usize {
    let mut map = WAITERS.lock();
    let Some(list) = map.get_mut(&key) else { return 0 };
    let mut woken = 0;
    list.retain(|w| {
        if woken < n && w.bitset & bitset != 0 {
            w.woken.store(true, Ordering::Release);
            woken += 1;
            false
        } else {
            true
        }
    });
    if list.is_empty() {
        map.remove(&key);
    }
    drop(map);
    if woken > 0 {
        WOKEN.wake_all();
    }
    woken
}

/// Makes every futex waiter re-check its condition (a signal or exit_group arrived).
pub fn wake_all_waiters() {
    WOKEN.wake_all();
}

/// Wakes one waiter at a user address in the current address space (CLONE_CHILD_CLEARTID).
pub fn wake_address(space: &Arc<ostd::mm::VmSpace>, uaddr: u64) {
    let private = (Arc::as_ptr(space) as u64) << 1;
    wake((private, uaddr), 1, BITSET_MATCH_ANY);
    if let Some((paddr, _)) = space.translate(uaddr) {
        wake((1, paddr), 1, BITSET_MATCH_ANY);
    }
}

/// How a timeout argument is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timeout {
    /// Relative to now (FUTEX_WAIT).
    Relative,
    /// An absolute CLOCK_MONOTONIC time (FUTEX_WAIT_BITSET).
    AbsoluteMonotonic,
    /// An absolute CLOCK_REALTIME time (FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME).
    AbsoluteRealtime,
}

fn wait(ctx: &SyscallCtx, uaddr: u64, val: u32, timeout: Option<u64>, bitset: u32, private: bool, kind: Timeout) -> SysResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key(ctx, uaddr, private)?;
    let deadline = match timeout {
        None => None,
        Some(addr) => {
            let ns = crate::time::timespec_ns(super::decode::read_timespec(&ctx.mem(), addr)?);
            Some(match kind {
                Timeout::Relative => crate::time::monotonic_ns().saturating_add(ns),
                Timeout::AbsoluteMonotonic => ns,
                Timeout::AbsoluteRealtime => {
                    let now = crate::time::realtime();
                    let now_ns = (now.sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(now.nsec as u64);
                    crate::time::monotonic_ns().saturating_add(ns.saturating_sub(now_ns))
                }
            })
        }
    };
    let waiter = Arc::new(Waiter { key: SpinLock::new(key), bitset, woken: AtomicBool::new(false) });
    {
        // The value check and the queueing are one step: interrupts are off inside.
        let _irq = ostd::sync::disable_local_irqs();
        if ctx.mem().read_u32(uaddr)? != val {
            return Err(Errno::EAGAIN);
        }
        WAITERS.lock().entry(key).or_default().push(waiter.clone());
    }
    let process = ctx.process.clone();
    let check = || {
        if waiter.woken.load(Ordering::Acquire) {
            Some(Ok(0))
        } else if deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Err(Errno::ETIMEDOUT))
        } else if process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    };
    let result = if deadline.is_some() { ostd::task::wait_ticks_until(check) } else { WOKEN.wait_until(check) };
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

fn requeue(from: Key, to: Key, wake_n: usize, move_n: usize) -> usize {
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

/// futex(2).
pub fn sys_futex(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (uaddr, op, val, timeout_or_val2, uaddr2, val3) = (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime && !matches!(cmd, FUTEX_WAIT_BITSET) {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT => {
            let timeout = (timeout_or_val2 != 0).then_some(timeout_or_val2);
            // FUTEX_WAIT's timeout is relative; WAIT_BITSET's is absolute (monotonic unless
            // FUTEX_CLOCK_REALTIME).
            wait(ctx, uaddr, val, timeout, BITSET_MATCH_ANY, private, Timeout::Relative)
        }
        FUTEX_WAIT_BITSET => {
            let timeout = (timeout_or_val2 != 0).then_some(timeout_or_val2);
            let kind = if realtime { Timeout::AbsoluteRealtime } else { Timeout::AbsoluteMonotonic };
            wait(ctx, uaddr, val, timeout, val3, private, kind)
        }
        FUTEX_WAKE => Ok(wake(key(ctx, uaddr, private)?, val as usize, BITSET_MATCH_ANY) as u64),
        FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(wake(key(ctx, uaddr, private)?, val as usize, val3) as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let from = key(ctx, uaddr, private)?;
            let to = key(ctx, uaddr2, private)?;
            if cmd == FUTEX_CMP_REQUEUE && ctx.mem().read_u32(uaddr)? != val3 {
                return Err(Errno::EAGAIN);
            }
            Ok(requeue(from, to, val as usize, timeout_or_val2 as u32 as usize) as u64)
        }
        FUTEX_WAKE_OP => Err(Errno::ENOSYS),
        _ => Err(Errno::ENOSYS),
    }
}
