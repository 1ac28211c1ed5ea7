//! Clocks as Linux exposes them: CLOCK_REALTIME from the RTC epoch plus the TSC, and
//! CLOCK_MONOTONIC/BOOTTIME from the TSC.

use core::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Errno, SysResult};
use crate::fs::node::Timespec;

/// CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns: the wall-clock time at boot. clock_settime
/// moves it.
static BOOT_EPOCH_NS: AtomicI64 = AtomicI64::new(0);

/// Reads the RTC once; call early in boot.
pub fn init() {
    let rtc = ostd::time::rtc::read_unix_time().unwrap_or(0) as i64;
    BOOT_EPOCH_NS.store(
        rtc.saturating_mul(1_000_000_000) - ostd::time::monotonic_ns() as i64,
        Ordering::Relaxed,
    );
}

/// The timezone settimeofday records and gettimeofday reports (minutes west of Greenwich,
/// and the obsolete DST flag): nothing in the kernel uses it, as on Linux.
static TIMEZONE: ostd::sync::SpinLock<(i32, i32)> = ostd::sync::SpinLock::new((0, 0));

/// Returns the recorded timezone (tz_minuteswest, tz_dsttime).
pub fn timezone() -> (i32, i32) {
    *TIMEZONE.lock()
}

/// Records the timezone: EINVAL beyond ±15 hours, as Linux checks it.
pub fn set_timezone(minutes_west: i32, dst: i32) -> SysResult<()> {
    if !(-15 * 60..=15 * 60).contains(&minutes_west) {
        return Err(Errno::EINVAL);
    }
    *TIMEZONE.lock() = (minutes_west, dst);
    Ok(())
}

/// The first second CLOCK_REALTIME may not be set to (Linux's TIME_SETTOD_SEC_MAX: 30 years
/// of uptime short of the largest ktime).
pub const SETTOD_SEC_MAX: i64 = 9_223_372_036 - 946_080_000;

/// Sets CLOCK_REALTIME to `ns` since the epoch (clock_settime, settimeofday).
pub fn set_realtime_ns(ns: i64) {
    BOOT_EPOCH_NS.store(ns - monotonic_ns() as i64, Ordering::Relaxed);
}

fn boot_epoch_ns() -> i128 {
    i128::from(BOOT_EPOCH_NS.load(Ordering::Relaxed))
}

/// Returns nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    ostd::time::monotonic_ns()
}

/// Returns the monotonic instant `sec` seconds and `nsec` nanoseconds from now, for a
/// timeout the program gave: one too far to represent saturates (it is as good as forever).
pub fn deadline_after(sec: u64, nsec: u64) -> u64 {
    monotonic_ns().saturating_add(sec.saturating_mul(1_000_000_000).saturating_add(nsec))
}

/// Returns the wall-clock time.
pub fn realtime() -> Timespec {
    let ns = boot_epoch_ns() + i128::from(monotonic_ns());
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

/// Returns the monotonic time.
pub fn monotonic() -> Timespec {
    ns_timespec(monotonic_ns())
}

/// Splits a count of nanoseconds into seconds and nanoseconds.
pub fn ns_timespec(ns: u64) -> Timespec {
    Timespec { sec: (ns / 1_000_000_000) as i64, nsec: (ns % 1_000_000_000) as i64 }
}

/// Returns a valid (non-negative, normalised) timespec as nanoseconds, saturating: a
/// timeout of centuries is as good as forever.
pub fn timespec_ns(t: Timespec) -> u64 {
    (t.sec as u64).saturating_mul(1_000_000_000).saturating_add(t.nsec as u64)
}

/// Sleeps until monotonic instant `deadline`, or until `interrupted` says a signal is
/// pending (EINTR).
pub fn sleep_until_ns(deadline: u64, interrupted: impl Fn() -> bool) -> SysResult<()> {
    // Only the deadline or a signal (which wakes the thread wherever it sleeps) ends it.
    let alone = ostd::sync::WaitQueue::new();
    match alone.wait_until_or_deadline(|| interrupted().then_some(()), Some(deadline)) {
        Ok(()) => Err(Errno::EINTR),
        Err(ostd::sync::TimedOut) => Ok(()),
    }
}

/// Converts a CLOCK_REALTIME instant (ns since the epoch) to monotonic ns (saturating at 0).
pub fn realtime_to_monotonic_ns(realtime_ns: i128) -> u64 {
    (realtime_ns - boot_epoch_ns()).clamp(0, i128::from(u64::MAX)) as u64
}
