//! The bus walk: every function on bus 0 and on the buses behind PCI-to-PCI bridges.
//!
//! Bridge secondary-bus numbers come from config space, which the host controls, so each
//! bus is visited at most once: a bridge that names a bus already walked (itself, bus 0, a
//! loop) is skipped.

use alloc::vec::Vec;

use super::config::PciAddress;

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

/// Header type 1: a PCI-to-PCI bridge.
const HEADER_BRIDGE: u8 = 1;
/// The dword of a bridge header that holds primary, secondary and subordinate bus numbers.
const BRIDGE_BUSES: u16 = 0x18;

/// Lists the functions on bus 0 and, recursively, on the buses behind its bridges.
pub fn enumerate() -> Vec<PciFunction> {
    let mut found = Vec::new();
    let mut visited = [false; 256];
    let mut pending = Vec::from([0u8]);
    while let Some(bus) = pending.pop() {
        if core::mem::replace(&mut visited[usize::from(bus)], true) {
            continue;
        }
        walk_bus(bus, &mut found, &mut pending);
    }
    found
}

fn walk_bus(bus: u8, found: &mut Vec<PciFunction>, pending: &mut Vec<u8>) {
    for device in 0..32 {
        for function in 0..8 {
            let address = PciAddress { bus, device, function };
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
            if header_type & 0x7f == HEADER_BRIDGE {
                let secondary = (address.read32(BRIDGE_BUSES) >> 8) as u8;
                if secondary != 0 {
                    pending.push(secondary);
                }
            }
            if function == 0 && header_type & 0x80 == 0 {
                break;
            }
        }
    }
}

crate::ktest! {
    fn pci_finds_the_host_bridge_on_bus_0() {
        let functions = enumerate();
        let host = functions
            .iter()
            .find(|f| f.address.bus == 0 && f.address.device == 0)
            .expect("no device 0 on bus 0");
        assert_eq!(host.class[0], 0x06, "device 0 is not a bridge: {host:?}");
        assert_eq!(host.vendor, 0x8086);
    }

    fn ecam_and_port_access_agree() {
        if !super::has_ecam() {
            // Only acceptable when the firmware really has no MCFG (QEMU's `pc` machine).
            assert!(
                crate::bus::acpi::ecam_regions().is_empty(),
                "MCFG lists ECAM windows but none was mapped"
            );
            return;
        }
        for f in enumerate() {
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
