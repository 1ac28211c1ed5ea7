//! Interval timers (alarm, setitimer: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) and POSIX
//! timers: one kernel task checks every process's deadlines at each timer tick and signals
//! the ones that passed, reloading periodic timers. The CPU-time timers count the process's
//! user (VIRTUAL) or total (PROF) CPU time, so they fire to tick precision.

use super::{Process, signal, table};

/// SIGVTALRM and SIGPROF, for ITIMER_VIRTUAL and ITIMER_PROF.
const SIGVTALRM: u32 = 26;
const SIGPROF: u32 = 27;

/// What is due for one process now.
struct Due {
    real: bool,
    posix: bool,
    /// ITIMER_VIRTUAL and ITIMER_PROF, with the CPU clock each was read at.
    cpu: [Option<u64>; 2],
}

fn due(p: &Process, now: u64) -> Option<Due> {
    if p.is_zombie() {
        return None;
    }
    let real = p.real_timer.lock().is_some_and(|(at, _)| at <= now);
    let posix = super::posix_timer::next_deadline(p).is_some_and(|at| at <= now);
    let timers = *p.cpu_timers.lock();
    let mut cpu = [None, None];
    if timers.iter().any(Option::is_some) {
        let used = p.cpu_time();
        for (i, clock) in [used.user_ns, used.total_ns].into_iter().enumerate() {
            if timers[i].is_some_and(|(at, _)| at <= clock) {
                cpu[i] = Some(clock);
            }
        }
    }
    (real || posix || cpu.iter().any(Option::is_some)).then_some(Due { real, posix, cpu })
}

/// Re-arms a periodic timer from `clock`, or disarms a one-shot one.
fn reload(timer: &mut Option<(u64, u64)>, clock: u64) {
    *timer = match *timer {
        Some((_, interval)) if interval > 0 => Some((clock.saturating_add(interval), interval)),
        _ => None,
    };
}

/// Starts the task that fires the timers.
pub fn init() {
    ostd::task::spawn("itimer", || loop {
        let fired = ostd::task::wait_ticks_until(|| {
            let now = crate::time::monotonic_ns();
            let fired: alloc::vec::Vec<_> = table::all().into_iter().filter_map(|p| due(&p, now).map(|d| (p, d))).collect();
            (!fired.is_empty()).then_some(fired)
        });
        let now = crate::time::monotonic_ns();
        for (p, d) in fired {
            if d.posix {
                super::posix_timer::fire_due(&p, now);
            }
            if d.real {
                reload(&mut p.real_timer.lock(), now);
                signal::send(&p, signal::SIGALRM);
            }
            for (i, sig) in [SIGVTALRM, SIGPROF].into_iter().enumerate() {
                if let Some(clock) = d.cpu[i] {
                    reload(&mut p.cpu_timers.lock()[i], clock);
                    signal::send(&p, sig);
                }
            }
        }
    });
}
