//! PCI configuration space: the legacy 0xcf8/0xcfc ports, and ECAM (memory-mapped, from
//! ACPI MCFG) where the machine has it.
//!
//! [`PciAddress::read32`] picks ECAM when a window covers the bus and the port pair
//! otherwise; [`PciAddress::read32_ports`] and [`PciAddress::read32_ecam`] force one.
//!
//! Reads are public. Writes are `pub(crate)`: BAR, command and MSI registers name physical
//! addresses to the device, so only OSTD may write config space, through the typed
//! operations of [`super::PciDevice`], [`super::bar`] and [`super::msix`].

use alloc::vec::Vec;

use crate::io_port::Port;
use spin::Once;

use crate::mm::{IoMem, WindowError};
use crate::sync::SpinLock;

/// A function's address on bus segment 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciAddress {
    /// Bus number.
    pub bus: u8,
    /// Device number (0..32).
    pub device: u8,
    /// Function number (0..8).
    pub function: u8,
}

impl core::fmt::Display for PciAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

static PORTS: SpinLock<()> = SpinLock::new(());
static ECAM: Once<Vec<(crate::bus::acpi::EcamRegion, IoMem)>> = Once::new();
/// ECAM maps 1 MiB per bus; map only the buses we enumerate.
const MAX_ECAM_BUSES: usize = 8;

pub(super) fn init() {
    ECAM.call_once(|| {
        crate::bus::acpi::ecam_regions()
            .iter()
            .filter(|r| r.segment == 0)
            .filter_map(|r| match map_ecam(r) {
                Ok(mem) => Some((*r, mem)),
                Err(e) => {
                    log::warn!("pci: ignoring MCFG window {r:x?}: {e}");
                    None
                }
            })
            .collect()
    });
}

/// Maps the first buses of an MCFG window. Its base and bus range come from the host's
/// firmware, so the arithmetic is checked and the window must pass [`IoMem::map`]'s rules.
fn map_ecam(r: &crate::bus::acpi::EcamRegion) -> Result<IoMem, WindowError> {
    let Some(span) = r.end_bus.checked_sub(r.start_bus) else {
        return Err(WindowError::Empty { paddr: r.base });
    };
    let buses = (usize::from(span) + 1).min(MAX_ECAM_BUSES);
    let offset = u64::from(r.start_bus) << 20;
    let base =
        r.base.checked_add(offset).ok_or(WindowError::Wraps { paddr: r.base, len: offset })?;
    IoMem::map(base, buses << 20)
}

/// Returns whether an ECAM window is in use.
pub fn has_ecam() -> bool {
    ECAM.get().is_some_and(|e| !e.is_empty())
}

impl PciAddress {
    fn check(&self, offset: u16) {
        assert!(
            self.device < 32 && self.function < 8 && offset.is_multiple_of(4),
            "bad PCI address {self:?}+{offset:#x}"
        );
    }

    /// The value for the 0xcf8 address port that selects `offset` of this function
    /// (configuration mechanism #1: the enable bit, bus, device, function, register).
    fn port_address(&self, offset: u16) -> u32 {
        self.check(offset);
        assert!(offset < 0x100, "port access reaches only the first 256 bytes");
        0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device) << 11
            | u32::from(self.function) << 8
            | u32::from(offset)
    }

    /// Reads a config dword through ports 0xcf8/0xcfc (offsets below 0x100 only).
    pub fn read32_ports(&self, offset: u16) -> u32 {
        let addr = self.port_address(offset);
        let _guard = PORTS.lock();
        // SAFETY: 0xcf8/0xcfc are the PCI configuration mechanism #1 ports; the lock keeps
        // the address/data pair atomic.
        unsafe {
            Port::<u32>::new(0xcf8).write(addr);
            Port::<u32>::new(0xcfc).read()
        }
    }

    /// Writes a config dword through ports 0xcf8/0xcfc.
    pub(crate) fn write32_ports(&self, offset: u16, value: u32) {
        let addr = self.port_address(offset);
        let _guard = PORTS.lock();
        // SAFETY: as in `read32_ports`.
        unsafe {
            Port::<u32>::new(0xcf8).write(addr);
            Port::<u32>::new(0xcfc).write(value);
        }
    }

    fn ecam_window(&self, offset: u16) -> Option<(&'static IoMem, usize)> {
        let (region, mem) =
            ECAM.get()?.iter().find(|(r, _)| (r.start_bus..=r.end_bus).contains(&self.bus))?;
        let off = (usize::from(self.bus - region.start_bus) << 20)
            | usize::from(self.device) << 15
            | usize::from(self.function) << 12
            | usize::from(offset);
        (off + 4 <= mem.len()).then_some((mem, off))
    }

    /// Reads a config dword through ECAM, if a window covers this bus.
    pub fn read32_ecam(&self, offset: u16) -> Option<u32> {
        self.check(offset);
        self.ecam_window(offset).map(|(mem, off)| mem.read::<u32>(off))
    }

    /// Reads a config dword by the best available mechanism.
    pub fn read32(&self, offset: u16) -> u32 {
        self.read32_ecam(offset).unwrap_or_else(|| self.read32_ports(offset))
    }

    /// Copies the first 256 bytes of config space (the part ports reach too).
    pub fn read_config(&self) -> [u8; 256] {
        let mut out = [0u8; 256];
        for (i, dword) in out.chunks_exact_mut(4).enumerate() {
            dword.copy_from_slice(&self.read32(i as u16 * 4).to_le_bytes());
        }
        out
    }

    /// Reads the 16-bit register at `offset` (2-aligned).
    pub fn read16(&self, offset: u16) -> u16 {
        (self.read32(offset & !3) >> ((offset & 2) * 8)) as u16
    }

    /// Writes the 16-bit register at `offset` (2-aligned) with one dword write that
    /// writes back the other half as it read it. Only for registers whose neighbour has
    /// no write-1-to-clear bits (the command register's neighbour, status, has them:
    /// use [`Self::write_command`]).
    pub(crate) fn write16(&self, offset: u16, value: u16) {
        let shift = (offset & 2) * 8;
        let old = self.read32(offset & !3) & !(0xffff << shift);
        self.write32(offset & !3, old | u32::from(value) << shift);
    }

    /// Writes the command register, writing zeros to the status register beside it (its
    /// error bits are write-1-to-clear, so zeros leave them alone).
    pub(crate) fn write_command(&self, value: u16) {
        self.write32(4, u32::from(value));
    }

    /// Writes a config dword by the best available mechanism.
    pub(crate) fn write32(&self, offset: u16, value: u32) {
        self.check(offset);
        match self.ecam_window(offset) {
            Some((mem, off)) => mem.write::<u32>(off, value),
            None => self.write32_ports(offset, value),
        }
    }
}
