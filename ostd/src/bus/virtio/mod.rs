//! Virtio over PCI (modern, 1.x only): the transport, its spec constants, and the split
//! virtqueue (its bookkeeping pure and host-tested, its memory in the shared pool).
//!
//! OSTD owns every register write and descriptor that names an address to the device (queue
//! addresses, MSI-X messages, buffer addresses); drivers in the kernel see only
//! [`VirtioPciDevice`] and the bounce buffers they hand it.
//!
//! Why not the `virtio-drivers` crate (the design card's first choice): it reads used-ring
//! elements in place with plain loads and never checks `len` or `used.idx`; it panics or
//! spins on device-provided values (an `unwrap` in `notify`, unbounded capability walks,
//! config-generation and reset loops); it has no MSI-X and does not negotiate
//! ACCESS_PLATFORM; its non-blocking calls are `unsafe fn`, so a `forbid(unsafe)` kernel could
//! only use its spinning one-request API; and its `Hal` must hand it raw pointers into
//! shared memory. Vendoring it would have meant about fifteen patches and 61 more unsafe
//! sites (plus safe-mmio and zerocopy) in the TCB. Here the split ring's bookkeeping is pure
//! and tested on the host against a malicious device (`ring.rs`), every access to shared
//! memory is a copy through `SharedBuffer`, and the protocol constants follow virtio 1.2
//! (§2.7 split virtqueues, §4.1 PCI transport, §5.2 block).

pub mod pci_caps;
pub mod queue;
#[allow(dead_code, reason = "the ring's full surface is exercised by the host tests")]
pub(crate) mod ring;
pub mod spec;
mod transport;

pub use queue::{DmaBuffer, QueueError, RequestId, UsedChain, VirtQueue};
pub use transport::{TransportError, TransportErrorKind, VirtioPciDevice};

mod tests;
