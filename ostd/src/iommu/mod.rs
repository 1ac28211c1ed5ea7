//! The IOMMU (Intel VT-d) on machines without a TEE: every device is confined to the shared
//! pool by hardware.
//!
//! Under TDX or SEV-SNP a device can reach only shared pages, because the CPU says so. On an
//! ordinary VM nothing stops a device (the host's emulation of it) from writing anywhere in
//! guest memory, so here OSTD puts every device in one DMA-remapping domain that identity-maps
//! exactly the shared pool's chunks ([`crate::mm::dma::pool`]) and nothing else. A device
//! address outside the pool then faults in the IOMMU instead of reaching memory, and the fault
//! is logged with the device and the address.
//!
//! - [`dmar`]: the ACPI DMAR table (pure; host-tested).

mod dmar;

use dmar::Dmar;

/// Finds the remapping hardware from ACPI DMAR. Called once at boot, after ACPI.
pub(crate) fn init() {
    let Some(table) = crate::bus::acpi::dmar() else {
        log::info!("IOMMU: no DMAR, DMA is not remapped");
        return;
    };
    match Dmar::parse(table) {
        Ok(dmar) => log::info!(
            "IOMMU: DMAR: {} unit(s), {}-bit host address width",
            dmar.units.len(),
            dmar.host_address_width
        ),
        Err(e) => log::warn!("IOMMU: ignoring the DMAR table: {e}"),
    }
}
