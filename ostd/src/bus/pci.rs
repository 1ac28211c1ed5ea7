//! PCI configuration space: the legacy 0xcf8/0xcfc ports, and ECAM (memory-mapped, from
//! ACPI MCFG) where the machine has it.
//!
//! [`PciAddress::read32`] picks ECAM when a window covers the bus and the port pair
//! otherwise; [`PciAddress::read32_ports`] and [`PciAddress::read32_ecam`] force one.

use alloc::vec::Vec;

use spin::Once;
use x86_64::instructions::port::Port;

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

/// One function found by enumeration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciFunction {
    /// Where it is.
    pub address: PciAddress,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Class, subclass, prog-if.
    pub class: [u8; 3],
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
            self.device < 32 && self.function < 8 && offset % 4 == 0,
            "bad PCI address {self:?}+{offset:#x}"
        );
    }

    /// Reads a config dword through ports 0xcf8/0xcfc (offsets below 0x100 only).
    pub fn read32_ports(&self, offset: u16) -> u32 {
        self.check(offset);
        assert!(offset < 0x100, "port access reaches only the first 256 bytes");
        let addr = 0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device) << 11
            | u32::from(self.function) << 8
            | u32::from(offset);
        let _guard = PORTS.lock();
        // SAFETY: 0xcf8/0xcfc are the PCI configuration mechanism #1 ports; the lock keeps
        // the address/data pair atomic.
        unsafe {
            Port::<u32>::new(0xcf8).write(addr);
            Port::<u32>::new(0xcfc).read()
        }
    }

    /// Writes a config dword through ports 0xcf8/0xcfc.
    pub fn write32_ports(&self, offset: u16, value: u32) {
        self.check(offset);
        assert!(offset < 0x100, "port access reaches only the first 256 bytes");
        let addr = 0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device) << 11
            | u32::from(self.function) << 8
            | u32::from(offset);
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

    /// Writes a config dword by the best available mechanism.
    pub fn write32(&self, offset: u16, value: u32) {
        self.check(offset);
        match self.ecam_window(offset) {
            Some((mem, off)) => mem.write::<u32>(off, value),
            None => self.write32_ports(offset, value),
        }
    }
}

/// Lists the functions on bus 0 (and the buses behind nothing else: no bridges yet).
pub fn enumerate_bus0() -> Vec<PciFunction> {
    let mut found = Vec::new();
    for device in 0..32 {
        for function in 0..8 {
            let address = PciAddress { bus: 0, device, function };
            let id = address.read32(0);
            if id & 0xffff == 0xffff {
                if function == 0 {
                    break;
                }
                continue;
            }
            let class = address.read32(8);
            found.push(PciFunction {
                address,
                vendor: id as u16,
                device: (id >> 16) as u16,
                class: [(class >> 24) as u8, (class >> 16) as u8, (class >> 8) as u8],
            });
            let header_type = (address.read32(0xc) >> 16) as u8;
            if function == 0 && header_type & 0x80 == 0 {
                break;
            }
        }
    }
    found
}

crate::ktest! {
    fn pci_finds_the_host_bridge_on_bus_0() {
        let functions = enumerate_bus0();
        let host = functions.iter().find(|f| f.address.device == 0).expect("no device 0 on bus 0");
        assert_eq!(host.class[0], 0x06, "device 0 is not a bridge: {host:?}");
        assert_eq!(host.vendor, 0x8086);
    }

    fn ecam_and_port_access_agree() {
        if !has_ecam() {
            // Only acceptable when the firmware really has no MCFG (QEMU's `pc` machine).
            assert!(
                crate::bus::acpi::ecam_regions().is_empty(),
                "MCFG lists ECAM windows but none was mapped"
            );
            return;
        }
        for f in enumerate_bus0() {
            for offset in [0u16, 8, 0x2c] {
                assert_eq!(
                    f.address.read32_ecam(offset),
                    Some(f.address.read32_ports(offset)),
                    "{f:?}+{offset:#x}"
                );
            }
        }
    }
}
