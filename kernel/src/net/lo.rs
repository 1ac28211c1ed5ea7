//! The loopback device, lo: what an interface transmits it receives again, in order.
//!
//! smoltcp has its own `phy::Loopback`; this one is ours so the stack can see its queue
//! (whether a poll left work behind) and so its shape matches the other devices. lo carries
//! IP packets without a link header (`Medium::Ip`) and checks no checksums: nothing but this
//! kernel writes the packets it carries.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// lo's MTU (Linux's is 65536; smoltcp's IP layer counts lengths in 16 bits).
pub const LO_MTU: usize = 65535;

/// The loopback device: a queue of the packets sent and not yet received.
#[derive(Default)]
pub struct LoDevice {
    queue: VecDeque<Vec<u8>>,
    /// Packets and bytes carried (lo receives what it sends: one count serves both ways).
    packets: u64,
    bytes: u64,
}

impl LoDevice {
    /// Returns the packets and bytes carried so far.
    pub fn counters(&self) -> (u64, u64) {
        (self.packets, self.bytes)
    }

    /// Returns whether a packet waits to be received.
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }
}

impl phy::Device for LoDevice {
    type RxToken<'a> = LoRxToken;
    type TxToken<'a> = LoTxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = LO_MTU;
        caps.medium = Medium::Ip;
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(LoRxToken, LoTxToken<'_>)> {
        let packet = self.queue.pop_front()?;
        self.packets += 1;
        self.bytes += packet.len() as u64;
        Some((LoRxToken { packet }, LoTxToken { queue: &mut self.queue }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<LoTxToken<'_>> {
        Some(LoTxToken { queue: &mut self.queue })
    }
}

/// A packet lo received.
pub struct LoRxToken {
    packet: Vec<u8>,
}

impl phy::RxToken for LoRxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.packet)
    }
}

/// Room for one packet on lo's queue.
pub struct LoTxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
}

impl phy::TxToken for LoTxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = alloc::vec![0u8; len];
        let result = f(&mut packet);
        self.queue.push_back(packet);
        result
    }
}
