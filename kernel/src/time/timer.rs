//! The arithmetic of timers, in monotonic (or CPU-clock) nanoseconds: arming, reloading,
//! counting expiries and what is left. A timer here is `Option<(deadline, interval)>`
//! (`None`: disarmed; interval 0: one-shot). The per-process timers built on it, and the
//! signals they send, are in `process::itimer` and `process::posix_timer`.

/// An armed timer: its next deadline and its reload interval (0: one-shot).
pub type Armed = (u64, u64);

/// Arms a timer `value` ns after `clock` (a value of 0 disarms it), reloading every
/// `interval` ns.
pub fn arm_after(clock: u64, value: u64, interval: u64) -> Option<Armed> {
    (value > 0).then(|| (clock.saturating_add(value), interval))
}

/// Re-arms a periodic timer from `clock`, or disarms a one-shot one.
pub fn reload(timer: &mut Option<Armed>, clock: u64) {
    *timer = match *timer {
        Some((_, interval)) if interval > 0 => Some((clock.saturating_add(interval), interval)),
        _ => None,
    };
}

/// What is left of a timer at `now` in ns: 0 if disarmed, at least 1 if armed (a timer
/// that is due but not yet fired still counts as armed).
pub fn remaining(deadline: Option<u64>, now: u64) -> u64 {
    deadline.map_or(0, |d| d.saturating_sub(now).max(1))
}

/// A timer due at `at` fires at `now`: returns how many expiries passed (at least 1) and
/// the next deadline (none for a one-shot timer).
pub fn expire(at: u64, interval: u64, now: u64) -> (u64, Option<u64>) {
    let mut expiries = 1u64;
    let next = now.saturating_sub(at).checked_div(interval).map(|more| {
        expiries += more;
        // A program may set an interval of centuries: saturate, never wrap.
        at.saturating_add(expiries.saturating_mul(interval))
    });
    (expiries, next)
}

/// The deadline timer_settime sets: none for a value of 0, else `value` ns from `now`,
/// or at the absolute time `value` on clock `clock` (realtime clocks are converted).
pub fn deadline_for(clock: u32, value: u64, absolute: bool, now: u64) -> Option<u64> {
    match (value, absolute) {
        (0, _) => None,
        (v, false) => Some(now.saturating_add(v)),
        (v, true) if matches!(clock, 0 | 8 | 11) => {
            Some(super::clock::realtime_to_monotonic_ns(i128::from(v)))
        }
        (v, true) => Some(v),
    }
}
