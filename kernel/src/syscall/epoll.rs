//! epoll syscalls: create, ctl, wait.

use alloc::sync::Arc;

use super::SyscallCtx;
use super::fs::{fd_arg, file};
use crate::error::{Errno, SysResult};
use crate::fs::{FileLike, NodeKind, OpenFlags};

/// epoll_create1(2).
pub fn sys_epoll_create1(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const EPOLL_CLOEXEC: u64 = 0o2000000;
    if a[0] & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let ep = crate::fs::epoll::Epoll::new(OpenFlags::empty());
    ctx.process.install_file(ep, a[0] != 0).map(|fd| fd as u64)
}

/// epoll_create(2).
pub fn sys_epoll_create(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    sys_epoll_create1(ctx, [0; 6])
}

/// Returns the file behind `epfd`, which must be an epoll instance.
fn epoll_file(ctx: &SyscallCtx, epfd: i32) -> SysResult<Arc<dyn FileLike>> {
    let f = file(ctx, epfd)?;
    if f.as_epoll().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// epoll_ctl(2).
pub fn sys_epoll_ctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const ADD: u64 = 1;
    const DEL: u64 = 2;
    const MOD: u64 = 3;
    use crate::fs::epoll::{
        EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLWAKEUP,
    };
    let (epfd, op, fd, event) = (fd_arg(a[0]), a[1], fd_arg(a[2]), a[3]);
    let ep_file = epoll_file(ctx, epfd)?;
    let ep = ep_file.as_epoll().ok_or(Errno::EINVAL)?;
    let target = file(ctx, fd)?;
    // An O_PATH descriptor is no file to these calls (Linux's fdget skips it).
    if target.flags().contains(crate::fs::OpenFlags::PATH) {
        return Err(Errno::EBADF);
    }
    if fd == epfd {
        return Err(Errno::EINVAL);
    }
    if target.node().is_some_and(|n| n.kind() == NodeKind::File || n.kind() == NodeKind::Dir) {
        return Err(Errno::EPERM); // regular files and directories are always ready: not pollable
    }
    let read_event = |ctx: &SyscallCtx| -> SysResult<(u32, u64)> {
        let mut b = [0u8; 12];
        ctx.mem().read(event, &mut b)?;
        Ok((
            u32::from_le_bytes(b[0..4].try_into().unwrap_or_default()),
            u64::from_le_bytes(b[4..12].try_into().unwrap_or_default()),
        ))
    };
    match op {
        ADD => {
            let (events, data) = read_event(ctx)?;
            // EPOLLEXCLUSIVE takes only the plain readiness bits, and no epoll target.
            const EXCLUSIVE_OK: u32 =
                EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
            if events & EPOLLEXCLUSIVE != 0
                && (events & !EXCLUSIVE_OK != 0 || target.as_epoll().is_some())
            {
                return Err(Errno::EINVAL);
            }
            if target.as_epoll().is_some_and(|inner| inner.reaches(ep)) {
                return Err(Errno::ELOOP);
            }
            ep.add(fd, &target, events, data)?;
        }
        MOD => {
            let (events, data) = read_event(ctx)?;
            // An exclusive interest cannot be modified, nor made exclusive by MOD.
            if events & EPOLLEXCLUSIVE != 0 || ep.is_exclusive(fd) {
                return Err(Errno::EINVAL);
            }
            ep.modify(fd, events, data)?;
        }
        DEL => ep.delete(fd)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// epoll_wait(2).
pub fn sys_epoll_wait(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (epfd, events, max, timeout) = (fd_arg(a[0]), a[1], a[2] as i32, a[3] as i32);
    if max <= 0 || max > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    // Linux checks the whole array before waiting, even if nothing is ever written to it.
    crate::user_mem::range_ok(events, max as u64 * 12)?;
    let ep_file = epoll_file(ctx, epfd)?;
    let ep = ep_file.as_epoll().ok_or(Errno::EINVAL)?;
    let deadline = (timeout >= 0).then(|| crate::time::monotonic_ns() + timeout as u64 * 1_000_000);
    let process = ctx.process.clone();
    let ready = ep.wait(max as usize, deadline, || process.has_pending_signal())?;
    let mut out = alloc::vec::Vec::with_capacity(ready.len() * 12);
    for (ev, data) in &ready {
        out.extend_from_slice(&ev.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
    }
    ctx.mem().write(events, &out)?;
    Ok(ready.len() as u64)
}

/// epoll_pwait(2) (the signal mask argument is not applied).
pub fn sys_epoll_pwait(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_epoll_wait(ctx, a)
}
