//! Resource syscalls: limits (getrlimit, setrlimit, prlimit64) and usage (getrusage).

use super::SyscallCtx;
use crate::error::{Errno, SysResult};

use crate::process::limits::{self, Limit};

/// prlimit64(2), in Linux's order: the new limits are read, the target found and the
/// caller's right to it checked, then the resource and the change (do_prlimit), and the
/// old limits written last.
pub fn sys_prlimit64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (pid, resource, new_addr, old_addr) = (a[0] as i32, a[1], a[2], a[3]);
    let mem = ctx.mem();
    let new = if new_addr != 0 {
        Some(Limit { soft: mem.read_u64(new_addr)?, hard: mem.read_u64(new_addr + 8)? })
    } else {
        None
    };
    let target = match pid {
        0 => ctx.process.clone(),
        p => {
            ctx.process.global_for(p).and_then(crate::process::registry::get).ok_or(Errno::ESRCH)?
        }
    };
    let me = ctx.process.creds();
    if !alloc::sync::Arc::ptr_eq(&target, ctx.process) && me.euid != 0 {
        // Linux's check_prlimit_permission: the caller's real IDs are all of the target's.
        let them = target.creds();
        let same_user = [them.euid, them.suid, them.ruid].iter().all(|&u| u == me.ruid);
        let same_group = [them.egid, them.sgid, them.rgid].iter().all(|&g| g == me.rgid);
        if !(same_user && same_group) {
            return Err(Errno::EPERM);
        }
    }
    let resource =
        usize::try_from(resource).ok().filter(|&r| r < limits::COUNT).ok_or(Errno::EINVAL)?;
    let old = target.limit(resource);
    if let Some(new) = new {
        if new.soft > new.hard {
            return Err(Errno::EINVAL);
        }
        let privileged = me.euid == 0;
        if resource == limits::NOFILE && new.hard > crate::fs::fd_table::NR_OPEN.get() as u64 {
            return Err(Errno::EPERM);
        }
        target.set_limit(resource, new, privileged)?;
        if resource == limits::CPU {
            // The timer task now has a CPU-time limit to watch.
            crate::process::itimer::timers_changed();
        }
    }
    if old_addr != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&old.soft.to_le_bytes());
        b[8..].copy_from_slice(&old.hard.to_le_bytes());
        mem.write(old_addr, &b)?;
    }
    Ok(0)
}

/// getrlimit(2).
pub fn sys_getrlimit(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_prlimit64(ctx, [0, a[0], 0, a[1], 0, 0])
}

/// setrlimit(2).
pub fn sys_setrlimit(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_prlimit64(ctx, [0, a[0], a[1], 0, 0, 0])
}

/// `struct rusage` with the CPU times filled in (the other fields are not kept).
pub fn rusage_bytes(t: ostd::task::CpuTime) -> [u8; 144] {
    let mut b = [0u8; 144];
    for (at, ns) in [(0, t.user_ns), (16, t.system_ns())] {
        b[at..at + 16].copy_from_slice(&super::decode::timeval_bytes(crate::time::ns_timespec(ns)));
    }
    b
}

/// getrusage(2): RUSAGE_SELF, RUSAGE_CHILDREN (reaped ones) and RUSAGE_THREAD.
pub fn sys_getrusage(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let usage = match a[0] as i32 {
        0 => ctx.process.cpu_time(),
        -1 => ctx.process.children_cpu_time(),
        1 => ostd::task::current().cpu_time(),
        _ => return Err(Errno::EINVAL),
    };
    ctx.mem().write(a[1], &rusage_bytes(usage))?;
    Ok(0)
}
