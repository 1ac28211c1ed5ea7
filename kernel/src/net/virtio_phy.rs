//! eth0's smoltcp device: the virtio-net driver's private frames.
//!
//! The driver copies each received frame out of shared memory and checks it before
//! [`VirtioNet::receive`] returns it, and copies each sent frame into a bounce buffer, so
//! smoltcp only ever sees private bytes. Frames stay untrusted: smoltcp parses them with
//! checked views and verifies every checksum (the default capabilities), dropping what is
//! malformed.

use alloc::sync::Arc;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::device::virtio::net::VirtioNet;

/// The largest Ethernet frame, header included, without FCS.
const MAX_FRAME: usize = 1514;

/// The virtio-net driver as a smoltcp device.
pub struct VirtioPhy {
    nic: Arc<VirtioNet>,
}

impl VirtioPhy {
    /// Wraps `nic`.
    pub fn new(nic: Arc<VirtioNet>) -> Self {
        Self { nic }
    }

    /// Returns the driver.
    pub fn nic(&self) -> &Arc<VirtioNet> {
        &self.nic
    }
}

impl phy::Device for VirtioPhy {
    type RxToken<'a> = FrameRxToken;
    type TxToken<'a> = FrameTxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MAX_FRAME;
        caps.medium = Medium::Ethernet;
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(FrameRxToken, FrameTxToken<'_>)> {
        let frame = self.nic.receive()?;
        Some((FrameRxToken { frame }, FrameTxToken { nic: &self.nic }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<FrameTxToken<'_>> {
        // No free buffer: smoltcp keeps the packet (or, for TCP, sends it again later).
        self.nic.readiness().can_transmit.then_some(FrameTxToken { nic: &self.nic })
    }
}

/// A received frame.
pub struct FrameRxToken {
    frame: Vec<u8>,
}

impl phy::RxToken for FrameRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

/// Room for one frame to send.
pub struct FrameTxToken<'a> {
    nic: &'a Arc<VirtioNet>,
}

impl phy::TxToken for FrameTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = alloc::vec![0u8; len];
        let result = f(&mut frame);
        // A frame the device refuses is counted by the driver and lost, as on a wire.
        let _ = self.nic.transmit(&frame);
        result
    }
}
