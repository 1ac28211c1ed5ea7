//! Timer syscalls: the interval timers (getitimer, setitimer, alarm) and the POSIX timers
//! (timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete), and timerfd.
//! The timers live in `process::itimer`, `process::posix_timer` and `fs::timerfd`.

use super::SyscallCtx;
use super::decode::{interval_pair_bytes, read_timespec, read_timeval};
use crate::error::{Errno, SysResult};
use crate::fs::OpenFlags;
use crate::fs::timerfd::{self, TimerFd};
use crate::process::itimer;
use crate::process::posix_timer::{self, Notify};
use crate::time::timespec_ns;

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
    let (left, interval) = itimer::set(ctx.process, which, new);
    if a[2] != 0 {
        mem.write(a[2], &interval_pair_bytes(interval, left, true))?;
    }
    Ok(0)
}

/// getitimer(2).
pub fn sys_getitimer(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] > 2 {
        return Err(Errno::EINVAL);
    }
    let (left, interval) = itimer::read(ctx.process, a[0]);
    ctx.mem().write(a[1], &interval_pair_bytes(interval, left, true))?;
    Ok(0)
}

/// alarm(2).
pub fn sys_alarm(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    Ok(itimer::alarm(ctx.process, a[0] as u32 as u64))
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
    const SIGEV_SIGNAL: u32 = 0;
    const SIGEV_NONE: u32 = 1;
    const SIGEV_THREAD_ID: u32 = 4;
    let clock = timer_clock(a[0])?;
    let mem = ctx.mem();
    // `struct sigevent`; none: SIGALRM to the process, with the timer's ID as value.
    let notify = if a[1] == 0 {
        None
    } else {
        let value = mem.read_u64(a[1])?;
        let signo = mem.read_u32(a[1] + 8)?;
        let how = mem.read_u32(a[1] + 12)?;
        let valid_signal = (1..=crate::process::signal::NSIG).contains(&signo);
        Some(match how {
            SIGEV_NONE => Notify::Nothing,
            SIGEV_SIGNAL if valid_signal => Notify::Process { signo, value },
            SIGEV_THREAD_ID if valid_signal => {
                let tid = mem.read_u32(a[1] + 16)? as i32;
                if crate::process::registry::thread_of(ctx.process.pid(), tid).is_none() {
                    return Err(Errno::EINVAL);
                }
                Notify::Thread { signo, value, tid }
            }
            _ => return Err(Errno::EINVAL),
        })
    };
    posix_timer::create(ctx.process, clock, notify, |id| mem.write_u32(a[2], id as u32))?;
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
    let (old_interval, old_left) =
        posix_timer::settime(ctx.process, id, interval, value, flags & TIMER_ABSTIME != 0)?;
    if a[3] != 0 {
        mem.write(a[3], &interval_pair_bytes(old_interval, old_left, false))?;
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn sys_timer_gettime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (interval, left) = posix_timer::gettime(ctx.process, a[0] as i32)?;
    ctx.mem().write(a[1], &interval_pair_bytes(interval, left, false))?;
    Ok(0)
}

/// timer_getoverrun(2).
pub fn sys_timer_getoverrun(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    posix_timer::overrun(ctx.process, a[0] as i32).map(u64::from)
}

/// timer_delete(2).
pub fn sys_timer_delete(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    posix_timer::delete(ctx.process, a[0] as i32).map(|()| 0)
}

/// The timerfd behind descriptor `fd`: EBADF if none, EINVAL if it is another kind of file.
fn timerfd_of(ctx: &SyscallCtx, fd: u64) -> SysResult<alloc::sync::Arc<dyn crate::fs::FileLike>> {
    let file = ctx.process.file(fd as i32)?;
    if file.as_any().is_some_and(|any| any.is::<TimerFd>()) { Ok(file) } else { Err(Errno::EINVAL) }
}

fn with_timerfd<R>(file: &dyn crate::fs::FileLike, f: impl FnOnce(&TimerFd) -> R) -> R {
    f(file.as_any().and_then(|any| any.downcast_ref::<TimerFd>()).expect("checked by timerfd_of"))
}

/// timerfd_create(2).
pub fn sys_timerfd_create(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const TFD_NONBLOCK: u64 = 0o4000;
    const TFD_CLOEXEC: u64 = 0o2000000;
    let (clock, flags) = (a[0], a[1]);
    if flags & !(TFD_NONBLOCK | TFD_CLOEXEC) != 0 || !timerfd::valid_clock(clock) {
        return Err(Errno::EINVAL);
    }
    let file_flags =
        if flags & TFD_NONBLOCK != 0 { OpenFlags::NONBLOCK } else { OpenFlags::empty() };
    let file = TimerFd::new(clock as u32, file_flags);
    ctx.process.install_file(file, flags & TFD_CLOEXEC != 0).map(|fd| fd as u64)
}

/// timerfd_settime(2). TFD_TIMER_CANCEL_ON_SET is accepted; the realtime clock is never
/// set here, so it never cancels.
pub fn sys_timerfd_settime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const TFD_TIMER_ABSTIME: u64 = 1;
    const TFD_TIMER_CANCEL_ON_SET: u64 = 2;
    let flags = a[1];
    let mem = ctx.mem();
    let interval = timespec_ns(read_timespec(&mem, a[2])?);
    let value = timespec_ns(read_timespec(&mem, a[2] + 16)?);
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = timerfd_of(ctx, a[0])?;
    let (old_interval, old_left) =
        with_timerfd(&*file, |t| t.set(interval, value, flags & TFD_TIMER_ABSTIME != 0));
    if a[3] != 0 {
        mem.write(a[3], &interval_pair_bytes(old_interval, old_left, false))?;
    }
    Ok(0)
}

/// timerfd_gettime(2).
pub fn sys_timerfd_gettime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let file = timerfd_of(ctx, a[0])?;
    let (interval, left) = with_timerfd(&*file, TimerFd::get);
    ctx.mem().write(a[1], &interval_pair_bytes(interval, left, false))?;
    Ok(0)
}
