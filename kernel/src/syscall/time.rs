//! Clock syscalls: clock_gettime/settime/getres, gettimeofday, time, times, nanosleep and
//! clock_nanosleep. The clocks themselves are `crate::time`.

use super::SyscallCtx;
use super::decode::{read_timespec, write_timespec, write_timeval};
use crate::error::{Errno, SysResult};
use crate::fs::node::Timespec;
use crate::time::ns_timespec;

/// clock_gettime(2).
pub fn sys_clock_gettime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = match a[0] as i32 {
        0 | 5 | 8 | 11 => crate::time::realtime(), // REALTIME, _COARSE, _ALARM, TAI
        1 | 4 | 6 | 7 | 9 => crate::time::monotonic(), // MONOTONIC, _RAW, _COARSE, BOOTTIME, _ALARM
        2 => ns_timespec(ctx.process.cpu_time().total_ns),
        3 => ns_timespec(ostd::task::current().cpu_time().total_ns),
        id if id < 0 => ns_timespec(cpu_clock(ctx, id)?),
        _ => return Err(Errno::EINVAL),
    };
    write_timespec(&ctx.mem(), a[1], t)?;
    Ok(0)
}

/// Reads a CPU-time clock named by a negative clock ID, as glibc builds them for
/// clock_getcpuclockid and pthread_getcpuclockid: `!pid << 3 | thread << 2 | kind`, where
/// kind is PROF (0, user+system), VIRT (1, user) or SCHED (2, total).
fn cpu_clock(ctx: &SyscallCtx, id: i32) -> SysResult<u64> {
    let kind = id & 3;
    let thread = id & 4 != 0;
    let pid = !(id >> 3);
    if kind == 3 {
        return Err(Errno::EINVAL);
    }
    let time = if thread {
        let task = if pid == 0 {
            Some(ostd::task::current())
        } else {
            crate::process::registry::task_of_thread(pid)
        };
        task.ok_or(Errno::EINVAL)?.cpu_time()
    } else {
        let p =
            if pid == 0 { Some(ctx.process.clone()) } else { crate::process::registry::get(pid) };
        p.ok_or(Errno::EINVAL)?.cpu_time()
    };
    Ok(if kind == 1 { time.user_ns } else { time.total_ns })
}

/// clock_settime(2): CLOCK_REALTIME only (the other clocks cannot be set: EINVAL), by root.
pub fn sys_clock_settime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        return Err(Errno::EINVAL);
    }
    let t = read_timespec(&ctx.mem(), a[1])?;
    if t.sec >= crate::time::clock::SETTOD_SEC_MAX {
        return Err(Errno::EINVAL);
    }
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    crate::time::set_realtime_ns(t.sec.saturating_mul(1_000_000_000).saturating_add(t.nsec));
    crate::time::ntp::clear();
    Ok(0)
}

/// clock_getres(2).
pub fn sys_clock_getres(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let id = a[0] as i32;
    if id < 0 {
        cpu_clock(ctx, id)?;
    } else if id > 11 || id == 10 {
        return Err(Errno::EINVAL);
    }
    if a[1] != 0 {
        write_timespec(&ctx.mem(), a[1], Timespec { sec: 0, nsec: 1 })?;
    }
    Ok(0)
}

/// gettimeofday(2).
pub fn sys_gettimeofday(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        write_timeval(&ctx.mem(), a[0], crate::time::realtime())?;
    }
    if a[1] != 0 {
        let (west, dst) = crate::time::clock::timezone();
        let mut tz = [0u8; 8];
        tz[..4].copy_from_slice(&west.to_le_bytes());
        tz[4..].copy_from_slice(&dst.to_le_bytes());
        ctx.mem().write(a[1], &tz)?;
    }
    Ok(0)
}

/// settimeofday(2), in Linux's order: the time is read (EFAULT) and its microseconds
/// checked (EINVAL), the timezone read, the time's range checked, then the caller's right
/// (EPERM), the timezone's range (±15 hours), and the clock set.
pub fn sys_settimeofday(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mem = ctx.mem();
    let time = if a[0] != 0 {
        let (sec, usec) = (mem.read_u64(a[0])? as i64, mem.read_u64(a[0] + 8)? as i64);
        if !(0..=1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Some((sec, usec * 1000))
    } else {
        None
    };
    let zone = if a[1] != 0 {
        let mut tz = [0u8; 8];
        mem.read(a[1], &mut tz)?;
        let field = |i: usize| i32::from_le_bytes([tz[i], tz[i + 1], tz[i + 2], tz[i + 3]]);
        Some((field(0), field(4)))
    } else {
        None
    };
    if let Some((sec, nsec)) = time
        && (sec < 0 || nsec >= 1_000_000_000 || sec >= crate::time::clock::SETTOD_SEC_MAX)
    {
        return Err(Errno::EINVAL);
    }
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    if let Some((west, dst)) = zone {
        crate::time::clock::set_timezone(west, dst)?;
    }
    if let Some((sec, nsec)) = time {
        crate::time::set_realtime_ns(sec * 1_000_000_000 + nsec);
        crate::time::ntp::clear();
    }
    Ok(0)
}

/// adjtimex(2): the NTP state of CLOCK_REALTIME, read (modes 0) or changed by root.
pub fn sys_adjtimex(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    adjtime_at(ctx, a[0], 0)
}

/// clock_adjtime(2): the struct is read first (EFAULT); then adjtimex for CLOCK_REALTIME,
/// EOPNOTSUPP for the clocks that cannot be adjusted, EINVAL for an unknown one.
pub fn sys_clock_adjtime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    adjtime_at(ctx, a[1], a[0] as i32)
}

/// Reads a `struct timex` at `addr` (EFAULT), adjusts `clock`, and writes it back.
fn adjtime_at(ctx: &SyscallCtx, addr: u64, clock: i32) -> SysResult<u64> {
    use crate::time::ntp::{TIMEX_SIZE, Timex};
    let mem = ctx.mem();
    let mut raw = [0u8; TIMEX_SIZE];
    mem.read(addr, &mut raw)?;
    match clock {
        0 => {}
        1..=9 | 11 => return Err(Errno::ENOTSUP),
        _ => return Err(Errno::EINVAL),
    }
    let mut tx = Timex::parse(&raw);
    let state = crate::time::ntp::adjust(&mut tx, ctx.process.creds().euid == 0)?;
    tx.store(&mut raw);
    mem.write(addr, &raw)?;
    Ok(state as u64)
}

/// time(2).
pub fn sys_time(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let sec = crate::time::realtime().sec as u64;
    if a[0] != 0 {
        ctx.mem().write_u64(a[0], sec)?;
    }
    Ok(sec)
}

/// Clock ticks (USER_HZ) in `ns`.
fn clock_ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

/// times(2): CPU times in clock ticks; returns the ticks since boot.
pub fn sys_times(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let (me, children) = (ctx.process.cpu_time(), ctx.process.children_cpu_time());
        let mut b = [0u8; 32];
        for (i, ns) in [me.user_ns, me.system_ns(), children.user_ns, children.system_ns()]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&clock_ticks(ns).to_le_bytes());
        }
        ctx.mem().write(a[0], &b)?;
    }
    Ok(clock_ticks(crate::time::monotonic_ns()))
}

/// Sleeps until monotonic `deadline` plus the caller's timer slack (Linux's nanosleep timer
/// ends there, unless another timer fires first); EINTR if a signal comes first.
/// A tracer's PTRACE_INTERRUPT stops the sleeper where it is, and the sleep goes on to the
/// same deadline (Linux restarts it with the time left).
fn sleep_until_ns(ctx: &mut SyscallCtx, deadline: u64) -> SysResult<()> {
    let deadline = deadline.saturating_add(ctx.process.attrs().applied_timer_slack_ns());
    let nr = ctx.user.context().syscall_number();
    loop {
        let process = ctx.process.clone();
        match crate::time::sleep_until_ns(deadline, || process.has_pending_signal()) {
            Err(Errno::EINTR)
                if crate::process::ptrace::stop::trap_in_sleep(
                    ctx.process,
                    ctx.thread,
                    ctx.user,
                    nr,
                ) => {}
            result => return result,
        }
    }
}

/// nanosleep(2).
pub fn sys_nanosleep(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = read_timespec(&ctx.mem(), a[0])?;
    let ns = crate::time::timespec_ns(t);
    let deadline = crate::time::monotonic_ns().saturating_add(ns);
    sleep_telling_time_left(ctx, deadline, a[1])
}

/// Sleeps until `deadline` ([`sleep_until_ns`]); if a signal cuts it short and `remain` is
/// not 0, writes the time left there, as nanosleep and a relative clock_nanosleep do.
fn sleep_telling_time_left(ctx: &mut SyscallCtx, deadline: u64, remain: u64) -> SysResult<u64> {
    let result = sleep_until_ns(ctx, deadline);
    if result.is_err() && remain != 0 {
        let left = deadline.saturating_sub(crate::time::monotonic_ns());
        write_timespec(&ctx.mem(), remain, ns_timespec(left))?;
    }
    result.map(|()| 0)
}

/// clock_nanosleep(2).
pub fn sys_clock_nanosleep(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const TIMER_ABSTIME: u64 = 1;
    let clock = a[0] as i32;
    if !matches!(clock, 0 | 1 | 7) {
        return Err(Errno::EINVAL);
    }
    let t = read_timespec(&ctx.mem(), a[2])?;
    let ns = crate::time::timespec_ns(t);
    let absolute = a[1] & TIMER_ABSTIME != 0;
    let deadline = if absolute {
        let now_clock = if clock == 0 { crate::time::realtime() } else { crate::time::monotonic() };
        let now_ns = (now_clock.sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(now_clock.nsec as u64);
        crate::time::monotonic_ns().saturating_add(ns.saturating_sub(now_ns))
    } else {
        crate::time::monotonic_ns().saturating_add(ns)
    };
    // Only a relative sleep cut short tells the time left.
    sleep_telling_time_left(ctx, deadline, if absolute { 0 } else { a[3] })
}
