//! The virtio-net wire protocol (virtio 1.2 §5.1), pure: what the driver agrees to, the
//! header in front of every frame, and the device configuration.
//!
//! - Features: [`Features::negotiate`] keeps MAC, STATUS, VERSION_1 and ACCESS_PLATFORM, and
//!   nothing else. No checksum or segmentation offloads (under a TEE a host-asserted "checksum
//!   valid" is worthless, and slirp offers none), no MRG_RXBUF (one 1526-byte buffer holds
//!   any frame without TSO, and merging would add a `num_buffers` reassembly for a device to
//!   lie about), no control queue.
//! - Frames: with VERSION_1 every buffer starts with the 12-byte `virtio_net_hdr`. A frame to
//!   send goes behind [`TX_HEADER`] (all zero); a received one is accepted by
//!   [`RxFrame::parse`] only if its header says "nothing special" and its length is an
//!   Ethernet frame's.
//! - Config: [`NetConfig::parse`] takes a *copy* of the first [`CONFIG_LEN`] bytes of the
//!   device configuration and the features agreed, and picks the MAC address (the device's
//!   only if usable) and the link state.
//!
//! Everything the device wrote is untrusted: a received header that breaks the rules is an
//! [`RxViolation`] (the driver drops the frame and counts it). This file uses only `core`, so
//! the host tests (`tests/tests/virtio_net_proto.rs`) include it as it is.

use core::fmt;

/// The receive queue (receiveq1, §5.1.2).
pub(crate) const RECEIVE_QUEUE: u16 = 0;
/// The transmit queue (transmitq1, §5.1.2).
pub(crate) const TRANSMIT_QUEUE: u16 = 1;

/// Feature bits (virtio 1.2 §5.1.3, and §6 for the device-independent ones).
pub(crate) mod feature {
    /// The device takes packets with a partial checksum (offload; never taken).
    pub(crate) const CSUM: u64 = 1 << 0;
    /// The driver takes packets with a partial checksum (offload; never taken).
    pub(crate) const GUEST_CSUM: u64 = 1 << 1;
    /// `mac` in the config is valid.
    pub(crate) const MAC: u64 = 1 << 5;
    /// The driver takes TCPv4 segments larger than the MTU (offload; never taken).
    pub(crate) const GUEST_TSO4: u64 = 1 << 7;
    /// Received packets may span several buffers (never taken).
    pub(crate) const MRG_RXBUF: u64 = 1 << 15;
    /// `status` in the config is valid: the link state.
    pub(crate) const STATUS: u64 = 1 << 16;
    /// The device has a control queue (never taken).
    pub(crate) const CTRL_VQ: u64 = 1 << 17;
    /// The device follows virtio 1.x, not the legacy interface.
    pub(crate) const VERSION_1: u64 = 1 << 32;
    /// The device reaches memory through the platform's DMA translation (IOMMU, TEE).
    pub(crate) const ACCESS_PLATFORM: u64 = 1 << 33;
}

/// The features this driver accepts when the device offers them.
pub(crate) const WANTED: u64 =
    feature::MAC | feature::STATUS | feature::VERSION_1 | feature::ACCESS_PLATFORM;

/// A feature the driver needs and the device does not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MissingFeature {
    /// The feature's name.
    pub(crate) name: &'static str,
    /// Its bit number.
    pub(crate) bit: u32,
}

/// The features both sides agreed on: a subset of what the device offered and of
/// [`WANTED`], with VERSION_1 always in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Features(u64);

impl Features {
    /// Keeps the offered features this driver understands.
    ///
    /// # Errors
    /// The device does not offer VERSION_1 (the 12-byte header depends on it), or
    /// ACCESS_PLATFORM when `need_access_platform` (under a TEE or behind the IOMMU the device
    /// must translate addresses).
    pub(crate) fn negotiate(
        offered: u64,
        need_access_platform: bool,
    ) -> Result<Self, MissingFeature> {
        if offered & feature::VERSION_1 == 0 {
            return Err(MissingFeature { name: "VERSION_1", bit: 32 });
        }
        if need_access_platform && offered & feature::ACCESS_PLATFORM == 0 {
            return Err(MissingFeature { name: "ACCESS_PLATFORM", bit: 33 });
        }
        Ok(Self(offered & WANTED))
    }

    /// Returns the bits to write to `driver_feature`.
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    /// Returns whether `bit` (one of [`feature`]) was agreed.
    pub(crate) fn has(self, bit: u64) -> bool {
        self.0 & bit == bit
    }
}

/// Bytes of `struct virtio_net_hdr` with VERSION_1 (§5.1.6): `u8 flags; u8 gso_type;
/// le16 hdr_len, gso_size, csum_start, csum_offset, num_buffers`.
pub(crate) const HEADER_LEN: usize = 12;
/// The shortest Ethernet frame the driver passes on: a bare header (destination, source,
/// EtherType). The device strips nothing and pads nothing it need not.
pub(crate) const MIN_FRAME_LEN: usize = 14;
/// The longest Ethernet frame without offloads: 1500 bytes of payload and the header (no
/// FCS, no VLAN tag: the device strips the one and is not asked to keep the other).
pub(crate) const MAX_FRAME_LEN: usize = 1514;
/// A buffer that holds the header and any frame (§5.1.6.3.1: "at least 1526 bytes" without
/// MRG_RXBUF or offloads).
pub(crate) const BUFFER_LEN: usize = HEADER_LEN + MAX_FRAME_LEN;

/// The header in front of every frame sent: no checksum to fill in, no segmentation, and
/// `num_buffers` 0 as the driver must write it (§5.1.6.2.1).
pub(crate) const TX_HEADER: [u8; HEADER_LEN] = [0; HEADER_LEN];

/// Field offsets in the header.
mod header {
    pub(super) const FLAGS: usize = 0;
    pub(super) const GSO_TYPE: usize = 1;
    pub(super) const NUM_BUFFERS: usize = 10;
}

/// `gso_type` of a frame that is not a segmentation-offload super-packet.
pub(crate) const GSO_NONE: u8 = 0;

/// Why a received buffer is not a frame this driver passes on. The device broke the protocol
/// for this buffer; the driver drops it, counts it, and reposts the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RxViolation {
    /// The device wrote fewer bytes than the header.
    ShortHeader {
        /// The bytes it says it wrote.
        written: u32,
    },
    /// `flags` is not 0 (it must be, without GUEST_CSUM).
    Flags(u8),
    /// `gso_type` is not GSO_NONE (it must be, without any GUEST_TSO/UFO/USO feature).
    GsoType(u8),
    /// `num_buffers` is neither 1 nor 0 (see [`RxFrame::parse`]).
    NumBuffers(u16),
    /// The frame behind the header is not `MIN_FRAME_LEN..=MAX_FRAME_LEN` bytes.
    FrameLength {
        /// Its length: the bytes written less the header.
        len: u32,
    },
}

impl fmt::Display for RxViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("virtio-net: device gave a received buffer with ")?;
        match *self {
            Self::ShortHeader { written } => {
                write!(f, "{written} bytes, shorter than the {HEADER_LEN}-byte header")
            }
            Self::Flags(v) => write!(f, "flags {v:#x}, which must be 0"),
            Self::GsoType(v) => write!(f, "gso_type {v}, which must be 0 (GSO_NONE)"),
            Self::NumBuffers(v) => write!(f, "num_buffers {v}, which must be 1 (or 0, unwritten)"),
            Self::FrameLength { len } => {
                write!(f, "a {len}-byte frame, outside {MIN_FRAME_LEN}..={MAX_FRAME_LEN} bytes")
            }
        }
    }
}

/// A received buffer that holds one Ethernet frame, checked.
///
/// # Invariants
/// `len` is in `MIN_FRAME_LEN..=MAX_FRAME_LEN`, so the frame, at `HEADER_LEN..HEADER_LEN +
/// len`, lies inside a [`BUFFER_LEN`] buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxFrame {
    len: usize,
}

impl RxFrame {
    /// Checks the header the device wrote (a copy of the buffer's first [`HEADER_LEN`] bytes)
    /// and the length it claims to have written into the buffer (`written`, from the used
    /// ring). The other header fields (`hdr_len`, `gso_size`, `csum_start`, `csum_offset`)
    /// mean nothing without offloads and are ignored.
    ///
    /// `num_buffers` must be 1 without MRG_RXBUF (§5.1.6.4), but QEMU (7.2, as every
    /// version before the 2025 fix) leaves the field unwritten unless MRG_RXBUF was agreed, so
    /// it reads what the buffer held: 0 in this driver's buffers, which start zeroed and are
    /// never written by the driver. 0 is accepted for that reason; any other value but 1
    /// means the device thinks it merged buffers, and the frame is refused.
    ///
    /// # Errors
    /// See [`RxViolation`], checked in its order.
    pub(crate) fn parse(header: &[u8; HEADER_LEN], written: u32) -> Result<Self, RxViolation> {
        if (written as usize) < HEADER_LEN {
            return Err(RxViolation::ShortHeader { written });
        }
        if header[header::FLAGS] != 0 {
            return Err(RxViolation::Flags(header[header::FLAGS]));
        }
        if header[header::GSO_TYPE] != GSO_NONE {
            return Err(RxViolation::GsoType(header[header::GSO_TYPE]));
        }
        let at = header::NUM_BUFFERS;
        let num_buffers = u16::from_le_bytes([header[at], header[at + 1]]);
        if num_buffers > 1 {
            return Err(RxViolation::NumBuffers(num_buffers));
        }
        let len = written - HEADER_LEN as u32;
        if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&(len as usize)) {
            return Err(RxViolation::FrameLength { len });
        }
        Ok(Self { len: len as usize })
    }

    /// Returns the frame's length in bytes (`MIN_FRAME_LEN..=MAX_FRAME_LEN`).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Returns where the frame lies in the buffer: right after the header.
    pub(crate) fn range(&self) -> core::ops::Range<usize> {
        HEADER_LEN..HEADER_LEN + self.len
    }
}

/// Bytes of config space [`NetConfig::parse`] reads: `u8 mac[6]; le16 status`.
pub(crate) const CONFIG_LEN: usize = 8;
/// Offset of `status` in the config.
pub(crate) const STATUS_OFFSET: usize = 6;
/// `status` bit: the link is up.
pub(crate) const STATUS_LINK_UP: u16 = 1;

/// An Ethernet (MAC-48) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Mac(pub(crate) [u8; 6]);

impl Mac {
    /// Returns whether the address names one station: the group bit (bit 0 of the first
    /// byte) clear. smoltcp refuses any other as its own (it panics).
    pub(crate) fn is_unicast(&self) -> bool {
        self.0[0] & 1 == 0
    }

    /// Returns whether every byte is 0 (no address).
    pub(crate) fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// Turns six random bytes into a unicast, locally administered address (IEEE 802: bit 0
    /// of the first byte clear, bit 1 set), which never collides with a vendor's.
    pub(crate) fn locally_administered(random: [u8; 6]) -> Self {
        let mut mac = random;
        mac[0] = (mac[0] & !1) | 2;
        Self(mac)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Where the MAC address in use came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacOrigin {
    /// The device's `mac`.
    Device,
    /// Generated: MAC was not agreed.
    NotOffered,
    /// Generated: the device's `mac` is a group address.
    DeviceMulticast,
    /// Generated: the device's `mac` is all zero.
    DeviceZero,
}

/// The device's configuration, checked.
///
/// # Invariants
/// `mac` is unicast and non-zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NetConfig {
    mac: Mac,
    mac_origin: MacOrigin,
    link_up: bool,
}

impl NetConfig {
    /// Reads a copy of the config's first [`CONFIG_LEN`] bytes, the fields `features` makes
    /// valid. The device's MAC is used if MAC was agreed and it is unicast and non-zero;
    /// otherwise the address is made from `random` (six random bytes the caller supplies) by
    /// [`Mac::locally_administered`], as §5.1.4.2 asks of a driver without MAC. (The same
    /// section says a driver with MAC MUST use the device's; a group or zero address is
    /// refused anyway, since as our own it would break every peer's neighbour cache, and
    /// smoltcp panics on it.) The link is up when `status` says so, or when STATUS was not
    /// agreed (§5.1.4.2: then the driver assumes it is up).
    pub(crate) fn parse(raw: &[u8; CONFIG_LEN], features: Features, random: [u8; 6]) -> Self {
        let device_mac = Mac([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]]);
        let mac_origin = if !features.has(feature::MAC) {
            MacOrigin::NotOffered
        } else if !device_mac.is_unicast() {
            MacOrigin::DeviceMulticast
        } else if device_mac.is_zero() {
            MacOrigin::DeviceZero
        } else {
            MacOrigin::Device
        };
        let mac = match mac_origin {
            MacOrigin::Device => device_mac,
            _ => Mac::locally_administered(random),
        };
        let status = [raw[STATUS_OFFSET], raw[STATUS_OFFSET + 1]];
        Self { mac, mac_origin, link_up: link_up(status, features) }
    }

    /// Returns the MAC address to use (unicast, non-zero).
    pub(crate) fn mac(&self) -> Mac {
        self.mac
    }

    /// Returns where the MAC address came from.
    pub(crate) fn mac_origin(&self) -> MacOrigin {
        self.mac_origin
    }

    /// Returns whether the link was up when the config was read.
    pub(crate) fn link_up(&self) -> bool {
        self.link_up
    }
}

/// Returns whether the link is up, from a copy of `status` (le16; re-read on every
/// configuration interrupt). Bits other than LINK_UP (ANNOUNCE, which needs GUEST_ANNOUNCE,
/// and reserved ones) are ignored: they change nothing this driver does.
pub(crate) fn link_up(status: [u8; 2], features: Features) -> bool {
    !features.has(feature::STATUS) || u16::from_le_bytes(status) & STATUS_LINK_UP != 0
}
