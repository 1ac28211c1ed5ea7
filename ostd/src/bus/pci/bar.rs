//! Base address registers: decoding, sizing, and mapping a memory BAR through [`IoMem`].
//!
//! Sizing writes all ones to a BAR and reads back which address bits stick, so it runs
//! with memory and I/O decoding off in the command register (a half-written BAR must not
//! decode over something else) and restores both the BAR and the command register after.
//! The answer comes from the device, so a size that is not a power of two, or a range that
//! wraps, is an error that names the BAR, not a panic.
//!
//! I/O BARs are decoded and sized but cannot be mapped: nothing here uses port I/O.

use core::fmt;

use super::config::PciAddress;
use crate::mm::{IoMem, WindowError};

/// Command register bits.
pub(super) const CMD_IO: u16 = 1 << 0;
pub(super) const CMD_MEMORY: u16 = 1 << 1;
pub(super) const CMD_BUS_MASTER: u16 = 1 << 2;
pub(super) const CMD_INTX_DISABLE: u16 = 1 << 10;

/// The first BAR's offset in a type-0 header, and how many there are.
const BAR0: u16 = 0x10;
/// BARs in a type-0 header.
pub const BAR_COUNT: usize = 6;

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// 32-bit memory space.
    Memory32,
    /// 64-bit memory space (this BAR and the next one).
    Memory64,
    /// I/O ports (noted, never mapped).
    Io,
}

/// A sized, assigned BAR.
///
/// # Invariants
/// `len` is a nonzero power of two and `base + len` does not wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    index: u8,
    kind: BarKind,
    prefetchable: bool,
    base: u64,
    len: u64,
}

/// Why a BAR cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarError {
    /// The index is 6 or more.
    NoSuchBar {
        /// The index asked for.
        index: u8,
    },
    /// The BAR is not implemented (it sizes to zero).
    Unimplemented {
        /// The BAR.
        index: u8,
    },
    /// The BAR is the upper half of the 64-bit BAR below it.
    UpperHalf {
        /// The BAR.
        index: u8,
    },
    /// BAR 5 claims to be the lower half of a 64-bit BAR.
    Mem64InLastSlot,
    /// The size the device reports is not a power of two (`mask` is what read back).
    BadSize {
        /// The BAR.
        index: u8,
        /// The address bits that stuck when all ones were written.
        mask: u64,
    },
    /// The firmware left the BAR unassigned (base 0).
    Unassigned {
        /// The BAR.
        index: u8,
    },
    /// `base + len` wraps past 2^64.
    Wraps {
        /// The BAR.
        index: u8,
        /// Its base.
        base: u64,
        /// Its size.
        len: u64,
    },
    /// The BAR decodes I/O ports, which cannot be mapped.
    NotMemory {
        /// The BAR.
        index: u8,
    },
    /// A sub-range asked for does not lie inside the BAR.
    OutOfRange {
        /// The BAR.
        index: u8,
        /// Offset asked for.
        offset: u64,
        /// Length asked for.
        len: u64,
        /// The BAR's size.
        bar_len: u64,
    },
    /// The BAR lies where the kernel cannot map device memory.
    Unmappable {
        /// The BAR.
        index: u8,
        /// The physical address of the range.
        paddr: u64,
        /// Why [`IoMem::map`] refused it.
        error: WindowError,
    },
}

impl fmt::Display for BarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoSuchBar { index } => write!(f, "there is no BAR {index}"),
            Self::Unimplemented { index } => write!(f, "BAR {index} is not implemented"),
            Self::UpperHalf { index } => write!(f, "BAR {index} is the upper half of a 64-bit BAR"),
            Self::Mem64InLastSlot => write!(f, "BAR 5 claims to start a 64-bit BAR"),
            Self::BadSize { index, mask } => {
                write!(f, "BAR {index} sizes to mask {mask:#x}, not a power of two")
            }
            Self::Unassigned { index } => write!(f, "BAR {index} is unassigned (base 0)"),
            Self::Wraps { index, base, len } => {
                write!(f, "BAR {index} at {base:#x} + {len:#x} wraps")
            }
            Self::NotMemory { index } => write!(f, "BAR {index} decodes I/O ports, not memory"),
            Self::OutOfRange { index, offset, len, bar_len } => write!(
                f,
                "range {offset:#x} + {len:#x} is outside BAR {index} ({bar_len:#x} bytes)"
            ),
            Self::Unmappable { index, paddr, error } => {
                write!(f, "BAR {index} range at {paddr:#x} cannot be mapped: {error}")
            }
        }
    }
}

impl Bar {
    /// Returns the BAR's index (0..6).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Returns what the BAR decodes.
    pub fn kind(&self) -> BarKind {
        self.kind
    }

    /// Returns whether a memory BAR is prefetchable.
    pub fn is_prefetchable(&self) -> bool {
        self.prefetchable
    }

    /// Returns the physical (or port) base address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Returns the size in bytes (a nonzero power of two).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns `false`: a sized BAR is never empty (kept for the `len`/`is_empty` pair).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Maps `len` bytes at `offset` into a memory BAR.
    ///
    /// `pub(crate)`: a BAR holds registers that name addresses to the device (virtio's
    /// queue addresses, the MSI-X table), so only OSTD maps them.
    ///
    /// # Errors
    /// The BAR decodes I/O ports, the range is not inside it, or [`IoMem::map`] refuses the
    /// physical range (for instance, above the I/O window): the error names the BAR and the
    /// address.
    pub(crate) fn map(&self, offset: u64, len: u64) -> Result<IoMem, BarError> {
        let index = self.index;
        if self.kind == BarKind::Io {
            return Err(BarError::NotMemory { index });
        }
        let out = BarError::OutOfRange { index, offset, len, bar_len: self.len };
        let end = offset.checked_add(len).ok_or(out)?;
        if end > self.len || len == 0 {
            return Err(out);
        }
        // Cannot wrap: base + self.len does not (invariant) and offset < self.len.
        let paddr = self.base + offset;
        let size = usize::try_from(len).map_err(|_| out)?;
        IoMem::map(paddr, size).map_err(|error| BarError::Unmappable { index, paddr, error })
    }
}

/// Sizes every BAR of the type-0 function at `address`. Decoding is off while the BARs
/// hold all ones; the command register and every BAR are restored before this returns.
pub(super) fn size_all(address: PciAddress) -> [Result<Bar, BarError>; BAR_COUNT] {
    let command = address.read16(4);
    address.write_command(command & !(CMD_IO | CMD_MEMORY));
    let mut out = [const { Err(BarError::Mem64InLastSlot) }; BAR_COUNT];
    let mut index = 0;
    while index < BAR_COUNT {
        let i = index as u8;
        let (result, used) = size_one(address, i);
        out[index] = result;
        if used == 2 {
            out[index + 1] = Err(BarError::UpperHalf { index: i + 1 });
        }
        index += used;
    }
    address.write_command(command);
    out
}

/// Sizes BAR `index`; returns the result and how many BAR slots it used (1 or 2).
fn size_one(address: PciAddress, index: u8) -> (Result<Bar, BarError>, usize) {
    let reg = BAR0 + u16::from(index) * 4;
    let probe = |reg: u16| {
        let original = address.read32(reg);
        address.write32(reg, 0xffff_ffff);
        let mask = address.read32(reg);
        address.write32(reg, original);
        (original, mask)
    };
    let (low, low_mask) = probe(reg);
    if low & 1 == 1 {
        // Many I/O BARs implement only 16 address bits and read the upper half back as 0.
        let mut mask32 = low_mask & !0x3;
        if mask32 & 0xffff_0000 == 0 {
            mask32 |= 0xffff_0000;
        }
        let mask = u64::from(mask32) | 0xffff_ffff_0000_0000;
        let base = u64::from(low & !0x3);
        return (finish(index, BarKind::Io, false, base, mask), 1);
    }
    let prefetchable = low & 0x8 != 0;
    match (low >> 1) & 0x3 {
        0x2 => {
            if usize::from(index) + 1 >= BAR_COUNT {
                return (Err(BarError::Mem64InLastSlot), 1);
            }
            let (high, high_mask) = probe(reg + 4);
            let base = u64::from(high) << 32 | u64::from(low & !0xf);
            let mask = u64::from(high_mask) << 32 | u64::from(low_mask & !0xf);
            (finish(index, BarKind::Memory64, prefetchable, base, mask), 2)
        }
        _ => {
            let mask = u64::from(low_mask & !0xf) | 0xffff_ffff_0000_0000;
            let base = u64::from(low & !0xf);
            (finish(index, BarKind::Memory32, prefetchable, base, mask), 1)
        }
    }
}

/// Turns a base and a size mask (address bits that stuck, upper bits set for narrow BARs)
/// into a [`Bar`], checking the size is a power of two and the range does not wrap.
fn finish(index: u8, kind: BarKind, prefetchable: bool, base: u64, mask: u64) -> BarResult {
    let narrow = match kind {
        BarKind::Memory64 => 0,
        BarKind::Memory32 => 0xffff_ffff_0000_0000,
        BarKind::Io => 0xffff_ffff_ffff_0000,
    };
    if mask == narrow {
        return Err(BarError::Unimplemented { index });
    }
    let len = (!mask).wrapping_add(1);
    if !len.is_power_of_two() {
        return Err(BarError::BadSize { index, mask });
    }
    if base == 0 {
        return Err(BarError::Unassigned { index });
    }
    if base.checked_add(len).is_none() {
        return Err(BarError::Wraps { index, base, len });
    }
    Ok(Bar { index, kind, prefetchable, base, len })
}

type BarResult = Result<Bar, BarError>;
