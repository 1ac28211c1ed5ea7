//! Time: the clocks ([`clock`]), the NTP state adjtimex reports ([`ntp`]) and the
//! arithmetic of timers ([`timer`]).
//!
//! The timers' per-process state and the signals they send stay with the process
//! (`process::itimer`, `process::posix_timer`), which uses this module; nothing here
//! knows about processes, so the arrows point one way.

pub mod clock;
pub mod ntp;
pub mod timer;

pub use clock::{
    deadline_after, init, monotonic, monotonic_ns, ns_timespec, realtime, set_realtime_ns,
    sleep_until_ns, timespec_ns,
};
