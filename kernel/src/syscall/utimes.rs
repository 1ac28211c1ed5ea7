//! Setting a file's access and modification times: utimensat(2), and the older utime(2),
//! utimes(2) and futimesat(2), all through Linux's do_utimes order: the times are read
//! first (and "omit both" ends the call before the path is looked at), then the path or
//! descriptor, then the times' validity, then who may (`fs::attr::set_times`).

use super::SyscallCtx;
use super::fs::{
    AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, caller, fd_arg, file, node_at, path_arg,
};
use crate::error::{Errno, SysResult};
use crate::fs::Node;
use crate::fs::attr::{self, NewTime};
use crate::fs::node::Timespec;

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// A time as the caller gave it: (seconds, nanoseconds or UTIME_NOW/UTIME_OMIT), checked
/// only once the file is found (Linux's vfs_utimes).
type RawTime = (i64, i64);

fn checked(raw: [RawTime; 2]) -> SysResult<[NewTime; 2]> {
    let one = |(sec, nsec): RawTime| match nsec {
        UTIME_NOW => Ok(NewTime::Now),
        UTIME_OMIT => Ok(NewTime::Omit),
        0..=999_999_999 => Ok(NewTime::At(Timespec { sec, nsec })),
        _ => Err(Errno::EINVAL),
    };
    Ok([one(raw[0])?, one(raw[1])?])
}

/// Linux's do_utimes: a NULL path with a descriptor names the descriptor's file (flags must
/// then be 0); otherwise the path from `dirfd` (flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
fn set(
    ctx: &SyscallCtx,
    dirfd: i32,
    path_addr: u64,
    times: Option<[RawTime; 2]>,
    flags: u64,
) -> SysResult<u64> {
    let node: alloc::sync::Arc<Node> = if path_addr == 0 && dirfd != AT_FDCWD {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        file(ctx, dirfd)?.node().ok_or(Errno::EINVAL)?.clone()
    } else {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let path = path_arg(ctx, path_addr)?;
        node_at(ctx, dirfd, &path, flags, Errno::EINVAL)?
    };
    let times = times.map(checked).transpose()?;
    attr::set_times(&caller(ctx), &node, times)?;
    Ok(0)
}

/// Reads two `struct timespec`s (EFAULT).
fn read_timespecs(ctx: &SyscallCtx, addr: u64) -> SysResult<[RawTime; 2]> {
    let mem = ctx.mem();
    let one = |at: u64| -> SysResult<RawTime> {
        Ok((mem.read_u64(at)? as i64, mem.read_u64(at + 8)? as i64))
    };
    Ok([one(addr)?, one(addr + 16)?])
}

/// utimensat(2).
pub fn sys_utimensat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let times = if a[2] != 0 { Some(read_timespecs(ctx, a[2])?) } else { None };
    // Nothing to do: Linux does not even look at the path.
    if times.is_some_and(|t| t[0].1 == UTIME_OMIT && t[1].1 == UTIME_OMIT) {
        return Ok(0);
    }
    set(ctx, fd_arg(a[0]), a[1], times, a[3])
}

/// utime(2): whole seconds, or now if the times are NULL.
pub fn sys_utime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let times = if a[1] != 0 {
        let mem = ctx.mem();
        Some([(mem.read_u64(a[1])? as i64, 0), (mem.read_u64(a[1] + 8)? as i64, 0)])
    } else {
        None
    };
    set(ctx, AT_FDCWD, a[0], times, 0)
}

/// futimesat(2): microseconds, checked before anything else (EINVAL outside 0..10^6, which
/// also keeps UTIME_NOW and UTIME_OMIT out).
pub fn sys_futimesat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let times = if a[2] != 0 {
        let raw = read_timespecs(ctx, a[2])?;
        if raw.iter().any(|&(_, usec)| !(0..1_000_000).contains(&usec)) {
            return Err(Errno::EINVAL);
        }
        Some(raw.map(|(sec, usec)| (sec, usec * 1000)))
    } else {
        None
    };
    set(ctx, fd_arg(a[0]), a[1], times, 0)
}

/// utimes(2).
pub fn sys_utimes(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_futimesat(ctx, [AT_FDCWD as u64, a[0], a[1], 0, 0, 0])
}
