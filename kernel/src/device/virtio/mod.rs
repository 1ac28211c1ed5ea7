//! Virtio drivers: the protocols (pure, host-tested) and the drivers on ostd's transport.

pub mod blk;
#[allow(dead_code, reason = "parts of the protocol are used only by the host tests")]
mod blk_proto;
mod blk_tests;
pub mod net;
#[allow(dead_code, reason = "parts of the protocol are used only by the host tests")]
mod net_proto;
pub(crate) mod net_tests;
mod probe_error;

pub use probe_error::ProbeError;
