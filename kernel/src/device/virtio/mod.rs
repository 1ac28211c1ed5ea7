//! Virtio drivers: the protocols (pure, host-tested) and, later, the drivers on ostd's queues.

#[allow(dead_code, reason = "the virtio-blk driver that uses it is not written yet")]
mod blk_proto;
