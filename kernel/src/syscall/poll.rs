//! Polling syscalls: poll, ppoll, select, pselect6. The waiting is `fs::poll`'s; these
//! read the descriptor lists and timeouts and write the results back.

use super::SyscallCtx;
use super::decode::{read_timespec, read_timeval};
use crate::error::{Errno, SysResult};
use crate::fs::poll::PollFd;

/// poll(2).
pub fn sys_poll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let timeout_ms = a[2] as i32;
    let deadline =
        (timeout_ms >= 0).then(|| crate::time::monotonic_ns() + timeout_ms as u64 * 1_000_000);
    poll(ctx, a[0], a[1], deadline)
}

/// ppoll(2).
pub fn sys_ppoll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[2] == 0 {
        None
    } else {
        let t = read_timespec(&ctx.mem(), a[2])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    poll(ctx, a[0], a[1], deadline)
}

/// Reads the `struct pollfd` array, waits, and writes it back with `revents` filled in.
fn poll(ctx: &SyscallCtx, fds_addr: u64, nfds: u64, deadline: Option<u64>) -> SysResult<u64> {
    if nfds > ctx.process.with_files(|files| files.limit().0) as u64 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let mut raw = alloc::vec![0u8; nfds as usize * 8];
    mem.read(fds_addr, &mut raw)?;
    let mut fds: alloc::vec::Vec<PollFd> = raw
        .chunks_exact(8)
        .map(|e| PollFd {
            fd: i32::from_le_bytes([e[0], e[1], e[2], e[3]]),
            events: u16::from_le_bytes([e[4], e[5]]),
            revents: 0,
        })
        .collect();
    let ready = crate::fs::poll::poll(|fd| ctx.process.file(fd), &mut fds, deadline)?;
    for (entry, f) in raw.chunks_exact_mut(8).zip(&fds) {
        entry[6..8].copy_from_slice(&f.revents.to_le_bytes());
    }
    mem.write(fds_addr, &raw)?;
    Ok(ready)
}

/// pselect6(2) / select(2).
pub fn sys_pselect6(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let t = read_timespec(&ctx.mem(), a[4])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

/// select(2).
pub fn sys_select(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let t = read_timeval(&ctx.mem(), a[4])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

/// Reads the three `fd_set`s (a null one is empty and not written back), waits, and
/// writes them back with only the ready descriptors left.
fn select(ctx: &SyscallCtx, nfds: u64, sets: [u64; 3], deadline: Option<u64>) -> SysResult<u64> {
    // nfds is an int; Linux clips it to the descriptor table's size rather than refusing it.
    let nfds = u64::try_from(nfds as i32)
        .map_err(|_| Errno::EINVAL)?
        .min(ctx.process.with_files(|files| files.limit().0) as u64);
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mem = ctx.mem();
    let mut input = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.read(addr, &mut input[i])?;
        }
    }
    let watched =
        ctx.process.with_files(|files| crate::fs::poll::select_watched(files, nfds, &input))?;
    let (count, output) = crate::fs::poll::select(watched, deadline)?;
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.write(addr, &output[i])?;
        }
    }
    Ok(count)
}
