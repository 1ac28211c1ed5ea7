//! Virtio devices (virtio 1.2): the split virtqueue's bookkeeping (pure, host-tested) and the
//! queue over the shared pool that drivers use.

pub mod queue;
pub(crate) mod ring;

pub use queue::{DmaBuffer, QueueError, RequestId, UsedChain, VirtQueue};
