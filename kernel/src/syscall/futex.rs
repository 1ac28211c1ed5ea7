//! futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, and the
//! priority-inheritance locks LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI; private or shared.
//! Decodes the operation and its timeout; the waiting and waking are `crate::ipc::futex`,
//! the locks `crate::ipc::pi_futex`, the requeue-to-PI pair (WAIT_REQUEUE_PI,
//! CMP_REQUEUE_PI) `crate::ipc::requeue_pi`.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::ipc::futex::{self, BITSET_MATCH_ANY, Key};
use crate::ipc::{pi_futex, requeue_pi};

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_UNLOCK_PI: u64 = 7;
const FUTEX_TRYLOCK_PI: u64 = 8;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
const FUTEX_CMP_REQUEUE_PI: u64 = 12;
const FUTEX_LOCK_PI2: u64 = 13;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// The key of the futex word at `uaddr` in the caller's address space.
fn key(ctx: &SyscallCtx, uaddr: u64, private: bool) -> SysResult<Key> {
    futex::key(ctx.user.vm_space(), &ctx.mem(), uaddr, private)
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

/// Reads the timeout at `addr` (none if 0) as a monotonic deadline in ns.
fn deadline(ctx: &SyscallCtx, addr: u64, kind: Timeout) -> SysResult<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    let ns = crate::time::timespec_ns(super::decode::read_timespec(&ctx.mem(), addr)?);
    Ok(Some(match kind {
        Timeout::Relative => crate::time::monotonic_ns().saturating_add(ns),
        Timeout::AbsoluteMonotonic => ns,
        Timeout::AbsoluteRealtime => {
            let now = crate::time::realtime();
            let now_ns = (now.sec.max(0) as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(now.nsec as u64);
            crate::time::monotonic_ns().saturating_add(ns.saturating_sub(now_ns))
        }
    }))
}

/// A timed wait's deadline as Linux's futex timer keeps it: its timer ends anywhere up to the
/// caller's timer slack past the timeout, and at that end unless another timer fires first, so
/// a waker gets that long to come. (PI lock timeouts get none, as in Linux.)
fn with_timer_slack(ctx: &SyscallCtx, deadline: Option<u64>) -> Option<u64> {
    let slack = ctx.process.attrs().applied_timer_slack_ns();
    deadline.map(|d| d.saturating_add(slack))
}

fn wait(
    ctx: &SyscallCtx,
    uaddr: u64,
    val: u32,
    timeout: Option<u64>,
    bitset: u32,
    private: bool,
    kind: Timeout,
) -> SysResult<u64> {
    // The timeout is read and checked first (Linux's sys_futex), then the bitset and the
    // word's address.
    let deadline = deadline(ctx, timeout.unwrap_or(0), kind)?;
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key(ctx, uaddr, private)?;
    let deadline = with_timer_slack(ctx, deadline);
    futex::wait(&ctx.mem(), key, uaddr, val, deadline, bitset)
}

/// The caller's thread, as PI futexes know it: its machine-wide number, and the one its
/// PID namespace gives it (what a lock word holds).
fn caller_tid(ctx: &SyscallCtx) -> pi_futex::Tid {
    let global = ctx.thread.tid();
    pi_futex::Tid { global: global as u32, seen: ctx.process.nr_for(global) as u32 }
}

/// The machine-wide number of the live thread the caller calls `seen` (a lock word's owner).
fn owner_of<'a>(ctx: &'a SyscallCtx<'_>) -> impl Fn(u32) -> Option<u32> + 'a {
    move |seen| {
        let global = ctx.process.global_for(seen as i32)?;
        crate::process::registry::find_thread(global).map(|_| global as u32)
    }
}

/// futex(2).
pub fn sys_futex(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (uaddr, op, val, timeout_or_val2, uaddr2, val3) =
        (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime && !matches!(cmd, FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2) {
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
            let kind =
                if realtime { Timeout::AbsoluteRealtime } else { Timeout::AbsoluteMonotonic };
            wait(ctx, uaddr, val, timeout, val3, private, kind)
        }
        FUTEX_WAKE => {
            Ok(futex::wake(key(ctx, uaddr, private)?, val as usize, BITSET_MATCH_ANY)? as u64)
        }
        FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(futex::wake(key(ctx, uaddr, private)?, val as usize, val3)? as u64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            let from = key(ctx, uaddr, private)?;
            let to = key(ctx, uaddr2, private)?;
            if cmd == FUTEX_CMP_REQUEUE && ctx.mem().read_u32(uaddr)? != val3 {
                return Err(Errno::EAGAIN);
            }
            Ok(futex::requeue(from, to, val as usize, timeout_or_val2 as u32 as usize)? as u64)
        }
        FUTEX_WAKE_OP => {
            let nr_wake2 = timeout_or_val2 as u32 as usize;
            wake_op(ctx, uaddr, uaddr2, val as usize, nr_wake2, val3, private)
        }
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => {
            // LOCK_PI's timeout is an absolute CLOCK_REALTIME time; LOCK_PI2's is
            // CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
            let kind = if cmd == FUTEX_LOCK_PI || realtime {
                Timeout::AbsoluteRealtime
            } else {
                Timeout::AbsoluteMonotonic
            };
            let deadline = deadline(ctx, timeout_or_val2, kind)?;
            let key = key(ctx, uaddr, private)?;
            pi_futex::lock(&ctx.mem(), key, uaddr, caller_tid(ctx), &owner_of(ctx), deadline)?;
            Ok(0)
        }
        FUTEX_WAIT_REQUEUE_PI => {
            // An absolute timeout, CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME; then the
            // checks in Linux's futex_wait_requeue_pi order: the same address, the PI word's
            // key, the plain word's key and value.
            let kind =
                if realtime { Timeout::AbsoluteRealtime } else { Timeout::AbsoluteMonotonic };
            let deadline = deadline(ctx, timeout_or_val2, kind)?;
            if uaddr == uaddr2 {
                return Err(Errno::EINVAL);
            }
            let deadline = with_timer_slack(ctx, deadline);
            let key2 = key(ctx, uaddr2, private)?;
            let key1 = key(ctx, uaddr, private)?;
            let tid = caller_tid(ctx);
            requeue_pi::wait_requeue_pi(&ctx.mem(), key1, uaddr, val, key2, uaddr2, tid, deadline)
        }
        FUTEX_CMP_REQUEUE_PI => {
            // Linux's futex_requeue: counts are ints; only one waiter may be woken.
            let (nr_wake, nr_requeue) = (val as i32, timeout_or_val2 as u32 as i32);
            if nr_wake < 0 || nr_requeue < 0 || uaddr == uaddr2 || nr_wake != 1 {
                return Err(Errno::EINVAL);
            }
            let key1 = key(ctx, uaddr, private)?;
            let key2 = key(ctx, uaddr2, private)?;
            if key1 == key2 {
                return Err(Errno::EINVAL);
            }
            requeue_pi::cmp_requeue_pi(
                &ctx.mem(),
                key1,
                uaddr,
                val3,
                key2,
                uaddr2,
                i64::from(nr_requeue),
                &owner_of(ctx),
            )
        }
        FUTEX_TRYLOCK_PI => {
            let key = key(ctx, uaddr, private)?;
            pi_futex::try_lock(&ctx.mem(), key, uaddr, caller_tid(ctx), &owner_of(ctx))?;
            Ok(0)
        }
        FUTEX_UNLOCK_PI => {
            // Linux reads the word and checks its owner before it looks at the address's
            // alignment (a misaligned word not ours is EPERM).
            if !pi_futex::owned_by(ctx.mem().read_u32(uaddr)?, caller_tid(ctx).seen) {
                return Err(Errno::EPERM);
            }
            let key = key(ctx, uaddr, private)?;
            pi_futex::unlock(&ctx.mem(), key, uaddr, caller_tid(ctx))?;
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// FUTEX_WAKE_OP: changes the word at `uaddr2` as `encoded` says, wakes up to `nr_wake`
/// waiters on `uaddr`, and, if the word's old value passes the comparison `encoded` also
/// holds, up to `nr_wake2` on `uaddr2`. Returns how many woke (Linux's futex_wake_op).
fn wake_op(
    ctx: &SyscallCtx,
    uaddr: u64,
    uaddr2: u64,
    nr_wake: usize,
    nr_wake2: usize,
    encoded: u32,
    private: bool,
) -> SysResult<u64> {
    let key1 = key(ctx, uaddr, private)?;
    let key2 = key(ctx, uaddr2, private)?;
    let sign_extend_12 = |v: u32| ((v << 20) as i32) >> 20;
    let op = (encoded >> 28) & 7;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = sign_extend_12(encoded >> 12);
    let cmparg = sign_extend_12(encoded);
    if encoded & (8 << 28) != 0 {
        // FUTEX_OP_OPARG_SHIFT: the operand is a shift count (Linux keeps it to 0..=31).
        oparg = 1i32.wrapping_shl((oparg & 31) as u32);
    }
    let oparg = oparg as u32;
    let apply: fn(u32, u32) -> u32 = match op {
        0 => |_, arg| arg,                     // FUTEX_OP_SET
        1 => |old, arg| old.wrapping_add(arg), // FUTEX_OP_ADD
        2 => |old, arg| old | arg,             // FUTEX_OP_OR
        3 => |old, arg| old & !arg,            // FUTEX_OP_ANDN
        4 => |old, arg| old ^ arg,             // FUTEX_OP_XOR
        _ => return Err(Errno::ENOSYS),
    };
    let old = futex::update_word(&ctx.mem(), uaddr2, |old| Some(apply(old, oparg)))?
        .unwrap_or_default() as i32;
    // The comparison is checked after the change, as on Linux: a bad one still changed it.
    let passes = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => old < cmparg,
        3 => old <= cmparg,
        4 => old > cmparg,
        5 => old >= cmparg,
        _ => return Err(Errno::ENOSYS),
    };
    let mut woken = futex::wake(key1, nr_wake, BITSET_MATCH_ANY)?;
    if passes {
        woken += futex::wake(key2, nr_wake2, BITSET_MATCH_ANY)?;
    }
    Ok(woken as u64)
}
