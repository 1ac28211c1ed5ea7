//! Time: the clocks ([`clock`]).

pub mod clock;

pub use clock::{deadline_after, init, monotonic, monotonic_ns, realtime, realtime_to_monotonic_ns, set_realtime_ns};
