//! Time: the clocks ([`clock`]).

pub mod clock;

pub use clock::{deadline_after, init, monotonic, monotonic_ns, ns_timespec, realtime, realtime_to_monotonic_ns, set_realtime_ns, sleep_until_ns, timespec_ns};
