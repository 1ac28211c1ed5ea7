//! Device drivers. Every device is the host's, so everything it says is checked
//! (ARCHITECTURE.md, "Devices").

pub mod virtio;

/// Finds the devices the kernel drives and brings them up (at boot, before /dev is made).
pub fn probe() {
    virtio::blk::probe();
    virtio::net::probe();
}
