//! ITIMER_REAL (alarm, setitimer): one kernel task checks every process's deadline at each
//! timer tick and sends SIGALRM when it passes, reloading periodic timers.

use super::{signal, table};

/// Starts the task that fires real-time timers.
pub fn init() {
    ostd::task::spawn("itimer", || loop {
        let due = ostd::task::wait_ticks_until(|| {
            let now = crate::time::monotonic_ns();
            let due: alloc::vec::Vec<_> = table::all()
                .into_iter()
                .filter(|p| p.real_timer.lock().is_some_and(|(at, _)| at <= now) && !p.is_zombie())
                .collect();
            (!due.is_empty()).then_some(due)
        });
        let now = crate::time::monotonic_ns();
        for p in due {
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
