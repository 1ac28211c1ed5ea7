//! Time, identity of the system, limits, randomness, scheduling and polling syscalls.

use core::sync::atomic::Ordering;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::node::Timespec;

fn write_timespec(ctx: &SyscallCtx, addr: u64, t: Timespec) -> SysResult<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..].copy_from_slice(&t.nsec.to_le_bytes());
    ctx.mem().write(addr, &b)
}

fn read_timespec(ctx: &SyscallCtx, addr: u64) -> SysResult<Timespec> {
    let mem = ctx.mem();
    let t = Timespec { sec: mem.read_u64(addr)? as i64, nsec: mem.read_u64(addr + 8)? as i64 };
    if t.sec < 0 || !(0..1_000_000_000).contains(&t.nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(t)
}

/// uname(2).
pub fn sys_uname(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let fields = ["Linux", "(none)", "6.1.0-cocoon", "#1 SMP PREEMPT cocoon 0.1.0", "x86_64", "(none)"];
    let mut b = [0u8; 65 * 6];
    for (i, f) in fields.iter().enumerate() {
        b[i * 65..i * 65 + f.len()].copy_from_slice(f.as_bytes());
    }
    ctx.mem().write(a[0], &b)?;
    Ok(0)
}

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
    write_timespec(ctx, a[1], t)?;
    Ok(0)
}

fn ns_timespec(ns: u64) -> Timespec {
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
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
        let task = if pid == 0 { Some(ostd::task::current()) } else { crate::process::table::task_of_thread(pid) };
        task.ok_or(Errno::EINVAL)?.cpu_time()
    } else {
        let p = if pid == 0 { Some(ctx.process.clone()) } else { crate::process::table::get(pid) };
        p.ok_or(Errno::EINVAL)?.cpu_time()
    };
    Ok(if kind == 1 { time.user_ns } else { time.total_ns })
}

/// clock_settime(2): CLOCK_REALTIME only (the other clocks cannot be set: EINVAL), by root.
pub fn sys_clock_settime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        return Err(Errno::EINVAL);
    }
    let t = read_timespec(ctx, a[1])?;
    if ctx.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    crate::time::set_realtime_ns(t.sec.saturating_mul(1_000_000_000).saturating_add(t.nsec));
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
        write_timespec(ctx, a[1], Timespec { sec: 0, nsec: 1 })?;
    }
    Ok(0)
}

/// gettimeofday(2).
pub fn sys_gettimeofday(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let t = crate::time::realtime();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&t.sec.to_le_bytes());
        b[8..].copy_from_slice(&(t.nsec / 1000).to_le_bytes());
        ctx.mem().write(a[0], &b)?;
    }
    if a[1] != 0 {
        ctx.mem().write(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

/// time(2).
pub fn sys_time(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let sec = crate::time::realtime().sec as u64;
    if a[0] != 0 {
        ctx.mem().write_u64(a[0], sec)?;
    }
    Ok(sec)
}

fn sleep_until_ns(ctx: &SyscallCtx, deadline: u64) -> SysResult<()> {
    let process = ctx.process.clone();
    ostd::task::wait_ticks_until(|| {
        if crate::time::monotonic_ns() >= deadline {
            Some(Ok(()))
        } else if process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })
}

/// nanosleep(2).
pub fn sys_nanosleep(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let t = read_timespec(ctx, a[0])?;
    let ns = (t.sec as u64).saturating_mul(1_000_000_000).saturating_add(t.nsec as u64);
    let deadline = crate::time::monotonic_ns().saturating_add(ns);
    let result = sleep_until_ns(ctx, deadline);
    if result.is_err() && a[1] != 0 {
        let left = deadline.saturating_sub(crate::time::monotonic_ns());
        write_timespec(ctx, a[1], Timespec { sec: (left / 1_000_000_000) as i64, nsec: (left % 1_000_000_000) as i64 })?;
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
    let t = read_timespec(ctx, a[2])?;
    let ns = (t.sec as u64).saturating_mul(1_000_000_000).saturating_add(t.nsec as u64);
    let deadline = if a[1] & TIMER_ABSTIME != 0 {
        let now_clock = if clock == 0 { crate::time::realtime() } else { crate::time::monotonic() };
        let now_ns = (now_clock.sec as u64).saturating_mul(1_000_000_000) + now_clock.nsec as u64;
        crate::time::monotonic_ns().saturating_add(ns.saturating_sub(now_ns))
    } else {
        crate::time::monotonic_ns().saturating_add(ns)
    };
    sleep_until_ns(ctx, deadline).map(|()| 0)
}

/// getrandom(2).
pub fn sys_getrandom(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[2] & !0x7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = (a[1] as usize).min(32 * 1024 * 1024);
    let mut buf = alloc::vec![0u8; len.min(64 * 1024)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        crate::random::fill(&mut buf[..n]);
        ctx.mem().write(a[0] + done as u64, &buf[..n])?;
        done += n;
    }
    Ok(len as u64)
}

const RLIM_INFINITY: u64 = u64::MAX;

fn rlimit(resource: u64) -> SysResult<(u64, u64)> {
    Ok(match resource {
        3 => (8 << 20, RLIM_INFINITY),                    // STACK
        6 => (4096, 4096),                                // NPROC
        4 => (0, RLIM_INFINITY),                          // CORE
        8 => (8 << 20, 8 << 20),                          // MEMLOCK
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
        p => crate::process::table::get(p).ok_or(Errno::ESRCH)?,
    };
    let (cur, max) = if resource == RLIMIT_NOFILE {
        let (soft, hard) = target.files.lock().limit();
        (soft as u64, hard as u64)
    } else {
        rlimit(resource)?
    };
    let mem = ctx.mem();
    let requested = if new != 0 { Some((mem.read_u64(new)?, mem.read_u64(new + 8)?)) } else { None };
    if let Some((ncur, nmax)) = requested {
        if ncur > nmax {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE {
            let root = ctx.process.creds.lock().euid == 0;
            if nmax > NR_OPEN as u64 || (nmax > max && !root) {
                return Err(Errno::EPERM);
            }
            target.files.lock().set_limit(ncur as usize, nmax as usize);
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

/// sysinfo(2).
pub fn sys_sysinfo(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let frames = ostd::mm::frame_stats();
    let mut b = [0u8; 112];
    let uptime = crate::time::monotonic().sec as u64;
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    b[32..40].copy_from_slice(&((frames.total * 4096) as u64).to_le_bytes());
    b[40..48].copy_from_slice(&((frames.free * 4096) as u64).to_le_bytes());
    b[80..82].copy_from_slice(&(crate::process::table::all().len() as u16).to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    ctx.mem().write(a[0], &b)?;
    Ok(0)
}

/// sched_yield(2).
pub fn sys_sched_yield(_ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    ostd::task::yield_now();
    Ok(0)
}

/// sched_getaffinity(2): one CPU.
pub fn sys_sched_getaffinity(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let size = a[1] as usize;
    if size < 8 || size % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    affinity_target(a[0])?;
    ctx.mem().write_u64(a[2], 1)?;
    Ok(8)
}

/// sched_setaffinity(2): the mask must include the one CPU there is.
pub fn sys_sched_setaffinity(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    affinity_target(a[0])?;
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    let mut first = [0u8];
    ctx.mem().read(a[2], &mut first)?;
    if first[0] & 1 == 0 { Err(Errno::EINVAL) } else { Ok(0) }
}

/// The task sched_{get,set}affinity name: unlike the other sched_* calls, Linux does not
/// check for a negative pid first, so one is simply not found (ESRCH).
fn affinity_target(pid: u64) -> SysResult<()> {
    if (pid as i32) < 0 { Err(Errno::ESRCH) } else { scheduling_target(pid) }
}

/// The process a sched_* call names (0 = the caller); ESRCH if there is none.
fn scheduling_target(pid: u64) -> SysResult<()> {
    match pid as i32 {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(()),
        p => crate::process::table::get(p).or_else(|| crate::process::table::find_thread(p).map(|(p, _)| p)).map(|_| ()).ok_or(Errno::ESRCH),
    }
}

const SCHED_OTHER: u64 = 0;
const SCHED_FIFO: u64 = 1;
const SCHED_RR: u64 = 2;
const SCHED_BATCH: u64 = 3;
const SCHED_IDLE: u64 = 5;

/// sched_getscheduler(2): every task is SCHED_OTHER.
pub fn sys_sched_getscheduler(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    scheduling_target(a[0])?;
    Ok(SCHED_OTHER)
}

/// sched_getparam(2): priority 0, as for every SCHED_OTHER task.
pub fn sys_sched_getparam(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    scheduling_target(a[0])?;
    ctx.mem().write_u32(a[1], 0)?;
    Ok(0)
}

/// sched_setscheduler(2) and sched_setparam(2): only the normal policies (priority 0) are
/// offered; real-time ones are refused with EPERM, as for a task without CAP_SYS_NICE.
pub fn sys_sched_setscheduler(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_scheduler(ctx, a[0], Some(a[1]), a[2])
}

/// sched_setparam(2).
pub fn sys_sched_setparam(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_scheduler(ctx, a[0], None, a[1])
}

fn set_scheduler(ctx: &SyscallCtx, pid: u64, policy: Option<u64>, param: u64) -> SysResult<u64> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = ctx.mem().read_u32(param)? as i32;
    scheduling_target(pid)?;
    let policy = policy.unwrap_or(SCHED_OTHER) & !0x4000_0000; // SCHED_RESET_ON_FORK
    match policy {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if priority == 0 => Ok(0),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => Err(Errno::EINVAL),
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&priority) => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
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
    scheduling_target(a[0])?;
    let slice_ns = 1_000_000_000 / u64::from(ostd::time::hz());
    let mut ts = [0u8; 16];
    ts[8..].copy_from_slice(&slice_ns.to_le_bytes());
    ctx.mem().write(a[1], &ts)?;
    Ok(0)
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

/// The processes getpriority/setpriority name.
fn priority_targets(ctx: &SyscallCtx, which: u64, who: u64) -> SysResult<alloc::vec::Vec<alloc::sync::Arc<crate::process::Process>>> {
    use crate::process::table;
    let who = who as i32;
    let all = table::all().into_iter().filter(|p| !p.is_zombie());
    let targets: alloc::vec::Vec<_> = match which {
        PRIO_PROCESS if who == 0 => alloc::vec![ctx.process.clone()],
        PRIO_PROCESS => all.filter(|p| p.pid() == who).collect(),
        PRIO_PGRP => {
            let pgrp = if who == 0 { ctx.process.pgid() } else { who };
            all.filter(|p| p.pgid() == pgrp).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { ctx.process.creds.lock().ruid } else { who as u32 };
            all.filter(|p| p.creds.lock().ruid == uid).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if targets.is_empty() { Err(Errno::ESRCH) } else { Ok(targets) }
}

/// getpriority(2): returns 20 - nice of the highest-priority target (the raw syscall's
/// convention; glibc converts it back to a nice value).
pub fn sys_getpriority(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nice = priority_targets(ctx, a[0], a[1])?.iter().map(|p| p.nice.load(Ordering::Relaxed)).min().unwrap_or(0);
    Ok((20 - nice) as u64)
}

/// setpriority(2): raising priority (lowering nice) needs root.
pub fn sys_setpriority(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nice = (a[2] as i32).clamp(-20, 19);
    let targets = priority_targets(ctx, a[0], a[1])?;
    let creds = *ctx.process.creds.lock();
    for p in &targets {
        let theirs = *p.creds.lock();
        if creds.euid != 0 && creds.euid != theirs.euid && creds.euid != theirs.ruid {
            return Err(Errno::EPERM);
        }
        if creds.euid != 0 && nice < p.nice.load(Ordering::Relaxed) {
            return Err(Errno::EACCES);
        }
    }
    for p in targets {
        p.nice.store(nice, Ordering::Relaxed);
    }
    Ok(0)
}

/// `struct rusage` with the CPU times filled in (the other fields are not kept).
pub fn rusage_bytes(t: ostd::task::CpuTime) -> [u8; 144] {
    let mut b = [0u8; 144];
    for (at, ns) in [(0, t.user_ns), (16, t.system_ns())] {
        b[at..at + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    }
    b
}

/// getrusage(2): RUSAGE_SELF, RUSAGE_CHILDREN (reaped ones) and RUSAGE_THREAD.
pub fn sys_getrusage(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let usage = match a[0] as i32 {
        0 => ctx.process.cpu_time(),
        -1 => *ctx.process.children_cpu.lock(),
        1 => ostd::task::current().cpu_time(),
        _ => return Err(Errno::EINVAL),
    };
    ctx.mem().write(a[1], &rusage_bytes(usage))?;
    Ok(0)
}

/// Clock ticks (USER_HZ) in `ns`.
fn clock_ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

/// times(2): CPU times in clock ticks; returns the ticks since boot.
pub fn sys_times(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[0] != 0 {
        let (me, children) = (ctx.process.cpu_time(), *ctx.process.children_cpu.lock());
        let mut b = [0u8; 32];
        for (i, ns) in [me.user_ns, me.system_ns(), children.user_ns, children.system_ns()].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&clock_ticks(ns).to_le_bytes());
        }
        ctx.mem().write(a[0], &b)?;
    }
    Ok(clock_ticks(crate::time::monotonic_ns()))
}

/// set_robust_list(2): recorded nowhere until threads exist.
pub fn sys_set_robust_list(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 24 { Err(Errno::EINVAL) } else { Ok(0) }
}

/// poll(2).
pub fn sys_poll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let timeout_ms = a[2] as i32;
    let deadline = (timeout_ms >= 0).then(|| crate::time::monotonic_ns() + timeout_ms as u64 * 1_000_000);
    poll(ctx, a[0], a[1], deadline)
}

/// ppoll(2).
pub fn sys_ppoll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[2] == 0 {
        None
    } else {
        let t = read_timespec(ctx, a[2])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    poll(ctx, a[0], a[1], deadline)
}

fn poll(ctx: &SyscallCtx, fds_addr: u64, nfds: u64, deadline: Option<u64>) -> SysResult<u64> {
    const POLLIN: u16 = 1;
    const POLLOUT: u16 = 4;
    const POLLHUP: u16 = 0x10;
    const POLLNVAL: u16 = 0x20;
    if nfds > ctx.process.files.lock().limit().0 as u64 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let mut raw = alloc::vec![0u8; nfds as usize * 8];
    mem.read(fds_addr, &mut raw)?;
    let process = ctx.process.clone();
    let ready = ostd::task::wait_ticks_until(|| {
        let mut count = 0u64;
        for entry in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]);
            let mut revents = 0u16;
            if fd >= 0 {
                match process.files.lock().get(fd) {
                    Ok(f) => {
                        let r = f.readiness();
                        if r.readable && events & POLLIN != 0 {
                            revents |= POLLIN;
                        }
                        if r.writable && events & POLLOUT != 0 {
                            revents |= POLLOUT;
                        }
                        if r.hangup {
                            revents |= POLLHUP;
                        }
                    }
                    Err(_) => revents = POLLNVAL,
                }
            }
            entry[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                count += 1;
            }
        }
        if count > 0 || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Ok(count))
        } else if process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })?;
    mem.write(fds_addr, &raw)?;
    Ok(ready)
}

/// pselect6(2) / select(2).
pub fn sys_pselect6(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let t = read_timespec(ctx, a[4])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

/// select(2).
pub fn sys_select(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let mem = ctx.mem();
        let (sec, usec) = (mem.read_u64(a[4])? as i64, mem.read_u64(a[4] + 8)? as i64);
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Some(crate::time::deadline_after(sec as u64, usec as u64 * 1000))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

fn select(ctx: &SyscallCtx, nfds: u64, sets: [u64; 3], deadline: Option<u64>) -> SysResult<u64> {
    // nfds is an int; Linux clips it to the descriptor table's size rather than refusing it.
    let nfds = u64::try_from(nfds as i32).map_err(|_| Errno::EINVAL)?.min(ctx.process.files.lock().limit().0 as u64);
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mem = ctx.mem();
    let mut input = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.read(addr, &mut input[i])?;
        }
    }
    // The descriptors named in any set, with which sets name them: looked up once, here
    // (EBADF for a closed one), so each wake-up only asks the files for their readiness.
    let mut watched: alloc::vec::Vec<(usize, [bool; 3], alloc::sync::Arc<dyn crate::fs::FileLike>)> = alloc::vec::Vec::new();
    let files = ctx.process.files.lock();
    for (word, chunk) in (0..bytes / 8).map(|w| (w, w * 8..w * 8 + 8)) {
        let words = [0, 1, 2].map(|i| u64::from_le_bytes(input[i][chunk.clone()].try_into().unwrap_or([0; 8])));
        let mut any = words[0] | words[1] | words[2];
        while any != 0 {
            let bit = any.trailing_zeros() as usize;
            any &= any - 1;
            let fd = word * 64 + bit;
            if fd >= nfds as usize {
                break;
            }
            let file = files.get(fd as i32).map_err(|_| Errno::EBADF)?;
            watched.push((fd, [0, 1, 2].map(|i| words[i] & (1 << bit) != 0), file));
        }
    }
    drop(files);
    let (count, output) = ostd::task::wait_ticks_until(|| {
        let mut out = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
        let mut count = 0u64;
        for (fd, wanted, file) in &watched {
            let r = file.readiness();
            for (i, ready) in [r.readable || r.hangup, r.writable, false].into_iter().enumerate() {
                if ready && wanted[i] {
                    out[i][fd / 8] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
        if count > 0 || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Ok((count, out)))
        } else if ctx.process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })?;
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.write(addr, &output[i])?;
        }
    }
    Ok(count)
}

/// reboot(2): power-off and restart end the machine (QEMU exits); init's way out.
pub fn sys_reboot(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MAGIC1: u64 = 0xfee1_dead;
    const MAGICS2: [u64; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
    const CMD_RESTART: u64 = 0x0123_4567;
    const CMD_HALT: u64 = 0xcdef_0123;
    const CMD_POWER_OFF: u64 = 0x4321_fedc;
    const CMD_CAD_ON: u64 = 0x89ab_cdef;
    const CMD_CAD_OFF: u64 = 0;
    // CAP_SYS_BOOT (root here) comes first, before the magic numbers, as on Linux: anyone
    // else could otherwise power the machine off.
    if ctx.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    if a[0] as u32 as u64 != MAGIC1 || !MAGICS2.contains(&(a[1] as u32 as u64)) {
        return Err(Errno::EINVAL);
    }
    match a[2] as u32 as u64 {
        CMD_CAD_ON | CMD_CAD_OFF => Ok(0),
        CMD_RESTART | CMD_HALT | CMD_POWER_OFF => {
            log::info!("reboot: powering off");
            ostd::power::exit_qemu(ostd::power::ExitCode::Success)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn timeval_ns(sec: u64, usec: u64) -> SysResult<u64> {
    if (sec as i64) < 0 || usec >= 1_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(sec.saturating_mul(1_000_000_000).saturating_add(usec * 1000))
}

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
    let mut b = [0u8; 32];
    for (i, ns) in [interval, left].into_iter().enumerate() {
        b[i * 16..i * 16 + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[i * 16 + 8..i * 16 + 16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    }
    b
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
        let interval = timeval_ns(mem.read_u64(a[1])?, mem.read_u64(a[1] + 8)?)?;
        let value = timeval_ns(mem.read_u64(a[1] + 16)?, mem.read_u64(a[1] + 24)?)?;
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

fn itimerspec_bytes(interval_ns: u64, value_ns: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, ns) in [interval_ns, value_ns].into_iter().enumerate() {
        b[i * 16..i * 16 + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[i * 16 + 8..i * 16 + 16].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    }
    b
}

fn timespec_ns(mem: &crate::user_mem::UserMem, addr: u64) -> SysResult<u64> {
    let (sec, nsec) = (mem.read_u64(addr)? as i64, mem.read_u64(addr + 8)? as i64);
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
}

/// timer_settime(2).
pub fn sys_timer_settime(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const TIMER_ABSTIME: u64 = 1;
    let (id, flags) = (a[0] as i32, a[1]);
    if flags & !TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let interval = timespec_ns(&mem, a[2])?;
    let value = timespec_ns(&mem, a[2] + 16)?;
    let now = crate::time::monotonic_ns();
    let mut timers = ctx.process.posix_timers.lock();
    let t = timers.by_id.get_mut(&id).ok_or(Errno::EINVAL)?;
    let old = itimerspec_bytes(t.interval, t.deadline.map_or(0, |d| d.saturating_sub(now).max(1)));
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
        itimerspec_bytes(t.interval, t.deadline.map_or(0, |d| d.saturating_sub(now).max(1)))
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

/// The capability sets root holds (CAP_CHOWN..CAP_CHECKPOINT_RESTORE, Linux 6.1's 41).
const ALL_CAPABILITIES: u64 = (1 << 41) - 1;
const CAPABILITY_V1: u32 = 0x1998_0330;
const CAPABILITY_V2: u32 = 0x2007_1026;
const CAPABILITY_V3: u32 = 0x2008_0522;

/// Reads capget/capset's header: the version (EINVAL, with the preferred version written
/// back, if unknown) and the pid.
fn capability_header(ctx: &SyscallCtx, header: u64) -> SysResult<(u32, i32)> {
    let mem = ctx.mem();
    let version = mem.read_u32(header)?;
    if ![CAPABILITY_V1, CAPABILITY_V2, CAPABILITY_V3].contains(&version) {
        mem.write_u32(header, CAPABILITY_V3)?;
        return Err(Errno::EINVAL);
    }
    let pid = mem.read_u32(header + 4)? as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((version, pid))
}

/// capget(2): no capability model beyond "root holds all": root's sets are full, every
/// other user's empty.
pub fn sys_capget(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (version, pid) = capability_header(ctx, a[0])?;
    let target = if pid == 0 { ctx.process.clone() } else { crate::process::table::get(pid).ok_or(Errno::ESRCH)? };
    if a[1] == 0 {
        return Ok(0);
    }
    let caps = if target.creds.lock().euid == 0 { ALL_CAPABILITIES } else { 0 };
    let words = if version == CAPABILITY_V1 { 1 } else { 2 };
    let mut data = alloc::vec::Vec::new();
    for word in 0..words {
        let bits = (caps >> (32 * word)) as u32;
        for set in [bits, bits, 0] {
            // effective, permitted, inheritable
            data.extend_from_slice(&set.to_le_bytes());
        }
    }
    ctx.mem().write(a[1], &data)?;
    Ok(0)
}

/// capset(2): a process may keep or drop what it has; nothing can be gained.
pub fn sys_capset(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (version, pid) = capability_header(ctx, a[0])?;
    if pid != 0 && pid != ctx.process.pid() {
        return Err(Errno::EPERM);
    }
    let held = if ctx.process.creds.lock().euid == 0 { ALL_CAPABILITIES } else { 0 };
    let mem = ctx.mem();
    let words = if version == CAPABILITY_V1 { 1 } else { 2 };
    for word in 0..words {
        let at = a[1] + 12 * word;
        let (effective, permitted) = (u64::from(mem.read_u32(at)?) << (32 * word), u64::from(mem.read_u32(at + 4)?) << (32 * word));
        if permitted & !held != 0 || effective & !permitted != 0 {
            return Err(Errno::EPERM);
        }
    }
    Ok(0)
}
