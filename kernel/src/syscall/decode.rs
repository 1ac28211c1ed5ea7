//! The one reader and writer of each time type a program hands the kernel: `struct
//! timespec` (seconds, nanoseconds) and `struct timeval` (seconds, microseconds), both
//! two 64-bit words. Every syscall that takes or gives one goes through here.

use crate::error::{Errno, SysResult};
use crate::fs::node::Timespec;
use crate::user_mem::UserMem;

/// Reads a `struct timespec` at `addr`: EFAULT if unreadable, EINVAL if the seconds are
/// negative or the nanoseconds outside 0..1e9 (what every Linux timeout and timer argument
/// checks).
pub fn read_timespec(mem: &UserMem, addr: u64) -> SysResult<Timespec> {
    let t = Timespec { sec: mem.read_u64(addr)? as i64, nsec: mem.read_u64(addr + 8)? as i64 };
    if t.sec < 0 || !(0..1_000_000_000).contains(&t.nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(t)
}

/// Reads a `struct timeval` at `addr` as a [`Timespec`] (microseconds times 1000): EFAULT if
/// unreadable, EINVAL if the seconds are negative or the microseconds outside 0..1e6.
pub fn read_timeval(mem: &UserMem, addr: u64) -> SysResult<Timespec> {
    let (sec, usec) = (mem.read_u64(addr)? as i64, mem.read_u64(addr + 8)? as i64);
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Timespec { sec, nsec: usec * 1000 })
}

/// `t` as a `struct timespec`.
pub fn timespec_bytes(t: Timespec) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&t.sec.to_le_bytes());
    b[8..].copy_from_slice(&t.nsec.to_le_bytes());
    b
}

/// `t` as a `struct timeval` (nanoseconds truncated to microseconds).
pub fn timeval_bytes(t: Timespec) -> [u8; 16] {
    timespec_bytes(Timespec { sec: t.sec, nsec: t.nsec / 1000 })
}

/// Writes `t` as a `struct timespec` at `addr`.
pub fn write_timespec(mem: &UserMem, addr: u64, t: Timespec) -> SysResult<()> {
    mem.write(addr, &timespec_bytes(t))
}

/// Writes `t` as a `struct timeval` at `addr`.
pub fn write_timeval(mem: &UserMem, addr: u64, t: Timespec) -> SysResult<()> {
    mem.write(addr, &timeval_bytes(t))
}

/// A pair of durations in ns, (interval, value), as `struct itimerspec` (`timeval`:
/// false) or `struct itimerval` (`timeval`: true).
pub fn interval_pair_bytes(interval_ns: u64, value_ns: u64, timeval: bool) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, ns) in [interval_ns, value_ns].into_iter().enumerate() {
        let t = crate::time::ns_timespec(ns);
        b[i * 16..i * 16 + 16].copy_from_slice(&if timeval {
            timeval_bytes(t)
        } else {
            timespec_bytes(t)
        });
    }
    b
}
