//! Sockets and network interfaces. Unix-domain sockets today, and the registry of the NICs
//! the drivers found; the network stack (smoltcp over virtio-net) will sit beside them.

#[allow(
    dead_code,
    reason = "the AF_INET and AF_INET6 forms wait for inet sockets; the host tests use them"
)]
pub mod addr;
pub mod devices;
#[allow(dead_code, reason = "the network stack applies it at boot; the host tests use all of it")]
pub mod ipconfig;
pub mod socket;
pub mod unix;
