//! ITIMER_REAL (alarm, setitimer) and POSIX timers: one kernel task checks every process's
//! deadlines at each timer tick and signals the ones that passed, reloading periodic timers.

use super::{signal, table};

/// Starts the task that fires real-time timers.
pub fn init() {
    ostd::task::spawn("itimer", || loop {
        let due = ostd::task::wait_ticks_until(|| {
            let now = crate::time::monotonic_ns();
            let due: alloc::vec::Vec<_> = table::all()
                .into_iter()
                .filter(|p| !p.is_zombie() && (p.real_timer.lock().is_some_and(|(at, _)| at <= now) || super::posix_timer::next_deadline(p).is_some_and(|at| at <= now)))
                .collect();
            (!due.is_empty()).then_some(due)
        });
        let now = crate::time::monotonic_ns();
        for p in due {
            super::posix_timer::fire_due(&p, now);
            if !p.real_timer.lock().is_some_and(|(at, _)| at <= now) {
                continue;
            }
            {
                let mut t = p.real_timer.lock();
                *t = match *t {
                    Some((_, interval)) if interval > 0 => Some((now + interval, interval)),
                    _ => None,
                };
            }
            signal::send(&p, signal::SIGALRM);
        }
    });
}
