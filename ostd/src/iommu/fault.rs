//! DMA faults: the unit's fault-recording registers, read, logged and cleared.
//!
//! Polled from the timer tick and on demand ([`super::poll_faults`]); the fault interrupt
//! stays masked. Each fault is logged with the requester as `bb:dd.f`, the page it tried
//! to reach and the reason code; after [`LOGGED_MAX`] lines faults are only counted, so a
//! device that storms cannot flood the console. The last [`KEPT`] faults are also kept,
//! decoded, for [`recent`] (a fixed array: draining runs in the timer interrupt, which
//! must not allocate).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::regs::{FSTS_PFO, FSTS_PPF, Regs};
use crate::bus::pci::PciAddress;
use crate::sync::SpinLock;

/// Faults seen since boot (logged or not).
static FAULTS: AtomicU64 = AtomicU64::new(0);
/// Faults logged one per line before the rest are only counted.
const LOGGED_MAX: u64 = 64;
/// How many of the latest faults [`recent`] returns.
const KEPT: usize = 16;

/// Faults counted per requester (PCI source id), for the drivers of those devices
/// ([`count_for`]); a fixed table, since draining must not allocate. Once [`DEVICES`]
/// different devices have faulted, further devices are not counted here (the total in
/// [`count`] still counts every fault, and each is logged).
static BY_DEVICE: SpinLock<[(Option<PciAddress>, u64); DEVICES]> =
    SpinLock::new([(None, 0); DEVICES]);
/// How many faulting devices [`BY_DEVICE`] tells apart.
const DEVICES: usize = 32;

/// Returns how many DMA faults `device` has caused since boot (as drained so far).
pub(super) fn count_for(device: PciAddress) -> u64 {
    BY_DEVICE.lock().iter().find(|(d, _)| *d == Some(device)).map_or(0, |&(_, n)| n)
}

fn count_device(device: PciAddress) {
    let mut table = BY_DEVICE.lock();
    if let Some(slot) = table.iter_mut().find(|(d, _)| d.is_none() || *d == Some(device)) {
        slot.0 = Some(device);
        slot.1 += 1;
    }
}

/// The latest faults: slot `n % KEPT` holds the `n`th fault since boot.
static RECENT: SpinLock<[Option<DmaFault>; KEPT]> = SpinLock::new([None; KEPT]);

/// Returns how many DMA faults the IOMMU has reported since boot.
pub(super) fn count() -> u64 {
    FAULTS.load(Ordering::Relaxed)
}

/// Returns the latest faults (at most [`KEPT`]), oldest first.
pub(super) fn recent() -> Vec<DmaFault> {
    let kept = RECENT.lock();
    let next = (count() % KEPT as u64) as usize;
    (0..KEPT).filter_map(|i| kept[(next + i) % KEPT]).collect()
}

/// One decoded fault record: which device tried to reach which page, and why it could not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DmaFault {
    /// The requester (the record's source id).
    pub(crate) device: PciAddress,
    /// The page it tried to reach (the device address, which is the physical address in
    /// this identity-mapped domain).
    pub(crate) page: u64,
    /// The VT-d fault reason code.
    pub(crate) reason: u8,
    /// Whether it was a write (the device storing into memory) rather than a read.
    pub(crate) write: bool,
}

impl DmaFault {
    /// Decodes a record's two quadwords: the page in bits 63:12 of the low one; in the high
    /// one the source id (bits 15:0), the reason (39:32), the type (62: 1 = read) and F (63).
    fn decode(lo: u64, hi: u64) -> Option<Self> {
        let source = hi as u16;
        (hi >> 63 != 0).then_some(Self {
            device: PciAddress {
                bus: (source >> 8) as u8,
                device: (source >> 3) as u8 & 0x1f,
                function: source as u8 & 7,
            },
            page: lo & !0xfff,
            reason: (hi >> 32) as u8,
            write: hi & (1 << 62) == 0,
        })
    }
}

impl core::fmt::Display for DmaFault {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        let reason = match self.reason {
            0x1 => "no root entry",
            0x2 => "no context entry",
            // A second-level entry with R and W clear is not present, so an unmapped page
            // gives these two as well as a read-only or write-only one.
            0x5 => "page not writable",
            0x6 => "page not readable",
            0x4 | 0x7 => "address not mapped",
            _ => "see the VT-d fault reason table",
        };
        write!(
            f,
            "device {} {} at {:#x}: reason {:#x} ({reason})",
            self.device,
            if self.write { "write" } else { "read" },
            self.page,
            self.reason
        )
    }
}

/// Logs and clears every pending fault record of `regs`; returns how many there were.
pub(super) fn drain(regs: &Regs) -> usize {
    let status = regs.fault_status();
    if status & (FSTS_PPF | FSTS_PFO) == 0 {
        return 0;
    }
    let first = ((status >> 8) & 0xff) as usize;
    let mut seen = 0;
    for i in 0..regs.fault_records() {
        let index = (first + i) % regs.fault_records();
        let (lo, hi) = regs.fault_record(index);
        let Some(fault) = DmaFault::decode(lo, hi) else { continue };
        regs.clear_fault_record(index);
        seen += 1;
        let mut kept = RECENT.lock();
        let n = FAULTS.fetch_add(1, Ordering::Relaxed);
        kept[(n % KEPT as u64) as usize] = Some(fault);
        drop(kept);
        count_device(fault.device);
        if n < LOGGED_MAX {
            log::warn!("IOMMU: DMA fault: {fault}");
        }
    }
    if status & FSTS_PFO != 0 {
        regs.clear_overflow();
        log::warn!("IOMMU: fault records overflowed; some DMA faults were not recorded");
    }
    seen
}
