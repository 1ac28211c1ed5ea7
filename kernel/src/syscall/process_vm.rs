//! process_vm_readv(2) and process_vm_writev(2): copying between the caller's memory and
//! another process's, under ptrace's access rule.

use super::SyscallCtx;
use super::fs::iovecs;
use crate::error::{Errno, SysResult};
use crate::process::ptrace::{control, remote_mem};
use crate::process::registry;

const PAGE: u64 = ostd::mm::PAGE_SIZE as u64;

/// process_vm_readv(2).
pub fn sys_process_vm_readv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    transfer(ctx, a, false)
}

/// process_vm_writev(2).
pub fn sys_process_vm_writev(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    transfer(ctx, a, true)
}

/// Copies across the two iovec lists in order, a page at most at a time, and returns how
/// many bytes moved; it stops at the first fault on either side (EFAULT if nothing moved),
/// as Linux's process_vm_rw does.
fn transfer(ctx: &mut SyscallCtx, a: [u64; 6], write: bool) -> SysResult<u64> {
    let (pid, local, local_count, remote, remote_count, flags) =
        (a[0] as i32, a[1], a[2], a[3], a[4], a[5]);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let local = iovecs(ctx, local, local_count)?;
    let remote = iovecs(ctx, remote, remote_count)?;
    if local.iter().all(|&(_, len)| len == 0) {
        return Ok(0);
    }
    let target = ctx
        .process
        .global_for(pid)
        .filter(|_| pid > 0)
        .and_then(registry::get)
        .ok_or(Errno::ESRCH)?;
    if !control::may_access(ctx.process, &target) {
        return Err(Errno::EPERM);
    }
    let space = target.vm().space().clone();
    let mem = ctx.mem();
    let mut local = local.into_iter().filter(|&(_, len)| len > 0);
    let mut remote = remote.into_iter().filter(|&(_, len)| len > 0);
    let (mut here, mut there) = (local.next(), remote.next());
    let mut moved = 0u64;
    let mut buf = [0u8; ostd::mm::PAGE_SIZE];
    while let (Some((lbase, llen)), Some((rbase, rlen))) = (here, there) {
        // Within one remote page, and within both elements.
        let room = (PAGE - rbase % PAGE) as usize;
        let n = room.min(llen).min(rlen);
        let step = if write {
            mem.read(lbase, &mut buf[..n])
                .and_then(|()| remote_mem::write_page_as_owner(&space, rbase, &buf[..n]))
        } else {
            remote_mem::read(&space, rbase, &mut buf[..n])
                .map_err(|_| Errno::EFAULT)
                .and_then(|()| mem.write(lbase, &buf[..n]))
        };
        if let Err(e) = step {
            return if moved == 0 { Err(e) } else { Ok(moved) };
        }
        moved += n as u64;
        here = if n < llen { Some((lbase + n as u64, llen - n)) } else { local.next() };
        there = if n < rlen { Some((rbase + n as u64, rlen - n)) } else { remote.next() };
    }
    Ok(moved)
}
