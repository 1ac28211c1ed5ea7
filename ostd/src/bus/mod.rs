//! Buses and firmware tables: ACPI (just enough to find PCI ECAM and the IOAPIC) and PCI.

pub mod acpi;
pub mod pci;
pub mod virtio;

pub(crate) fn init(info: &crate::boot::BootInfo) {
    acpi::init(info);
    pci::init();
}
