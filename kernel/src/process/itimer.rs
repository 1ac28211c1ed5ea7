//! Interval timers (alarm, setitimer: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) and POSIX
//! timers: one kernel task signals the processes whose timers passed, reloading periodic
//! ones. It sleeps until the earliest real-time deadline of any process (woken early when a
//! timer is set: [`timers_changed`]), so alarms fire when due, not at the next tick. The
//! CPU-time timers count the process's user (VIRTUAL) or total (PROF) CPU time, which
//! advances only while it runs: while one is armed, the task also looks every tick. The
//! same look enforces RLIMIT_CPU: SIGXCPU past the soft limit (which then moves a second
//! on, as Linux moves it), SIGKILL at the hard one.

use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::WaitQueue;

use super::{Process, limits, registry, signal};
use crate::time::timer::{self, Armed, reload};

/// SIGVTALRM and SIGPROF, for ITIMER_VIRTUAL and ITIMER_PROF.
const SIGVTALRM: u32 = 26;
const SIGPROF: u32 = 27;

/// Bumped whenever a timer is set; the task's sleep ends when it changes.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static CHANGED: WaitQueue = WaitQueue::new();

/// Tells the timer task that a timer was set, so it recomputes when to wake.
pub fn timers_changed() {
    GENERATION.fetch_add(1, Ordering::Release);
    CHANGED.wake_all();
}

/// What is due for one process now.
struct Due {
    real: bool,
    posix: bool,
    /// ITIMER_VIRTUAL and ITIMER_PROF, with the CPU clock each was read at.
    cpu: [Option<u64>; 2],
    /// RLIMIT_CPU passed: SIGXCPU (soft) or SIGKILL (hard).
    cpu_limit: Option<u32>,
}

/// The signal RLIMIT_CPU calls for, if the process has used up its soft or hard limit.
fn cpu_limit_signal(p: &Process) -> Option<u32> {
    const NS: u64 = 1_000_000_000;
    let limit = p.limit(limits::CPU);
    if limit.soft == limits::RLIM_INFINITY {
        return None;
    }
    let used = p.cpu_time().total_ns;
    if limit.hard != limits::RLIM_INFINITY && used >= limit.hard.saturating_mul(NS) {
        Some(signal::SIGKILL)
    } else if used >= limit.soft.saturating_mul(NS) {
        Some(signal::SIGXCPU)
    } else {
        None
    }
}

fn due(p: &Process, now: u64) -> Option<Due> {
    if p.is_zombie() {
        return None;
    }
    let real = p.with_real_timer(|t| t.is_some_and(|(at, _)| at <= now));
    let posix = super::posix_timer::next_deadline(p).is_some_and(|at| at <= now);
    let timers = p.with_cpu_timers(|t| *t);
    let mut cpu = [None, None];
    if timers.iter().any(Option::is_some) {
        let used = p.cpu_time();
        for (i, clock) in [used.user_ns, used.total_ns].into_iter().enumerate() {
            if timers[i].is_some_and(|(at, _)| at <= clock) {
                cpu[i] = Some(clock);
            }
        }
    }
    let cpu_limit = cpu_limit_signal(p);
    (real || posix || cpu.iter().any(Option::is_some) || cpu_limit.is_some()).then_some(Due {
        real,
        posix,
        cpu,
        cpu_limit,
    })
}

/// When the timer task must look again, given every process: the earliest real-time
/// deadline, or the next tick while a CPU-time timer is armed.
fn next_look(processes: &[alloc::sync::Arc<Process>], now: u64) -> Option<u64> {
    let tick_ns = 1_000_000_000 / u64::from(ostd::time::hz());
    processes
        .iter()
        .filter(|p| !p.is_zombie())
        .filter_map(|p| {
            let real = p.with_real_timer(|t| t.map(|(at, _)| at));
            let posix = super::posix_timer::next_deadline(p);
            let cpu_limited = p.limit(limits::CPU).soft != limits::RLIM_INFINITY;
            let cpu = (p.with_cpu_timers(|t| t.iter().any(Option::is_some)) || cpu_limited)
                .then_some(now + tick_ns);
            [real, posix, cpu].into_iter().flatten().min()
        })
        .min()
}

/// Starts the task that fires the timers.
pub fn init() {
    ostd::task::spawn("itimer", || {
        loop {
            let seen = GENERATION.load(Ordering::Acquire);
            let now = crate::time::monotonic_ns();
            let processes = registry::all();
            let fired: alloc::vec::Vec<_> =
                processes.iter().filter_map(|p| due(p, now).map(|d| (p.clone(), d))).collect();
            if fired.is_empty() {
                let wake_at = next_look(&processes, now);
                drop(processes);
                let changed = || (GENERATION.load(Ordering::Acquire) != seen).then_some(());
                let _ = CHANGED.wait_until_or_deadline(changed, wake_at);
                continue;
            }
            drop(processes);
            for (p, d) in fired {
                if d.posix {
                    super::posix_timer::fire_due(&p, now);
                }
                if d.real {
                    p.with_real_timer(|t| reload(t, now));
                    signal::send(&p, signal::SIGALRM);
                }
                if let Some(sig) = d.cpu_limit {
                    if sig == signal::SIGXCPU {
                        p.raise_cpu_soft_limit();
                    }
                    signal::send(&p, sig);
                }
                for (i, sig) in [SIGVTALRM, SIGPROF].into_iter().enumerate() {
                    if let Some(clock) = d.cpu[i] {
                        p.with_cpu_timers(|t| reload(&mut t[i], clock));
                        signal::send(&p, sig);
                    }
                }
            }
        }
    });
}

/// ITIMER_REAL; ITIMER_VIRTUAL is 1 and ITIMER_PROF 2.
pub const ITIMER_REAL: u64 = 0;

/// The clock an interval timer counts on, now: monotonic time for ITIMER_REAL, the
/// process's user CPU time for ITIMER_VIRTUAL, its total CPU time for ITIMER_PROF.
fn clock(process: &Process, which: u64) -> u64 {
    match which {
        ITIMER_REAL => crate::time::monotonic_ns(),
        1 => process.cpu_time().user_ns,
        _ => process.cpu_time().total_ns,
    }
}

fn get(process: &Process, which: u64) -> Option<Armed> {
    match which {
        ITIMER_REAL => process.with_real_timer(|t| *t),
        w => process.with_cpu_timers(|t| t[w as usize - 1]),
    }
}

fn put(process: &Process, which: u64, value: Option<Armed>) {
    match which {
        ITIMER_REAL => process.with_real_timer(|t| *t = value),
        w => process.with_cpu_timers(|t| t[w as usize - 1] = value),
    }
}

/// Interval timer `which` (0..=2) of `process`: (time left, interval) in ns.
pub fn read(process: &Process, which: u64) -> (u64, u64) {
    match get(process, which) {
        Some((at, interval)) => (timer::remaining(Some(at), clock(process, which)), interval),
        None => (0, 0),
    }
}

/// Sets interval timer `which` (0..=2) to fire `value` ns from now (0: disarm) and every
/// `interval` ns after, if `new` is given; returns what it was before, as [`read`].
pub fn set(process: &Process, which: u64, new: Option<(u64, u64)>) -> (u64, u64) {
    let old = read(process, which);
    if let Some((value, interval)) = new {
        put(process, which, timer::arm_after(clock(process, which), value, interval));
        timers_changed();
    }
    old
}

/// alarm(2): ITIMER_REAL to fire once in `secs` seconds (0: disarm); returns the whole
/// seconds that were left (rounded up, at least 1 if armed).
pub fn alarm(process: &Process, secs: u64) -> u64 {
    let now = crate::time::monotonic_ns();
    let left = process.with_real_timer(|t| {
        let left = t.map_or(0, |(at, _)| at.saturating_sub(now).div_ceil(1_000_000_000).max(1));
        *t = (secs > 0).then(|| (now + secs * 1_000_000_000, 0));
        left
    });
    timers_changed();
    left
}
