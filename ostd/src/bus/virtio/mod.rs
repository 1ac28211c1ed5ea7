//! Virtio over PCI (modern, 1.x only): the transport and its spec constants.
//!
//! OSTD owns every register write that names an address to the device (queue addresses,
//! MSI-X messages); drivers in the kernel see only [`VirtioPciDevice`].

pub mod pci_caps;
pub mod spec;
mod transport;

pub use transport::{QueueMemory, TransportError, TransportErrorKind, VirtioPciDevice};

mod tests;
