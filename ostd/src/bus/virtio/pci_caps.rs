//! Virtio's PCI vendor capabilities → the regions of the device's BARs that hold its
//! common configuration, notification area, ISR and device configuration (§4.1.4).
//!
//! Pure: the host tests compile this file with `spec.rs`. Every number comes from the
//! device, so each region is checked against the sized length of its BAR with checked
//! arithmetic, and the notification multiplier is checked here, once; a queue's notify
//! offset is checked when the queue is set up ([`VirtioRegions::notify_offset`]), never
//! when it is notified. Following §4.1.4, capabilities naming a reserved BAR (> 5) or an
//! unknown type are ignored, and the first capability of each type is the one used.

use core::fmt;

use super::spec::{cap, cfg_type, common};

/// A structure's place: `length` bytes at `offset` into BAR `bar`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// The BAR (0..=5).
    pub bar: u8,
    /// Offset into the BAR.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// The validated regions of a modern virtio-pci device.
///
/// # Invariants
/// Each region lies inside a BAR whose size was given to [`VirtioRegions::parse`]; the
/// common configuration is at least [`common::MIN_LEN`] bytes; offsets are 4-aligned
/// (notify: 2-aligned); notify is at least 2 bytes
/// and ISR at least 1; `notify_off_multiplier` is 0 or a power of two no smaller than 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtioRegions {
    /// Common configuration.
    pub common: Region,
    /// Notification area.
    pub notify: Region,
    /// Bytes between the notify addresses of consecutive `queue_notify_off` values.
    pub notify_off_multiplier: u32,
    /// ISR status.
    pub isr: Region,
    /// Device-specific configuration, if the device has any.
    pub device: Option<Region>,
}

/// Why a device's virtio capabilities were rejected. Every value named is the device's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtioCapError {
    /// The capability at `offset` is shorter than its structure.
    Truncated {
        /// The capability's offset in config space.
        offset: u8,
        /// Its `cap_len`.
        cap_len: usize,
    },
    /// A structure is in a BAR that is unimplemented or not usable memory.
    NoSuchBar {
        /// The structure's `cfg_type`.
        cfg_type: u8,
        /// The BAR it names.
        bar: u8,
    },
    /// A structure runs past the end of its BAR.
    OutsideBar {
        /// The structure's `cfg_type`.
        cfg_type: u8,
        /// Its region.
        region: Region,
        /// The BAR's size.
        bar_len: u64,
    },
    /// A structure is shorter than the driver needs.
    TooShort {
        /// The structure's `cfg_type`.
        cfg_type: u8,
        /// Its length.
        length: u64,
        /// The length needed.
        need: u64,
    },
    /// A structure's offset is not aligned as §4.1.4 requires (4 bytes; 2 for notify).
    Misaligned {
        /// The structure's `cfg_type`.
        cfg_type: u8,
        /// Its offset into the BAR.
        offset: u64,
    },
    /// A required structure is missing.
    Missing {
        /// The `cfg_type` not found.
        cfg_type: u8,
    },
    /// `notify_off_multiplier` is neither 0 nor an even power of two.
    BadMultiplier(u32),
    /// `queue_notify_off × notify_off_multiplier + 2` runs past the notify region.
    NotifyOutside {
        /// The queue's `queue_notify_off`.
        queue_notify_off: u16,
        /// The multiplier.
        multiplier: u32,
        /// The notify region's length.
        length: u64,
    },
}

impl fmt::Display for VirtioCapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { offset, cap_len } => {
                write!(f, "virtio capability at {offset:#x} is only {cap_len} bytes")
            }
            Self::NoSuchBar { cfg_type, bar } => {
                write!(f, "cfg_type {cfg_type} names BAR {bar}, which is not usable memory")
            }
            Self::OutsideBar { cfg_type, region, bar_len } => write!(
                f,
                "cfg_type {cfg_type} at BAR {} offset {:#x} length {:#x} runs past the BAR \
                 ({bar_len:#x} bytes)",
                region.bar, region.offset, region.length
            ),
            Self::TooShort { cfg_type, length, need } => {
                write!(f, "cfg_type {cfg_type} is {length:#x} bytes, needs {need:#x}")
            }
            Self::Misaligned { cfg_type, offset } => {
                write!(f, "cfg_type {cfg_type} at BAR offset {offset:#x} is misaligned")
            }
            Self::Missing { cfg_type } => write!(f, "no capability of cfg_type {cfg_type}"),
            Self::BadMultiplier(m) => write!(f, "notify_off_multiplier {m:#x} is not 0 or 2^n"),
            Self::NotifyOutside { queue_notify_off, multiplier, length } => write!(
                f,
                "queue_notify_off {queue_notify_off} × {multiplier} is outside the notify \
                 region ({length:#x} bytes)"
            ),
        }
    }
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl VirtioRegions {
    /// Finds and checks the structures among `caps`, each (offset in config space, the
    /// capability's bytes as its `cap_len` gives them), against `bar_lens`, the sizes of
    /// the function's usable memory BARs.
    ///
    /// # Errors
    /// A used capability is truncated or lies outside its BAR, a required one (common,
    /// notify, ISR) is missing or too short, or the notify multiplier is invalid.
    pub fn parse<'a>(
        caps: impl IntoIterator<Item = (u8, &'a [u8])>,
        bar_lens: &[Option<u64>; 6],
    ) -> Result<Self, VirtioCapError> {
        let mut found: [Option<Region>; 5] = [None; 5];
        let mut multiplier = None;
        for (offset, bytes) in caps {
            if bytes.len() < cap::SIZE {
                return Err(VirtioCapError::Truncated { offset, cap_len: bytes.len() });
            }
            let kind = bytes[cap::CFG_TYPE];
            let bar = bytes[cap::BAR];
            if bar > 5 || !(cfg_type::COMMON..=cfg_type::DEVICE).contains(&kind) {
                continue;
            }
            let slot = &mut found[usize::from(kind)];
            if slot.is_some() {
                continue;
            }
            let region = Region {
                bar,
                offset: u64::from(le32(bytes, cap::OFFSET)),
                length: u64::from(le32(bytes, cap::LENGTH)),
            };
            let bar_len = bar_lens[usize::from(bar)]
                .ok_or(VirtioCapError::NoSuchBar { cfg_type: kind, bar })?;
            // offset and length are u32s, so the sum fits a u64.
            if region.offset + region.length > bar_len {
                return Err(VirtioCapError::OutsideBar { cfg_type: kind, region, bar_len });
            }
            let align = if kind == cfg_type::NOTIFY { 2 } else { 4 };
            if !region.offset.is_multiple_of(align) {
                return Err(VirtioCapError::Misaligned { cfg_type: kind, offset: region.offset });
            }
            if kind == cfg_type::NOTIFY {
                if bytes.len() < cap::NOTIFY_SIZE {
                    return Err(VirtioCapError::Truncated { offset, cap_len: bytes.len() });
                }
                let m = le32(bytes, cap::NOTIFY_MULTIPLIER);
                if m != 0 && (m == 1 || !m.is_power_of_two()) {
                    return Err(VirtioCapError::BadMultiplier(m));
                }
                multiplier = Some(m);
            }
            *slot = Some(region);
        }
        let need = |kind: u8, min: u64| {
            let region =
                found[usize::from(kind)].ok_or(VirtioCapError::Missing { cfg_type: kind })?;
            if region.length < min {
                return Err(VirtioCapError::TooShort {
                    cfg_type: kind,
                    length: region.length,
                    need: min,
                });
            }
            Ok(region)
        };
        Ok(Self {
            common: need(cfg_type::COMMON, common::MIN_LEN)?,
            notify: need(cfg_type::NOTIFY, 2)?,
            notify_off_multiplier: multiplier.unwrap_or(0),
            isr: need(cfg_type::ISR, 1)?,
            device: found[usize::from(cfg_type::DEVICE)],
        })
    }

    /// Returns the offset in the notify region where a queue with `queue_notify_off` is
    /// notified (a 16-bit write).
    ///
    /// # Errors
    /// The 2-byte notify register would lie outside the notify region.
    pub fn notify_offset(&self, queue_notify_off: u16) -> Result<u64, VirtioCapError> {
        let offset = u64::from(queue_notify_off) * u64::from(self.notify_off_multiplier);
        if offset + 2 > self.notify.length {
            return Err(VirtioCapError::NotifyOutside {
                queue_notify_off,
                multiplier: self.notify_off_multiplier,
                length: self.notify.length,
            });
        }
        Ok(offset)
    }
}
