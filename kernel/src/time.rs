//! Clocks as Linux exposes them: CLOCK_REALTIME from the RTC epoch plus the TSC, and
//! CLOCK_MONOTONIC/BOOTTIME from the TSC.

use spin::Once;

use crate::fs::node::Timespec;

static BOOT_EPOCH_NS: Once<i128> = Once::new();

/// Reads the RTC once; call early in boot.
pub fn init() {
    BOOT_EPOCH_NS.call_once(|| {
        let rtc = ostd::time::rtc::read_unix_time().unwrap_or(0);
        i128::from(rtc) * 1_000_000_000 - i128::from(ostd::time::monotonic_ns())
    });
}

/// Returns nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    ostd::time::monotonic_ns()
}

/// Returns the wall-clock time.
pub fn realtime() -> Timespec {
    let ns = BOOT_EPOCH_NS.get().copied().unwrap_or(0) + i128::from(monotonic_ns());
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

/// Returns the monotonic time.
pub fn monotonic() -> Timespec {
    let ns = monotonic_ns();
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

/// Converts a CLOCK_REALTIME instant (ns since the epoch) to monotonic ns (saturating at 0).
pub fn realtime_to_monotonic_ns(realtime_ns: i128) -> u64 {
    (realtime_ns - BOOT_EPOCH_NS.get().copied().unwrap_or(0)).clamp(0, i128::from(u64::MAX)) as u64
}
