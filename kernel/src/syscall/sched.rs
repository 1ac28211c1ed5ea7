//! Scheduling syscalls: sched_yield, sched_{get,set}affinity, sched_{get,set}scheduler,
//! sched_{get,set}param, sched_get_priority_{min,max}, sched_rr_get_interval, and the nice
//! value (getpriority, setpriority). There is one CPU and one policy, SCHED_OTHER.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::Process;

/// sched_yield(2).
pub fn sys_sched_yield(_ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    ostd::task::yield_now();
    Ok(0)
}

/// sched_getaffinity(2): one CPU.
pub fn sys_sched_getaffinity(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let size = a[1] as usize;
    if size < 8 || !size.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    affinity_target(ctx, a[0])?;
    ctx.mem().write_u64(a[2], 1)?;
    Ok(8)
}

/// sched_setaffinity(2): the mask must include the one CPU there is.
pub fn sys_sched_setaffinity(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    affinity_target(ctx, a[0])?;
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    let mut first = [0u8];
    ctx.mem().read(a[2], &mut first)?;
    if first[0] & 1 == 0 { Err(Errno::EINVAL) } else { Ok(0) }
}

/// The task sched_{get,set}affinity name: unlike the other sched_* calls, Linux does not
/// check for a negative pid first, so one is simply not found (ESRCH).
fn affinity_target(ctx: &SyscallCtx, pid: u64) -> SysResult<()> {
    if (pid as i32) < 0 { Err(Errno::ESRCH) } else { scheduling_target(ctx, pid).map(drop) }
}

/// The process a sched_* call names (0 = the caller); ESRCH if there is none.
fn scheduling_target(ctx: &SyscallCtx, pid: u64) -> SysResult<alloc::sync::Arc<Process>> {
    match pid as i32 {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(ctx.process.clone()),
        p => {
            let global = ctx.process.global_for(p).ok_or(Errno::ESRCH)?;
            crate::process::registry::get(global)
                .or_else(|| crate::process::registry::find_thread(global).map(|(p, _)| p))
                .ok_or(Errno::ESRCH)
        }
    }
}

const SCHED_OTHER: u64 = 0;
const SCHED_FIFO: u64 = 1;
const SCHED_RR: u64 = 2;
const SCHED_BATCH: u64 = 3;
const SCHED_IDLE: u64 = 5;

/// SCHED_RESET_ON_FORK, or-ed into a policy.
const SCHED_RESET_ON_FORK: u64 = 0x4000_0000;

/// sched_getscheduler(2): the policy set (with SCHED_RESET_ON_FORK if asked).
pub fn sys_sched_getscheduler(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let attrs = scheduling_target(ctx, a[0])?.attrs();
    let reset = if attrs.sched_reset_on_fork { SCHED_RESET_ON_FORK } else { 0 };
    Ok(u64::from(attrs.sched_policy) | reset)
}

/// sched_getparam(2): priority 0, as for every task under a normal policy.
pub fn sys_sched_getparam(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    scheduling_target(ctx, a[0])?;
    ctx.mem().write_u32(a[1], 0)?;
    Ok(0)
}

/// sched_setscheduler(2): only the normal policies (priority 0) are offered; real-time
/// ones are refused with EPERM, as for a task without CAP_SYS_NICE (nothing here could run
/// a task ahead of the others).
pub fn sys_sched_setscheduler(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_scheduler(ctx, a[0], Some(a[1]), a[2])
}

/// sched_setparam(2): the priority under the current policy.
pub fn sys_sched_setparam(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_scheduler(ctx, a[0], None, a[1])
}

/// Linux's do_sched_setscheduler and __sched_setscheduler, in order: the argument (EINVAL,
/// EFAULT), the target (ESRCH), the policy and priority (EINVAL), then the right to change
/// it (EPERM: another user's task, leaving SCHED_IDLE without CAP_SYS_NICE, real time).
fn set_scheduler(ctx: &SyscallCtx, pid: u64, policy: Option<u64>, param: u64) -> SysResult<u64> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = ctx.mem().read_u32(param)? as i32;
    let target = scheduling_target(ctx, pid)?;
    let current = target.attrs();
    let reset = policy.map(|p| p & SCHED_RESET_ON_FORK != 0);
    let policy = policy.map_or(u64::from(current.sched_policy), |p| p & !SCHED_RESET_ON_FORK);
    match policy {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if priority == 0 => {}
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => return Err(Errno::EINVAL),
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&priority) => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let me = ctx.process.creds();
    if me.euid != 0 {
        let theirs = target.creds();
        if me.euid != theirs.euid && me.euid != theirs.ruid {
            return Err(Errno::EPERM);
        }
        // Leaving SCHED_IDLE takes CAP_SYS_NICE (RLIMIT_NICE is 0).
        if u64::from(current.sched_policy) == SCHED_IDLE && policy != SCHED_IDLE {
            return Err(Errno::EPERM);
        }
    }
    target.update_attrs(|a| {
        a.sched_policy = policy as u32;
        if let Some(reset) = reset {
            a.sched_reset_on_fork = reset;
        }
    });
    Ok(0)
}

/// sched_get_priority_max(2).
pub fn sys_sched_get_priority_max(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    match a[0] {
        SCHED_FIFO | SCHED_RR => Ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_get_priority_min(2).
pub fn sys_sched_get_priority_min(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    match a[0] {
        SCHED_FIFO | SCHED_RR => Ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_rr_get_interval(2): the scheduler's time slice (one timer tick).
pub fn sys_sched_rr_get_interval(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    scheduling_target(ctx, a[0])?;
    let slice_ns = 1_000_000_000 / u64::from(ostd::time::hz());
    super::decode::write_timespec(
        &ctx.mem(),
        a[1],
        crate::fs::node::Timespec { sec: 0, nsec: slice_ns as i64 },
    )?;
    Ok(0)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

/// The processes getpriority/setpriority name.
fn priority_targets(
    ctx: &SyscallCtx,
    which: u64,
    who: u64,
) -> SysResult<alloc::vec::Vec<alloc::sync::Arc<crate::process::Process>>> {
    use crate::process::registry;
    let who = who as i32;
    let all = registry::all().into_iter().filter(|p| !p.is_zombie());
    let targets: alloc::vec::Vec<_> = match which {
        PRIO_PROCESS if who == 0 => alloc::vec![ctx.process.clone()],
        PRIO_PROCESS => {
            let global = ctx.process.global_for(who);
            all.filter(|p| Some(p.pid()) == global).collect()
        }
        PRIO_PGRP => {
            let pgrp =
                if who == 0 { Some(ctx.process.pgid()) } else { ctx.process.global_for(who) };
            all.filter(|p| Some(p.pgid()) == pgrp).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { ctx.process.creds().ruid } else { who as u32 };
            all.filter(|p| p.creds().ruid == uid).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if targets.is_empty() { Err(Errno::ESRCH) } else { Ok(targets) }
}

/// getpriority(2): returns 20 - nice of the highest-priority target (the raw syscall's
/// convention; glibc converts it back to a nice value).
pub fn sys_getpriority(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nice = priority_targets(ctx, a[0], a[1])?.iter().map(|p| p.nice()).min().unwrap_or(0);
    Ok((20 - nice) as u64)
}

/// setpriority(2): raising priority (lowering nice) needs root.
pub fn sys_setpriority(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nice = (a[2] as i32).clamp(-20, 19);
    let targets = priority_targets(ctx, a[0], a[1])?;
    let creds = ctx.process.creds();
    for p in &targets {
        let theirs = p.creds();
        if creds.euid != 0 && creds.euid != theirs.euid && creds.euid != theirs.ruid {
            return Err(Errno::EPERM);
        }
        if creds.euid != 0 && nice < p.nice() {
            return Err(Errno::EACCES);
        }
    }
    for p in targets {
        p.set_nice(nice);
    }
    Ok(0)
}
