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
//! - `dmar`: the ACPI DMAR table (pure; host-tested).
//! - `regs`: one remapping unit's registers.
//! - `sl_table`: second-level page tables (pure; host-tested); `tables`: the root and
//!   context tables and the one domain, in private frames.
//! - `fault`: fault records, polled from the timer tick.
//! - `tests`: the ktests; the end-to-end one (a virtio-blk descriptor at a private frame
//!   faults and the device is reset) is in `bus::virtio::tests`, next to the transport.
//!
//! The pool calls [`map_pool_chunk`] before a new chunk is handed out and
//! [`unmap_pool_chunk`] (which invalidates the IOTLB) before a chunk leaves the pool.
//! Only for the no-TEE case: under a TEE (sim included, which is a development stand-in for
//! one) translation is left off. Devices must negotiate VIRTIO_F_ACCESS_PLATFORM for their
//! DMA to go through the IOMMU at all; the virtio-blk driver requires it when
//! [`is_enabled`] says so.

mod dmar;
mod fault;
mod regs;
mod sl_table;
mod tables;

use alloc::vec::Vec;

use spin::Once;

use crate::sync::SpinLock;
use crate::tee::Platform;
use dmar::Dmar;
use regs::{Regs, RegsError};
use sl_table::MapError;
use tables::{DOMAIN_ID, Domain};

pub(crate) use fault::DmaFault;

/// Every remapping unit, sharing one domain.
struct Iommu {
    units: Vec<Regs>,
    domain: Domain,
    /// The DMAR table the units came from: which devices they cover.
    dmar: Dmar,
}

/// Set once translation is on; locked after the pool's lock when both are held.
static IOMMU: Once<SpinLock<Iommu>> = Once::new();

/// Returns whether DMA remapping is on (every device confined to the shared pool).
pub fn is_enabled() -> bool {
    IOMMU.get().is_some()
}

/// Returns how many DMA faults the IOMMU has reported since boot.
pub fn fault_count() -> u64 {
    fault::count()
}

/// Returns the latest DMA faults the IOMMU reported (at most 16), oldest first: what the
/// log lines say, decoded.
pub(crate) fn recent_faults() -> Vec<DmaFault> {
    fault::recent()
}

/// Returns how many DMA faults `device` has caused since boot, after draining the pending
/// ones: a driver that sees the count rise knows its device reached outside the shared pool
/// (and that the request it just completed may not have transferred its data).
pub fn faults_of(device: crate::bus::pci::PciAddress) -> u64 {
    if !is_enabled() {
        return 0;
    }
    poll_faults();
    fault::count_for(device)
}

/// Logs and clears pending DMA faults now (the timer tick does this too); returns how many
/// were found.
pub fn poll_faults() -> usize {
    IOMMU.get().map_or(0, |iommu| iommu.lock().units.iter().map(fault::drain).sum())
}

/// Polls faults from the timer tick, in interrupt context.
pub(crate) fn poll_faults_on_tick() {
    poll_faults();
}

/// Returns where a device access to `iova` lands, by walking the domain's tables: `None`
/// when translation is off, `Some(None)` when the IOMMU blocks it.
pub fn device_translation(iova: u64) -> Option<Option<u64>> {
    IOMMU.get().map(|iommu| iommu.lock().domain.translate(iova))
}

/// Returns whether the IOMMU is on and sure to translate `device`'s DMA (see
/// [`Dmar::translates`]: a device the DMAR does not plainly list may bypass it).
pub(crate) fn translates_for(device: crate::bus::pci::PciAddress) -> bool {
    IOMMU.get().is_some_and(|iommu| {
        iommu.lock().dmar.translates(0, device.bus, device.device, device.function)
    })
}

/// Returns whether `paddr` is one of the domain's own page tables (which no device may
/// reach either).
pub fn is_iommu_table(paddr: u64) -> bool {
    IOMMU.get().is_some_and(|iommu| iommu.lock().domain.is_table(paddr))
}

/// Why a pool chunk could not be mapped or unmapped.
#[derive(Debug)]
pub(crate) enum IommuError {
    /// The tables could not take the range.
    Map(MapError),
    /// A unit did not finish an IOTLB invalidation.
    Invalidate(RegsError),
}

/// Maps a new pool chunk for every device; a no-op when translation is off. Called with
/// the pool's lock held, before any frame of the chunk is handed out.
pub(crate) fn map_pool_chunk(base: u64, frames: usize) -> Result<(), IommuError> {
    let Some(iommu) = IOMMU.get() else { return Ok(()) };
    let mut iommu = iommu.lock();
    iommu.domain.map(base, frames).map_err(IommuError::Map)?;
    // A unit may cache "not present" (caching mode), so newly mapped pages are invalidated
    // too. On failure the chunk is unmapped again: the pool will not use it.
    invalidate(&iommu).inspect_err(|_| iommu.domain.unmap(base, frames))
}

/// Unmaps a chunk leaving the pool and invalidates the IOTLB, so no device reaches it once
/// this returns `Ok`. A no-op when translation is off.
pub(crate) fn unmap_pool_chunk(base: u64, frames: usize) -> Result<(), IommuError> {
    let Some(iommu) = IOMMU.get() else { return Ok(()) };
    let mut iommu = iommu.lock();
    iommu.domain.unmap(base, frames);
    invalidate(&iommu)
}

impl core::fmt::Display for IommuError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Map(e) => write!(f, "cannot map: {e:?}"),
            Self::Invalidate(e) => write!(f, "cannot invalidate the IOTLB: {e}"),
        }
    }
}

fn invalidate(iommu: &Iommu) -> Result<(), IommuError> {
    for unit in &iommu.units {
        unit.flush_write_buffer().map_err(IommuError::Invalidate)?;
        unit.invalidate_iotlb(Some(DOMAIN_ID)).map_err(IommuError::Invalidate)?;
    }
    Ok(())
}

/// Finds the remapping hardware from ACPI DMAR and turns translation on with only the shared
/// pool mapped. Called once at boot, after ACPI and the pool, before any driver probes.
pub(crate) fn init() {
    if crate::tee::platform() != Platform::None {
        log::info!(
            "IOMMU: off: running under {}, which confines device DMA itself",
            crate::tee::platform()
        );
        return;
    }
    let Some(table) = crate::bus::acpi::dmar() else {
        log::info!("IOMMU: no DMAR, DMA is not remapped");
        return;
    };
    let dmar = match Dmar::parse(table) {
        Ok(dmar) if !dmar.units.is_empty() => dmar,
        Ok(_) => return log::warn!("IOMMU: off: the DMAR table lists no remapping unit"),
        Err(e) => return log::warn!("IOMMU: off: ignoring the DMAR table: {e}"),
    };
    if !dmar.units.iter().any(|u| u.include_pci_all) {
        let scopes: usize = dmar.units.iter().map(|u| u.scopes.len()).sum();
        log::info!(
            "IOMMU: no INCLUDE_PCI_ALL unit: {scopes} device scope(s) listed, others bypass"
        );
    }
    let mut units = Vec::new();
    for unit in &dmar.units {
        match Regs::map(unit.register_base) {
            Ok(regs) => units.push(regs),
            Err(e) => {
                return log::warn!("IOMMU: off: unit at {:#x}: {e}", unit.register_base);
            }
        }
    }
    let sagaw = units.iter().fold(!0, |acc, u| acc & u.sagaw());
    let levels = match sagaw {
        s if s & 0b100 != 0 => 4,
        s if s & 0b010 != 0 => 3,
        _ => return log::warn!("IOMMU: off: no common 39- or 48-bit table format (SAGAW)"),
    };
    let Some(domain) = Domain::new(levels, !units.iter().all(Regs::coherent)) else {
        return log::warn!("IOMMU: off: no memory for its tables");
    };
    let base = dmar.units[0].register_base;
    let mut iommu = Iommu { units, domain, dmar };
    let version = iommu.units[0].version();
    let width = iommu.domain.width_bits();
    // Under the pool's lock: no chunk can be added between mapping the pool and publishing
    // the IOMMU, after which every new chunk is mapped by `map_pool_chunk`.
    let mapped = crate::mm::dma::pool::with_chunks(|chunks| {
        let mut frames = 0;
        for &(paddr, n) in chunks {
            iommu.domain.map(paddr, n).map_err(|e| alloc::format!("{e:?} at {paddr:#x}"))?;
            frames += n;
        }
        enable(&mut iommu).map_err(|e| alloc::format!("{e}"))?;
        IOMMU.call_once(|| SpinLock::new(iommu));
        Ok::<usize, alloc::string::String>(frames)
    });
    match mapped {
        Ok(frames) => log::info!(
            "IOMMU: VT-d {}.{} at {base:#x}, {width}-bit, pool mapped ({frames} frames), \
             translation on",
            version >> 4 & 0xf,
            version & 0xf,
        ),
        Err(e) => log::warn!("IOMMU: off: {e}"),
    }
}

/// Points every unit at the domain's root table, invalidates its caches and turns
/// translation on. On failure every unit is turned off again.
fn enable(iommu: &mut Iommu) -> Result<(), RegsError> {
    let root = iommu.domain.root_table();
    let mut result = Ok(());
    for unit in &mut iommu.units {
        result = (|| {
            if unit.translating() {
                unit.disable_translation()?;
            }
            unit.flush_write_buffer()?;
            unit.set_root_table(root)?;
            unit.invalidate_context_global()?;
            unit.invalidate_iotlb(None)?;
            unit.enable_translation()
        })();
        if result.is_err() {
            break;
        }
    }
    if result.is_err() {
        for unit in &mut iommu.units {
            let _ = unit.disable_translation();
        }
    }
    result
}

pub(crate) mod tests;
