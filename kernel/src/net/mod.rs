//! Sockets. Unix-domain sockets today; the network stack (smoltcp over virtio-net) will
//! sit beside them.

pub mod unix;
