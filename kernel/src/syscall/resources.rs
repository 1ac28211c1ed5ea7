//! Resource syscalls: limits (getrlimit, setrlimit, prlimit64) and usage (getrusage).

use super::SyscallCtx;
use crate::error::{Errno, SysResult};

const RLIM_INFINITY: u64 = u64::MAX;

fn rlimit(resource: u64) -> SysResult<(u64, u64)> {
    Ok(match resource {
        3 => (8 << 20, RLIM_INFINITY), // STACK
        6 => (4096, 4096),             // NPROC
        4 => (0, RLIM_INFINITY),       // CORE
        8 => (8 << 20, 8 << 20),       // MEMLOCK
        0..=15 => (RLIM_INFINITY, RLIM_INFINITY),
        _ => return Err(Errno::EINVAL),
    })
}

const RLIMIT_NOFILE: u64 = 7;

/// prlimit64(2): RLIMIT_NOFILE is kept and enforced (the descriptor table holds it); the
/// other limits are reported and changes to them accepted but not enforced.
pub fn sys_prlimit64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::fs::fd_table::NR_OPEN;
    let (pid, resource, new, old) = (a[0] as i32, a[1], a[2], a[3]);
    let target = match pid {
        0 => ctx.process.clone(),
        p => crate::process::registry::get(p).ok_or(Errno::ESRCH)?,
    };
    let (cur, max) = if resource == RLIMIT_NOFILE {
        let (soft, hard) = target.with_files(|files| files.limit());
        (soft as u64, hard as u64)
    } else {
        rlimit(resource)?
    };
    let mem = ctx.mem();
    let requested =
        if new != 0 { Some((mem.read_u64(new)?, mem.read_u64(new + 8)?)) } else { None };
    if let Some((ncur, nmax)) = requested {
        if ncur > nmax {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE {
            let root = ctx.process.creds().euid == 0;
            if nmax > NR_OPEN.get() as u64 || (nmax > max && !root) {
                return Err(Errno::EPERM);
            }
            target.with_files(|files| files.set_limit(ncur as usize, nmax as usize));
        }
    }
    if old != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.to_le_bytes());
        b[8..].copy_from_slice(&max.to_le_bytes());
        mem.write(old, &b)?;
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
