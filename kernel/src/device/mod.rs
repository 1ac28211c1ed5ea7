//! Device drivers. Every device is the host's, so everything it says is checked
//! (ARCHITECTURE.md, "Devices").

mod virtio;
