//! MSI-X: the table of message addresses a device writes to raise interrupts.
//!
//! Every entry names a physical address the device will write to, so only this module
//! programs one, and only with an interrupt message: address `0xfee0_0000 | apic_id << 12`
//! (the local APIC of the bootstrap CPU, the only one running), data = the vector of an
//! [`IrqLine`] (fixed delivery, edge). The [`Msix`] value keeps each bound line alive,
//! so a vector the device may still raise is never handed to someone else; dropping it
//! masks every entry and turns MSI-X off first.

use alloc::vec::Vec;
use core::fmt;

use super::bar::BarError;
use super::caps::CAP_MSIX;
use super::config::PciAddress;
use super::device::PciDevice;
use crate::mm::IoMem;
use crate::trap::IrqLine;

/// Message control: table size field, function mask, enable.
const CTRL_SIZE_MASK: u16 = 0x7ff;
const CTRL_FUNCTION_MASK: u16 = 1 << 14;
const CTRL_ENABLE: u16 = 1 << 15;
/// Bytes per table entry, and the fields in one.
const ENTRY_SIZE: usize = 16;
const ENTRY_ADDR_LO: usize = 0;
const ENTRY_ADDR_HI: usize = 4;
const ENTRY_DATA: usize = 8;
const ENTRY_CTRL: usize = 12;
const ENTRY_MASKED: u32 = 1;
/// The local APIC's message address window.
const MSI_ADDRESS_BASE: u32 = 0xfee0_0000;

/// Why MSI-X cannot be set up or used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsixError {
    /// The function has no MSI-X capability.
    NoCapability,
    /// The capability list is malformed.
    Caps(super::caps::CapError),
    /// The MSI-X capability at this offset runs past config space.
    Truncated {
        /// The capability's offset.
        offset: u8,
    },
    /// The table or PBA is in a BAR that cannot be used or mapped.
    Bar {
        /// Which structure: "table" or "PBA".
        what: &'static str,
        /// Why.
        error: BarError,
    },
    /// Entry `index` is past the table's `size` entries.
    NoSuchEntry {
        /// The entry asked for.
        index: u16,
        /// Entries in the table.
        size: u16,
    },
    /// Entry `index` has no line bound to it.
    NotBound {
        /// The entry.
        index: u16,
    },
    /// This CPU's APIC ID does not fit an xAPIC-format message address.
    ApicIdTooLarge(u32),
    /// MSI-X was already taken for this device.
    AlreadyTaken,
}

impl fmt::Display for MsixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoCapability => write!(f, "no MSI-X capability"),
            Self::Caps(e) => write!(f, "capability list: {e}"),
            Self::Truncated { offset } => {
                write!(f, "MSI-X capability at {offset:#x} runs past config space")
            }
            Self::Bar { what, error } => write!(f, "MSI-X {what}: {error}"),
            Self::NoSuchEntry { index, size } => {
                write!(f, "MSI-X entry {index} is past the table's {size} entries")
            }
            Self::NotBound { index } => write!(f, "MSI-X entry {index} has no interrupt line"),
            Self::ApicIdTooLarge(id) => write!(f, "APIC ID {id} does not fit a MSI address"),
            Self::AlreadyTaken => write!(f, "MSI-X was already set up for this device"),
        }
    }
}

/// A device's MSI-X table, mapped, with MSI-X enabled and INTx masked.
///
/// # Invariants
/// Every entry is masked, or holds the interrupt message of the line in `lines` at its
/// index. `table` covers `size` entries and `pba` covers `size` bits.
pub struct Msix {
    address: PciAddress,
    cap: u16,
    table: IoMem,
    pba: IoMem,
    size: u16,
    lines: Vec<Option<IrqLine>>,
}

impl fmt::Debug for Msix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msix({}, {} entries)", self.address, self.size)
    }
}

impl Msix {
    /// Maps the MSI-X table and PBA of `device`, masks every entry, enables MSI-X and
    /// masks INTx.
    ///
    /// # Errors
    /// There is no (well-formed) MSI-X capability, or the table or PBA lies outside its
    /// BAR or cannot be mapped; or MSI-X was already taken for this device.
    pub fn new(device: &PciDevice) -> Result<Self, MsixError> {
        let caps = device.capabilities().map_err(MsixError::Caps)?;
        let cap = caps.find(CAP_MSIX).ok_or(MsixError::NoCapability)?;
        let offset = usize::from(cap.offset);
        let config = caps.config();
        if offset + 12 > config.len() {
            return Err(MsixError::Truncated { offset: cap.offset });
        }
        let dword = |at: usize| {
            u32::from_le_bytes([config[at], config[at + 1], config[at + 2], config[at + 3]])
        };
        let control = (dword(offset) >> 16) as u16;
        let size = (control & CTRL_SIZE_MASK) + 1;
        let map = |what, reg: u32, len: usize| {
            let bar =
                device.bar((reg & 7) as u8).map_err(|error| MsixError::Bar { what, error })?;
            bar.map(u64::from(reg & !7), len as u64).map_err(|error| MsixError::Bar { what, error })
        };
        let table = map("table", dword(offset + 4), usize::from(size) * ENTRY_SIZE)?;
        let pba = map("PBA", dword(offset + 8), usize::from(size).div_ceil(64) * 8)?;
        device.take_msix().then_some(()).ok_or(MsixError::AlreadyTaken)?;

        let msix = Self {
            address: device.address(),
            cap: u16::from(cap.offset),
            table,
            pba,
            size,
            lines: (0..size).map(|_| None).collect(),
        };
        // Enable with the whole function masked, mask each entry, then unmask the function:
        // an entry left over from firmware can never fire with a stale address.
        msix.write_control(control | CTRL_ENABLE | CTRL_FUNCTION_MASK);
        for index in 0..usize::from(size) {
            msix.table.write::<u32>(index * ENTRY_SIZE + ENTRY_CTRL, ENTRY_MASKED);
        }
        device.disable_intx();
        msix.write_control((control | CTRL_ENABLE) & !CTRL_FUNCTION_MASK);
        Ok(msix)
    }

    /// Returns how many entries the table has.
    pub fn table_size(&self) -> u16 {
        self.size
    }

    /// Points entry `index` at `line` (masked; [`Self::unmask`] it when ready) and keeps
    /// the line for as long as this table lives. A line bound before is dropped.
    ///
    /// # Errors
    /// No such entry, or the APIC ID does not fit the message format.
    pub fn bind(&mut self, index: u16, line: IrqLine) -> Result<&IrqLine, MsixError> {
        self.check(index)?;
        let apic_id = crate::time::apic::apic_id();
        let dest = u8::try_from(apic_id).map_err(|_| MsixError::ApicIdTooLarge(apic_id))?;
        let base = usize::from(index) * ENTRY_SIZE;
        self.table.write::<u32>(base + ENTRY_CTRL, ENTRY_MASKED);
        self.table.write::<u32>(base + ENTRY_ADDR_LO, MSI_ADDRESS_BASE | u32::from(dest) << 12);
        self.table.write::<u32>(base + ENTRY_ADDR_HI, 0);
        self.table.write::<u32>(base + ENTRY_DATA, u32::from(line.vector()));
        Ok(self.lines[usize::from(index)].insert(line))
    }

    /// Returns the line bound to entry `index`.
    pub fn line(&self, index: u16) -> Option<&IrqLine> {
        self.lines.get(usize::from(index))?.as_ref()
    }

    /// Masks entry `index`.
    ///
    /// # Errors
    /// No such entry.
    pub fn mask(&self, index: u16) -> Result<(), MsixError> {
        self.check(index)?;
        self.table.write::<u32>(usize::from(index) * ENTRY_SIZE + ENTRY_CTRL, ENTRY_MASKED);
        Ok(())
    }

    /// Unmasks entry `index`, which must have a line bound.
    ///
    /// # Errors
    /// No such entry, or no line bound to it.
    pub fn unmask(&self, index: u16) -> Result<(), MsixError> {
        self.check(index)?;
        if self.line(index).is_none() {
            return Err(MsixError::NotBound { index });
        }
        self.table.write::<u32>(usize::from(index) * ENTRY_SIZE + ENTRY_CTRL, 0);
        Ok(())
    }

    /// Returns whether entry `index` has a message pending (raised while masked).
    ///
    /// # Errors
    /// No such entry.
    pub fn is_pending(&self, index: u16) -> Result<bool, MsixError> {
        self.check(index)?;
        let word = self.pba.read::<u64>(usize::from(index / 64) * 8);
        Ok(word & 1 << (index % 64) != 0)
    }

    fn check(&self, index: u16) -> Result<(), MsixError> {
        (index < self.size).then_some(()).ok_or(MsixError::NoSuchEntry { index, size: self.size })
    }

    fn write_control(&self, control: u16) {
        self.address.write16(self.cap + 2, control);
    }
}

impl Drop for Msix {
    fn drop(&mut self) {
        for index in 0..self.size {
            let _ = self.mask(index);
        }
        let control = self.address.read16(self.cap + 2);
        self.write_control(control & !CTRL_ENABLE);
    }
}
