//! Virtio over PCI (modern, 1.x only): the transport, its spec constants, and the split
//! virtqueue (its bookkeeping pure and host-tested, its memory in the shared pool).
//!
//! OSTD owns every register write and descriptor that names an address to the device (queue
//! addresses, MSI-X messages, buffer addresses); drivers in the kernel see only
//! [`VirtioPciDevice`] and the bounce buffers they hand it.

pub mod pci_caps;
pub mod queue;
#[allow(dead_code, reason = "the ring's full surface is exercised by the host tests")]
pub(crate) mod ring;
pub mod spec;
mod transport;

pub use queue::{DmaBuffer, QueueError, RequestId, UsedChain, VirtQueue};
pub use transport::{TransportError, TransportErrorKind, VirtioPciDevice};

mod tests;
