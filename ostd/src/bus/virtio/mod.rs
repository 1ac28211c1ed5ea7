//! Virtio devices (virtio 1.2): the split virtqueue's bookkeeping, pure and host-tested.

#[allow(dead_code, reason = "the virtqueue over coherent DMA (queue.rs) is not written yet")]
pub(crate) mod ring;
