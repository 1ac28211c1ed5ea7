//! eth0's smoltcp device: the virtio-net driver's private frames.
//!
//! The driver copies each received frame out of shared memory and checks it before
//! [`VirtioNet::receive`] returns it, and copies each sent frame into a bounce buffer, so
//! smoltcp only ever sees private bytes. Frames stay untrusted: smoltcp parses them with
//! checked views and verifies every checksum (the default capabilities), dropping what is
//! malformed.
//!
//! A round of smoltcp's `Interface::poll` takes every queued frame, but only sockets in
//! LISTEN can answer a SYN, and a listener keeps just a few of those (`tcp::top_up` adds
//! more between rounds). So a round stops after the first connection request (a SYN
//! without ACK): the stack tops up its listeners and polls again while frames remain. A
//! burst of connects through slirp (redis-benchmark's clients) would otherwise find no
//! LISTEN socket after the first two, and smoltcp answers those SYNs with RST.

use alloc::sync::Arc;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};

use crate::device::virtio::net::{ReceivedFrame, VirtioNet};

/// The largest Ethernet frame, header included, without FCS.
const MAX_FRAME: usize = 1514;

/// The virtio-net driver as a smoltcp device.
pub struct VirtioPhy {
    nic: Arc<VirtioNet>,
    /// This round has handed smoltcp a connection request; it gets no more frames.
    took_connection_request: bool,
}

impl VirtioPhy {
    /// Wraps `nic`.
    pub fn new(nic: Arc<VirtioNet>) -> Self {
        Self { nic, took_connection_request: false }
    }

    /// Starts a round of polling: frames flow again until the next connection request.
    pub fn begin_round(&mut self) {
        self.took_connection_request = false;
    }

    /// Returns whether the last round stopped at a connection request with frames left.
    pub fn stopped_early(&self) -> bool {
        self.took_connection_request && self.nic.readiness().can_receive
    }

    /// Returns the driver.
    pub fn nic(&self) -> &Arc<VirtioNet> {
        &self.nic
    }
}

impl phy::Device for VirtioPhy {
    type RxToken<'a> = FrameRxToken<'a>;
    type TxToken<'a> = FrameTxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MAX_FRAME;
        caps.medium = Medium::Ethernet;
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(FrameRxToken<'_>, FrameTxToken<'_>)> {
        if self.took_connection_request {
            return None;
        }
        let frame = self.nic.receive()?;
        self.took_connection_request = is_connection_request(&frame);
        Some((FrameRxToken { frame, nic: &self.nic }, FrameTxToken { nic: &self.nic }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<FrameTxToken<'_>> {
        // No free buffer: smoltcp keeps the packet (or, for TCP, sends it again later).
        self.nic.readiness().can_transmit.then_some(FrameTxToken { nic: &self.nic })
    }
}

/// Returns whether `frame` is a TCP SYN without ACK, over IPv4 or IPv6 (no extension
/// headers). Malformed frames are not: smoltcp drops them anyway.
pub(super) fn is_connection_request(frame: &[u8]) -> bool {
    let Ok(ethernet) = EthernetFrame::new_checked(frame) else { return false };
    let segment = match ethernet.ethertype() {
        EthernetProtocol::Ipv4 => match Ipv4Packet::new_checked(ethernet.payload()) {
            Ok(ip) if ip.next_header() == IpProtocol::Tcp => TcpPacket::new_checked(ip.payload()),
            _ => return false,
        },
        EthernetProtocol::Ipv6 => match Ipv6Packet::new_checked(ethernet.payload()) {
            Ok(ip) if ip.next_header() == IpProtocol::Tcp => TcpPacket::new_checked(ip.payload()),
            _ => return false,
        },
        _ => return false,
    };
    segment.is_ok_and(|tcp| tcp.syn() && !tcp.ack())
}

/// A received frame, whose buffer goes back to the driver once smoltcp is done with it.
pub struct FrameRxToken<'a> {
    frame: ReceivedFrame,
    nic: &'a Arc<VirtioNet>,
}

impl phy::RxToken for FrameRxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(&self.frame);
        self.nic.recycle(self.frame);
        result
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
