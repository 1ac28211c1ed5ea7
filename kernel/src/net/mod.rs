//! Sockets and network interfaces: Unix-domain sockets, and inet sockets (TCP and UDP) on
//! smoltcp over the interfaces the stack keeps (lo today; the NICs the drivers found are
//! registered in `devices` for it).
//!
//! - `socket`: the family-independent seam the socket calls act on;
//! - `addr`: sockaddrs, parsed and formatted;
//! - `unix`: AF_UNIX;
//! - `inet`: the AF_INET open file, and its blocking rules;
//! - `tcp`, `udp`: the protocols' state, on smoltcp's sockets;
//! - `port`: the port tables;
//! - `stack`: the interfaces and the lock over all inet state; `lo`: the loopback device;
//! - `poll`: the task that keeps smoltcp's timers.

#[allow(
    dead_code,
    reason = "parts of the AF_INET6 forms wait for IPv6 sockets; the host tests use them"
)]
pub mod addr;
pub mod devices;
pub mod inet;
#[allow(dead_code, reason = "the network stack applies it at boot; the host tests use all of it")]
pub mod ipconfig;
mod lo;
mod poll;
mod port;
pub mod socket;
mod stack;
mod tcp;
mod test;
mod udp;
pub mod unix;

/// Brings the stack up (lo with 127.0.0.1/8 and ::1) and starts the task that polls it.
pub fn init() {
    stack::init();
    poll::init();
}
