//! Timer syscalls: the interval timers (getitimer, setitimer, alarm) and the POSIX timers
//! (timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete).

use super::SyscallCtx;
use super::decode::{interval_pair_bytes, read_timespec, read_timeval};
use crate::error::{Errno, SysResult};
use crate::time::timespec_ns;

const ITIMER_REAL: u64 = 0;

/// The clock an interval timer counts on, now: monotonic time for ITIMER_REAL, the
/// process's user CPU time for ITIMER_VIRTUAL, its total CPU time for ITIMER_PROF.
fn itimer_clock(process: &crate::process::Process, which: u64) -> u64 {
    match which {
        ITIMER_REAL => crate::time::monotonic_ns(),
        1 => process.cpu_time().user_ns,
        _ => process.cpu_time().total_ns,
    }
}

fn itimer_get(process: &crate::process::Process, which: u64) -> Option<(u64, u64)> {
    match which {
        ITIMER_REAL => *process.real_timer.lock(),
        w => process.cpu_timers.lock()[w as usize - 1],
    }
}

fn itimer_set(process: &crate::process::Process, which: u64, value: Option<(u64, u64)>) {
    match which {
        ITIMER_REAL => *process.real_timer.lock() = value,
        w => process.cpu_timers.lock()[w as usize - 1] = value,
    }
}

fn itimerval_of(process: &crate::process::Process, which: u64) -> [u8; 32] {
    let (left, interval) = match itimer_get(process, which) {
        Some((at, interval)) => (at.saturating_sub(itimer_clock(process, which)).max(1), interval),
        None => (0, 0),
    };
    interval_pair_bytes(interval, left, true)
}

/// setitimer(2): ITIMER_REAL (SIGALRM), ITIMER_VIRTUAL (SIGVTALRM, user CPU time) and
/// ITIMER_PROF (SIGPROF, all CPU time).
pub fn sys_setitimer(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let which = a[0];
    if which > 2 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let new = if a[1] != 0 {
        let interval = timespec_ns(read_timeval(&mem, a[1])?);
        let value = timespec_ns(read_timeval(&mem, a[1] + 16)?);
        Some((value, interval))
    } else {
        None
    };
    let old = itimerval_of(ctx.process, which);
    if let Some((value, interval)) = new {
        let armed = (value > 0).then(|| (itimer_clock(ctx.process, which).saturating_add(value), interval));
        itimer_set(ctx.process, which, armed);
    }
    if a[2] != 0 {
        mem.write(a[2], &old)?;
    }
    Ok(0)
}

/// getitimer(2).
pub fn sys_getitimer(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] > 2 {
        return Err(Errno::EINVAL);
    }
    let v = itimerval_of(ctx.process, a[0]);
    ctx.mem().write(a[1], &v)?;
    Ok(0)
}

/// alarm(2).
pub fn sys_alarm(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let now = crate::time::monotonic_ns();
    let mut t = ctx.process.real_timer.lock();
    let left = t.map_or(0, |(at, _)| at.saturating_sub(now).div_ceil(1_000_000_000).max(1));
    let secs = a[0] as u32 as u64;
    *t = (secs > 0).then(|| (now + secs * 1_000_000_000, 0));
    Ok(left)
}

/// The clocks timer_create accepts.
fn timer_clock(clock: u64) -> SysResult<u32> {
    match clock {
        0 | 1 | 2 | 3 | 7 | 8 | 9 | 11 => Ok(clock as u32),
        _ => Err(Errno::EINVAL),
    }
}

/// timer_create(2).
pub fn sys_timer_create(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::process::posix_timer::{MAX_TIMERS, Notify, PosixTimer};
    const SIGEV_SIGNAL: u32 = 0;
    const SIGEV_NONE: u32 = 1;
    const SIGEV_THREAD_ID: u32 = 4;
    let clock = timer_clock(a[0])?;
    let mem = ctx.mem();
    let mut timers = ctx.process.posix_timers.lock();
    let id = (0..).find(|id| !timers.by_id.contains_key(id)).expect("fewer than i32::MAX timers");
    let notify = if a[1] == 0 {
        Notify::Process { signo: crate::process::signal::SIGALRM, value: id as u64 }
    } else {
        let value = mem.read_u64(a[1])?;
        let signo = mem.read_u32(a[1] + 8)?;
        let how = mem.read_u32(a[1] + 12)?;
        let valid_signal = (1..=crate::process::signal::NSIG).contains(&signo);
        match how {
            SIGEV_NONE => Notify::Nothing,
            SIGEV_SIGNAL if valid_signal => Notify::Process { signo, value },
            SIGEV_THREAD_ID if valid_signal => {
                let tid = mem.read_u32(a[1] + 16)? as i32;
                if crate::process::table::thread_of(ctx.process.pid(), tid).is_none() {
                    return Err(Errno::EINVAL);
                }
                Notify::Thread { signo, value, tid }
            }
            _ => return Err(Errno::EINVAL),
        }
    };
    if timers.by_id.len() >= MAX_TIMERS {
        return Err(Errno::EAGAIN);
    }
    mem.write_u32(a[2], id as u32)?;
    timers.by_id.insert(id, PosixTimer { clock, notify, deadline: None, interval: 0, overrun: 0, signal_pending: false });
    Ok(0)
}

/// timer_settime(2).
pub fn sys_timer_settime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const TIMER_ABSTIME: u64 = 1;
    let (id, flags) = (a[0] as i32, a[1]);
    if flags & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let interval = timespec_ns(read_timespec(&mem, a[2])?);
    let value = timespec_ns(read_timespec(&mem, a[2] + 16)?);
    let now = crate::time::monotonic_ns();
    let mut timers = ctx.process.posix_timers.lock();
    let t = timers.by_id.get_mut(&id).ok_or(Errno::EINVAL)?;
    let old = interval_pair_bytes(t.interval, t.deadline.map_or(0, |d| d.saturating_sub(now).max(1)), false);
    t.interval = interval;
    t.deadline = match (value, flags & TIMER_ABSTIME != 0) {
        (0, _) => None,
        (v, false) => Some(now.saturating_add(v)),
        (v, true) if matches!(t.clock, 0 | 8 | 11) => Some(crate::time::realtime_to_monotonic_ns(i128::from(v))),
        (v, true) => Some(v),
    };
    t.overrun = 0;
    drop(timers);
    if a[3] != 0 {
        mem.write(a[3], &old)?;
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn sys_timer_gettime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let now = crate::time::monotonic_ns();
    let bytes = {
        let timers = ctx.process.posix_timers.lock();
        let t = timers.by_id.get(&(a[0] as i32)).ok_or(Errno::EINVAL)?;
        interval_pair_bytes(t.interval, t.deadline.map_or(0, |d| d.saturating_sub(now).max(1)), false)
    };
    ctx.mem().write(a[1], &bytes)?;
    Ok(0)
}

/// timer_getoverrun(2).
pub fn sys_timer_getoverrun(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.posix_timers.lock().by_id.get(&(a[0] as i32)).map(|t| u64::from(t.overrun)).ok_or(Errno::EINVAL)
}

/// timer_delete(2).
pub fn sys_timer_delete(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.posix_timers.lock().by_id.remove(&(a[0] as i32)).map(|_| 0).ok_or(Errno::EINVAL)
}
