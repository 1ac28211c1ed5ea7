//! Why a virtio device could not be brought up: what every driver's `new` returns, in words
//! that name the driver and the device (`virtio-net 00:03.0: the device lacks VERSION_1`).

use alloc::string::String;

/// Why a device could not be brought up.
#[derive(Debug)]
pub struct ProbeError(pub(super) String);

impl core::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}
