//! The capability list, parsed from a copy of the first 256 bytes of config space.
//!
//! Pure: no hardware and no `unsafe`, so the host tests (`tests/tests/pci_caps.rs`) compile
//! this file as it is. The device writes the list, so every pointer is checked before it is
//! followed: it must be 4-aligned, at or above 0x40 (past the standard header) and leave
//! room for the two header bytes; the walk stops at 48 hops (as many dword slots as there
//! are from 0x40 to 0x100) and rejects a pointer it has already visited. Vendor-specific
//! capabilities carry a length byte, which must keep the capability inside the copy.

use alloc::vec::Vec;
use core::fmt;

/// Bytes of config space that the list lives in.
pub const CONFIG_SIZE: usize = 256;
/// The first offset a capability may sit at (the standard header is 0x00..0x40).
pub const FIRST_CAP: usize = 0x40;
/// The most capabilities a list can hold: one per dword from 0x40 to 0x100.
pub const MAX_CAPS: usize = (CONFIG_SIZE - FIRST_CAP) / 4;

/// Capability ID of MSI-X.
pub const CAP_MSIX: u8 = 0x11;
/// Capability ID of a vendor-specific capability (virtio's structures use it).
pub const CAP_VENDOR: u8 = 0x09;

/// Status register offset, and its "capability list present" bit.
const STATUS: usize = 0x06;
const STATUS_CAP_LIST: u16 = 1 << 4;
/// The header's pointer to the first capability.
const CAP_POINTER: usize = 0x34;

/// One capability: its ID and where it starts in config space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The capability ID (byte 0).
    pub id: u8,
    /// Its offset in config space: 4-aligned, `>= 0x40`, and `<= 0xfc`.
    pub offset: u8,
}

/// Why a capability list was rejected. `at` is the offset of the byte holding the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapError {
    /// A pointer is not a multiple of 4.
    Misaligned {
        /// Where the pointer was read.
        at: usize,
        /// The pointer.
        pointer: u8,
    },
    /// A pointer points into the standard header (below 0x40).
    IntoHeader {
        /// Where the pointer was read.
        at: usize,
        /// The pointer.
        pointer: u8,
    },
    /// A pointer names a capability already visited.
    Cycle {
        /// Where the pointer was read.
        at: usize,
        /// The pointer.
        pointer: u8,
    },
    /// The list is longer than [`MAX_CAPS`] entries.
    TooLong,
    /// A vendor capability's length byte is below 3 or runs past config space.
    BadVendorLength {
        /// The capability's offset.
        offset: u8,
        /// Its length byte.
        len: u8,
    },
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Misaligned { at, pointer } => {
                write!(f, "capability pointer at {at:#x} is {pointer:#x}, not 4-aligned")
            }
            Self::IntoHeader { at, pointer } => {
                write!(f, "capability pointer at {at:#x} is {pointer:#x}, inside the header")
            }
            Self::Cycle { at, pointer } => {
                write!(f, "capability pointer at {at:#x} is {pointer:#x}, already visited")
            }
            Self::TooLong => write!(f, "capability list longer than {MAX_CAPS} entries"),
            Self::BadVendorLength { offset, len } => {
                write!(f, "vendor capability at {offset:#x} has length {len}")
            }
        }
    }
}

/// A validated capability list, with the config-space copy it came from.
///
/// # Invariants
/// Every entry's offset is 4-aligned and in `0x40..=0xfc`; every vendor capability's
/// length byte is at least 3 and keeps it inside [`CONFIG_SIZE`].
#[derive(Clone, Debug)]
pub struct CapList {
    config: [u8; CONFIG_SIZE],
    entries: Vec<Capability>,
}

impl CapList {
    /// Walks the capability list of `config`, a copy of config space.
    ///
    /// # Errors
    /// A pointer that is misaligned, points into the header or back to a visited entry; a
    /// list longer than [`MAX_CAPS`]; or a vendor capability whose length does not fit.
    pub fn parse(config: &[u8; CONFIG_SIZE]) -> Result<Self, CapError> {
        let mut entries = Vec::new();
        let status = u16::from_le_bytes([config[STATUS], config[STATUS + 1]]);
        if status & STATUS_CAP_LIST != 0 {
            let mut visited = [false; CONFIG_SIZE / 4];
            let mut at = CAP_POINTER;
            loop {
                let pointer = config[at];
                if pointer == 0 {
                    break;
                }
                let offset = usize::from(pointer);
                if offset % 4 != 0 {
                    return Err(CapError::Misaligned { at, pointer });
                }
                if offset < FIRST_CAP {
                    return Err(CapError::IntoHeader { at, pointer });
                }
                if core::mem::replace(&mut visited[offset / 4], true) {
                    return Err(CapError::Cycle { at, pointer });
                }
                if entries.len() == MAX_CAPS {
                    return Err(CapError::TooLong);
                }
                // offset <= 0xfc, so offset + 2 < CONFIG_SIZE: both header bytes are inside.
                let id = config[offset];
                if id == CAP_VENDOR {
                    let len = config[offset + 2];
                    if len < 3 || offset + usize::from(len) > CONFIG_SIZE {
                        return Err(CapError::BadVendorLength { offset: pointer, len });
                    }
                }
                entries.push(Capability { id, offset: pointer });
                at = offset + 1;
            }
        }
        Ok(Self { config: *config, entries })
    }

    /// Returns the capabilities in list order.
    pub fn entries(&self) -> &[Capability] {
        &self.entries
    }

    /// Returns the first capability with `id`.
    pub fn find(&self, id: u8) -> Option<Capability> {
        self.entries.iter().copied().find(|c| c.id == id)
    }

    /// Returns each vendor-specific capability as (offset, bytes), the bytes being the
    /// whole capability (ID, next pointer and length byte included) as its length byte says.
    pub fn vendor_caps(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.entries.iter().filter(|c| c.id == CAP_VENDOR).map(|c| {
            let start = usize::from(c.offset);
            // In bounds by the invariant on vendor lengths.
            let len = usize::from(self.config[start + 2]);
            (c.offset, &self.config[start..start + len])
        })
    }

    /// Returns the config-space copy the list was parsed from.
    pub fn config(&self) -> &[u8; CONFIG_SIZE] {
        &self.config
    }
}
