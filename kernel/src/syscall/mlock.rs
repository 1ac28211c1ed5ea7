//! mlock, munlock, mlock2, mlockall, munlockall: which areas are locked, within
//! RLIMIT_MEMLOCK (root exempt), as Linux's mm/mlock.c decides. Nothing is ever paged
//! out here, so a locked page is resident as any other; what locking changes is the count
//! (VmLck in /proc/PID/status), the limit, and the errors.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};

const PAGE: u64 = 4096;
const MLOCK_ONFAULT: u64 = 1;
const MCL_CURRENT: u64 = 1;
const MCL_FUTURE: u64 = 2;
const MCL_ONFAULT: u64 = 4;

/// Linux's rounding: the range grows to whole pages (`PAGE_ALIGN(len + offset)`, which
/// wraps as Linux's does), and a range that ends before it starts is EINVAL.
fn page_range(addr: u64, len: u64) -> SysResult<(u64, u64)> {
    let start = addr & !(PAGE - 1);
    let len = len.wrapping_add(addr - start).wrapping_add(PAGE - 1) & !(PAGE - 1);
    let end = start.wrapping_add(len);
    if end < start {
        return Err(Errno::EINVAL);
    }
    Ok((start, end))
}

/// The caller's RLIMIT_MEMLOCK, or EPERM when it is 0 and the caller is not root (Linux's
/// can_do_mlock); `None` for root, whom the limit does not bind.
fn memlock_limit(ctx: &SyscallCtx) -> SysResult<Option<u64>> {
    if ctx.process.creds().euid == 0 {
        return Ok(None);
    }
    let limit = ctx.process.limit(crate::process::limits::MEMLOCK).soft;
    if limit == 0 {
        return Err(Errno::EPERM);
    }
    // Counted in whole pages, as Linux shifts it.
    Ok(Some(limit & !(PAGE - 1)))
}

fn lock(ctx: &SyscallCtx, addr: u64, len: u64) -> SysResult<u64> {
    let (start, end) = page_range(addr, len)?;
    let limit = memlock_limit(ctx)?;
    let vm = ctx.process.vm();
    let mut areas = vm.areas();
    if let Some(limit) = limit {
        // What would be locked: all there is now, plus what this range adds.
        let already = areas.locked_bytes(0, u64::MAX);
        let adds = (end - start) - areas.locked_bytes(start, end);
        if already + adds > limit {
            return Err(Errno::ENOMEM);
        }
    }
    if start == end {
        return Ok(0);
    }
    areas.set_locked(start, end, true)?;
    Ok(0)
}

/// mlock(2).
pub fn sys_mlock(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    lock(ctx, a[0], a[1])
}

/// mlock2(2): MLOCK_ONFAULT is the only flag (and changes nothing here: pages come on
/// first touch either way).
pub fn sys_mlock2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[2] & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock(ctx, a[0], a[1])
}

/// munlock(2).
pub fn sys_munlock(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (start, end) = page_range(a[0], a[1])?;
    if start == end {
        return Ok(0);
    }
    ctx.process.vm().areas().set_locked(start, end, false)?;
    Ok(0)
}

/// mlockall(2): MCL_CURRENT locks every area (ENOMEM if they are more than the limit,
/// unless root), MCL_FUTURE every later one; MCL_ONFAULT alone, no flag or another bit is
/// EINVAL.
pub fn sys_mlockall(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0];
    if flags == 0 || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || flags == MCL_ONFAULT
    {
        return Err(Errno::EINVAL);
    }
    let limit = memlock_limit(ctx)?;
    let vm = ctx.process.vm();
    let mut areas = vm.areas();
    if flags & MCL_CURRENT != 0 {
        if limit.is_some_and(|limit| areas.mapped_bytes() > limit) {
            return Err(Errno::ENOMEM);
        }
        areas.set_all_locked(true);
    }
    areas.lock_future = flags & MCL_FUTURE != 0;
    Ok(0)
}

/// munlockall(2).
pub fn sys_munlockall(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let vm = ctx.process.vm();
    let mut areas = vm.areas();
    areas.set_all_locked(false);
    areas.lock_future = false;
    Ok(0)
}
