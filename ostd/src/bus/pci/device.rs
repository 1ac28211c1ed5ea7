//! Claimed functions: a [`PciDevice`] is the one owner of a PCI function.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::bar::{self, BAR_COUNT, Bar, BarError, CMD_BUS_MASTER, CMD_INTX_DISABLE, CMD_MEMORY};
use super::caps::{CapError, CapList};
use super::config::PciAddress;
use super::enumerate::{PciFunction, enumerate};
use crate::sync::SpinLock;

/// Functions claimed so far; a claim lasts for the kernel's lifetime.
static CLAIMED: SpinLock<Vec<PciAddress>> = SpinLock::new(Vec::new());

/// A PCI function with one owner.
///
/// # Invariants
/// No other `PciDevice` exists for `function.address` (it is in `CLAIMED`, and only
/// [`PciDevice::claim_where`] makes one, after adding it there). The function has a type-0
/// header, and `bars` were sized at claim time.
#[derive(Debug)]
pub struct PciDevice {
    function: PciFunction,
    bars: [Result<Bar, BarError>; BAR_COUNT],
    msix_taken: AtomicBool,
}

impl PciDevice {
    /// Claims the first unclaimed function with this vendor and device ID.
    pub fn claim(vendor: u16, device: u16) -> Option<Self> {
        Self::claim_where(|f| f.vendor == vendor && f.device == device)
    }

    /// Claims the first unclaimed function (with a type-0 header) that `select` accepts.
    pub fn claim_where(select: impl Fn(&PciFunction) -> bool) -> Option<Self> {
        let mut claimed = CLAIMED.lock();
        let function = enumerate().into_iter().find(|f| {
            !claimed.contains(&f.address)
                && (f.address.read32(0xc) >> 16) as u8 & 0x7f == 0
                && select(f)
        })?;
        claimed.push(function.address);
        drop(claimed);
        let bars = bar::size_all(function.address);
        Some(Self { function, bars, msix_taken: AtomicBool::new(false) })
    }

    /// Lists the functions nobody has claimed yet.
    pub fn unclaimed() -> Vec<PciFunction> {
        let claimed = CLAIMED.lock();
        enumerate().into_iter().filter(|f| !claimed.contains(&f.address)).collect()
    }

    /// Returns what enumeration found about the function.
    pub fn function(&self) -> PciFunction {
        self.function
    }

    /// Returns the function's address.
    pub fn address(&self) -> PciAddress {
        self.function.address
    }

    /// Returns BAR `index` as sized when the function was claimed.
    ///
    /// # Errors
    /// The index is out of range, or the BAR is unimplemented, unassigned, the upper half
    /// of a 64-bit BAR, or sized to nonsense (see [`BarError`]).
    pub fn bar(&self, index: u8) -> Result<Bar, BarError> {
        *self.bars.get(usize::from(index)).ok_or(BarError::NoSuchBar { index })?
    }

    /// Returns each BAR's size, where the BAR is usable memory.
    pub fn memory_bar_lens(&self) -> [Option<u64>; BAR_COUNT] {
        self.bars.map(|b| b.ok().filter(|b| b.kind() != bar::BarKind::Io).map(|b| b.len()))
    }

    /// Reads and walks the capability list.
    ///
    /// # Errors
    /// The list is malformed (see [`CapError`]).
    pub fn capabilities(&self) -> Result<CapList, CapError> {
        CapList::parse(&self.address().read_config())
    }

    /// Turns on memory-space decoding, so the memory BARs answer.
    pub fn enable_memory(&self) {
        self.set_command_bits(CMD_MEMORY);
    }

    /// Lets the function master the bus (do DMA).
    pub fn enable_bus_master(&self) {
        self.set_command_bits(CMD_BUS_MASTER);
    }

    /// Masks the legacy INTx pin (done when MSI-X takes over).
    pub(crate) fn disable_intx(&self) {
        self.set_command_bits(CMD_INTX_DISABLE);
    }

    /// Marks MSI-X as taken; returns `false` if it already was (one table owner).
    pub(super) fn take_msix(&self) -> bool {
        !self.msix_taken.swap(true, Ordering::AcqRel)
    }

    fn set_command_bits(&self, bits: u16) {
        let address = self.address();
        address.write_command(address.read16(4) | bits);
    }
}
