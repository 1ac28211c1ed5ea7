//! POSIX per-process timers (timer_create and friends): each notifies by a signal to the
//! process or to one thread (SIGEV_THREAD_ID, which glibc's SIGEV_THREAD is built on), or
//! not at all. The itimer task fires them at timer ticks, as it does ITIMER_REAL.

use alloc::collections::BTreeMap;

use super::sigframe::{SI_TIMER, SigInfo};
use super::{Process, registry, signal};
use crate::error::{Errno, SysResult};

/// How an expiry is announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// SIGEV_NONE: only timer_gettime shows it.
    Nothing,
    /// SIGEV_SIGNAL: `signo` to the process.
    Process { signo: u32, value: u64 },
    /// SIGEV_THREAD_ID: `signo` to thread `tid` of the process.
    Thread { signo: u32, value: u64, tid: i32 },
}

/// One timer.
#[derive(Clone, Copy, Debug)]
pub struct PosixTimer {
    /// The clock it was created on (absolute times are read on it).
    pub clock: u32,
    pub notify: Notify,
    /// Next expiry in monotonic ns, if armed.
    pub deadline: Option<u64>,
    /// Reload interval in ns (0: one-shot).
    pub interval: u64,
    /// Expiries missed while the previous signal was still pending.
    pub overrun: u32,
    /// Whether its signal is queued and not yet taken (expiries then count as overruns).
    pub signal_pending: bool,
}

/// A process's timers by ID.
#[derive(Default)]
pub struct Timers {
    pub by_id: BTreeMap<i32, PosixTimer>,
}

/// The most timers one process may hold (RLIMIT_SIGPENDING-like bound).
pub const MAX_TIMERS: usize = 1024;

/// Fires `p`'s timers that are due at `now`.
pub fn fire_due(p: &Process, now: u64) {
    let mut fired = alloc::vec::Vec::new();
    p.with_posix_timers(|timers| {
        for (id, t) in timers.by_id.iter_mut() {
            let Some(at) = t.deadline.filter(|&at| at <= now) else { continue };
            let (expiries, next) = crate::time::timer::expire(at, t.interval, now);
            t.deadline = next;
            if t.signal_pending {
                t.overrun = t.overrun.saturating_add(expiries as u32);
            } else {
                t.overrun = (expiries - 1) as u32;
                if t.notify != Notify::Nothing {
                    t.signal_pending = true;
                }
                fired.push((*id, t.notify, t.overrun));
            }
        }
    });
    for (id, notify, overrun) in fired {
        let info = |signo: u32, value: u64| SigInfo {
            signo,
            code: SI_TIMER,
            pid: id,
            uid: overrun,
            value,
            ..SigInfo::default()
        };
        match notify {
            Notify::Nothing => {}
            Notify::Process { signo, value } => signal::send_info(p, info(signo, value)),
            Notify::Thread { signo, value, tid } => match registry::thread_of(p.pid(), tid) {
                Some(thread) => signal::send_to(p, Some(&thread), info(signo, value)),
                None => signal::send_info(p, info(signo, value)),
            },
        }
    }
}

/// Called when a timer's signal is taken: later expiries signal again.
pub fn signal_taken(p: &Process, id: i32) {
    p.with_posix_timers(|timers| {
        if let Some(t) = timers.by_id.get_mut(&id) {
            t.signal_pending = false;
        }
    });
}

/// The earliest armed deadline among `p`'s timers.
pub fn next_deadline(p: &Process) -> Option<u64> {
    p.with_posix_timers(|timers| timers.by_id.values().filter_map(|t| t.deadline).min())
}

/// timer_create: a new timer on `clock` announcing by `notify` (none: SIGALRM to the
/// process with the timer's ID as value). `publish` gets the new ID before the timer is
/// added (it is not added if that fails). EAGAIN past [`MAX_TIMERS`].
pub fn create(
    p: &Process,
    clock: u32,
    notify: Option<Notify>,
    publish: impl FnOnce(i32) -> SysResult<()>,
) -> SysResult<()> {
    p.with_posix_timers(|timers| {
        let id =
            (0..).find(|id| !timers.by_id.contains_key(id)).expect("fewer than i32::MAX timers");
        let notify = notify.unwrap_or(Notify::Process { signo: signal::SIGALRM, value: id as u64 });
        if timers.by_id.len() >= MAX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        publish(id)?;
        timers.by_id.insert(
            id,
            PosixTimer {
                clock,
                notify,
                deadline: None,
                interval: 0,
                overrun: 0,
                signal_pending: false,
            },
        );
        Ok(())
    })
}

/// timer_settime: sets timer `id` to `value` ns (relative, or an absolute time on the
/// timer's clock) and `interval`; returns its old (interval, time left). EINVAL if no such
/// timer.
pub fn settime(
    p: &Process,
    id: i32,
    interval: u64,
    value: u64,
    absolute: bool,
) -> SysResult<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    let old = p.with_posix_timers(|timers| {
        let t = timers.by_id.get_mut(&id).ok_or(Errno::EINVAL)?;
        let old = (t.interval, crate::time::timer::remaining(t.deadline, now));
        t.interval = interval;
        t.deadline = crate::time::timer::deadline_for(t.clock, value, absolute, now);
        t.overrun = 0;
        Ok::<_, Errno>(old)
    })?;
    super::itimer::timers_changed();
    Ok(old)
}

/// timer_gettime: timer `id`'s (interval, time left).
pub fn gettime(p: &Process, id: i32) -> SysResult<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    p.with_posix_timers(|timers| {
        let t = timers.by_id.get(&id).ok_or(Errno::EINVAL)?;
        Ok((t.interval, crate::time::timer::remaining(t.deadline, now)))
    })
}

/// timer_getoverrun: the expiries timer `id` missed.
pub fn overrun(p: &Process, id: i32) -> SysResult<u32> {
    p.with_posix_timers(|timers| timers.by_id.get(&id).map(|t| t.overrun).ok_or(Errno::EINVAL))
}

/// timer_delete.
pub fn delete(p: &Process, id: i32) -> SysResult<()> {
    p.with_posix_timers(|timers| timers.by_id.remove(&id).map(|_| ()).ok_or(Errno::EINVAL))
}
