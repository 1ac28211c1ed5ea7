//! The modern virtio-pci transport (virtio 1.2 §4.1): one claimed device, its common
//! configuration, notification area, ISR and device configuration, and its MSI-X table.
//!
//! Use it in the order of §3.1.1: [`VirtioPciDevice::claim`] (maps the structures and
//! resets the device), [`negotiate`](VirtioPciDevice::negotiate), read the device
//! configuration, then [`setup_queue`](VirtioPciDevice::setup_queue) for each queue (the
//! transport allocates its rings in the shared pool), and finally
//! [`driver_ok`](VirtioPciDevice::driver_ok). Requests go through
//! [`submit`](VirtioPciDevice::submit) and come back from
//! [`pop_used`](VirtioPciDevice::pop_used). A driver that posts many chains at once (a
//! network driver refilling its receive queue) uses [`post`](VirtioPciDevice::post) for
//! each and one [`notify`](VirtioPciDevice::notify) at the end: every notification is an
//! exit to the host (a #VE or #VC under a TEE).
//!
//! Interrupts: each queue set up with an [`IrqLine`] gets its own MSI-X entry, and the
//! device-configuration interrupt another. A table has only so many entries
//! ([`free_irq_entries`](VirtioPciDevice::free_irq_entries)); a queue set up without a line
//! raises no interrupt and its driver polls it.
//! [`set_queue_interrupts`](VirtioPciDevice::set_queue_interrupts) asks the device to hold a
//! queue's interrupts while the driver polls anyway.
//!
//! The device is untrusted. Every value it provides is checked, and a bad one is a
//! [`TransportError`] naming the device, the field and the value, never a panic. Waits
//! are bounded: reset gives up after [`RESET_TIMEOUT_MS`], and a device configuration
//! read retries at most [`CONFIG_TRIES`] times while `config_generation` changes. Ring
//! addresses reach the device only as [`DeviceAddr`](crate::mm::dma::DeviceAddr)s of the
//! queues' own coherent memory, which the transport keeps (with every buffer in flight)
//! until the device has been reset; if it never confirms the reset, they are kept forever.

use alloc::vec::Vec;
use core::fmt;

use super::pci_caps::{Region, VirtioCapError, VirtioRegions};
use super::queue::{DmaBuffer, QueueError, RequestId, UsedChain, VirtQueue};
use super::ring::{DRIVER_QUEUE_CAP, Segment};
use super::spec::{self, common, feature, status};
use crate::bus::pci::bar::BarError;
use crate::bus::pci::caps::CapError;
use crate::bus::pci::msix::{Msix, MsixError};
use crate::bus::pci::{PciAddress, PciDevice};
use crate::mm::dma::DmaError;
use crate::mm::{Frame, IoMem, PAGE_SIZE};
use crate::trap::IrqLine;

/// How long a reset may take before the device is given up on.
pub const RESET_TIMEOUT_MS: u64 = 100;
/// How many times a device-configuration read is tried while the generation changes.
pub const CONFIG_TRIES: u32 = 8;

/// A transport operation that failed, and on which device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// The device.
    pub device: PciAddress,
    /// What went wrong.
    pub kind: TransportErrorKind,
}

/// What went wrong. Variants up to `ConfigUnstable` are the device's doing; the rest are
/// the caller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The function is not a virtio device the transport drives.
    NotVirtio {
        /// Its vendor ID.
        vendor: u16,
        /// Its device ID.
        device: u16,
    },
    /// The device has no modern (1.x) interface.
    LegacyOnly,
    /// The capability list is malformed.
    Caps(CapError),
    /// The virtio capabilities are malformed.
    VirtioCaps(VirtioCapError),
    /// A BAR cannot be used.
    Bar(BarError),
    /// MSI-X cannot be set up.
    Msix(MsixError),
    /// The device did not read back status 0 within [`RESET_TIMEOUT_MS`].
    ResetTimeout {
        /// The status it kept reading back.
        status: u8,
    },
    /// A register holds a value outside its range.
    Violation {
        /// The register.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The device does not offer a feature the transport requires.
    MissingFeature {
        /// The feature bit.
        bit: u32,
    },
    /// The device cleared FEATURES_OK: it refuses the features written.
    FeaturesRejected {
        /// The features written.
        features: u64,
    },
    /// `config_generation` kept changing for [`CONFIG_TRIES`] reads.
    ConfigUnstable,
    /// The device refused an MSI-X vector (read back `NO_VECTOR`).
    VectorRefused {
        /// "config" or "queue".
        what: &'static str,
        /// The MSI-X entry offered.
        entry: u16,
    },
    /// The device could not be reset earlier; it is left alone.
    Quarantined,
    /// A device-configuration access outside the region or misaligned.
    ConfigOutOfRange {
        /// Offset asked for.
        offset: usize,
        /// Bytes asked for.
        len: usize,
    },
    /// Queue `index` does not exist, or is not set up.
    NoSuchQueue {
        /// The queue.
        index: u16,
    },
    /// A queue size that is zero, not a power of two, or larger than the device allows.
    BadQueueSize {
        /// The size asked for.
        size: u16,
    },
    /// A ring buffer is too small or misaligned for the queue size.
    BadRing {
        /// "desc", "avail" or "used".
        ring: &'static str,
    },
    /// A DMA operation failed.
    Dma(DmaError),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "virtio-pci {}: ", self.device)?;
        match self.kind {
            TransportErrorKind::Caps(e) => write!(f, "{e}"),
            TransportErrorKind::VirtioCaps(e) => write!(f, "{e}"),
            TransportErrorKind::Bar(e) => write!(f, "{e}"),
            TransportErrorKind::Msix(e) => write!(f, "{e}"),
            TransportErrorKind::Violation { field, value } => {
                write!(f, "{field} holds {value:#x}, outside its range")
            }
            TransportErrorKind::ResetTimeout { status } => {
                write!(f, "status still {status:#x} {RESET_TIMEOUT_MS} ms after reset; quarantined")
            }
            other => write!(f, "{other:?}"),
        }
    }
}

struct Queue {
    index: u16,
    notify_offset: usize,
    /// The rings and the buffers in flight, kept while the device may use them.
    ring: VirtQueue,
}

/// A claimed modern virtio-pci device.
///
/// # Invariants
/// `common`, `notify`, `isr` and `device_cfg` map the regions of `regions`, which were
/// checked against the BARs (so `common` is at least `common::MIN_LEN` bytes). Every queue
/// in `queues` has a notify offset checked against `notify`. While the device may use a
/// queue's rings (since its `queue_desc` was written and until a reset completes), the
/// queue's memory is in `queues`, or leaked if the device never confirmed a reset.
pub struct VirtioPciDevice {
    pci: PciDevice,
    device_type: u16,
    regions: VirtioRegions,
    common: IoMem,
    notify: IoMem,
    isr: IoMem,
    device_cfg: Option<IoMem>,
    msix: Option<Msix>,
    next_entry: u16,
    queues: Vec<Queue>,
    status: u8,
    features: u64,
    quarantined: bool,
}

impl fmt::Debug for VirtioPciDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtioPciDevice({}, type {})", self.pci.address(), self.device_type)
    }
}

impl VirtioPciDevice {
    /// Claims the first unclaimed modern virtio device of `device_type` (1 = net, 2 = block) and
    /// sets it up as [`Self::new`] does. `None` if there is none.
    pub fn claim(device_type: u16) -> Option<Result<Self, TransportError>> {
        let id = spec::PCI_MODERN_BASE.checked_add(device_type)?;
        PciDevice::claim(spec::PCI_VENDOR, id).map(Self::new)
    }

    /// Maps the device's virtio structures and MSI-X table, turns on memory decoding and
    /// bus mastering, and resets it.
    ///
    /// # Errors
    /// Not a virtio device, legacy-only, malformed capabilities, unusable BARs or MSI-X
    /// table, or a reset that does not complete.
    pub fn new(pci: PciDevice) -> Result<Self, TransportError> {
        let address = pci.address();
        let err = |kind| TransportError { device: address, kind };
        let function = pci.function();
        let id = function.device;
        let device_type = match id {
            _ if function.vendor != spec::PCI_VENDOR => None,
            0x1040..=0x107f => Some(id - spec::PCI_MODERN_BASE),
            _ if spec::PCI_TRANSITIONAL.contains(&id) => Some((address.read32(0x2c) >> 16) as u16),
            _ => None,
        };
        let Some(device_type) = device_type else {
            let (vendor, device) = (function.vendor, function.device);
            return Err(err(TransportErrorKind::NotVirtio { vendor, device }));
        };
        let caps = pci.capabilities().map_err(|e| err(TransportErrorKind::Caps(e)))?;
        let regions = VirtioRegions::parse(caps.vendor_caps(), &pci.memory_bar_lens()).map_err(
            |e| match e {
                VirtioCapError::Missing { cfg_type: spec::cfg_type::COMMON } => {
                    err(TransportErrorKind::LegacyOnly)
                }
                e => err(TransportErrorKind::VirtioCaps(e)),
            },
        )?;
        let map = |r: Region| {
            let bar = pci.bar(r.bar).map_err(|e| err(TransportErrorKind::Bar(e)))?;
            bar.map(r.offset, r.length).map_err(|e| err(TransportErrorKind::Bar(e)))
        };
        let (common, notify, isr) = (map(regions.common)?, map(regions.notify)?, map(regions.isr)?);
        let device_cfg = regions.device.map(map).transpose()?;
        pci.enable_memory();
        pci.enable_bus_master();
        let msix = match Msix::new(&pci) {
            Ok(msix) => Some(msix),
            Err(MsixError::NoCapability) => None,
            Err(e) => return Err(err(TransportErrorKind::Msix(e))),
        };
        let mut dev = Self {
            pci,
            device_type,
            regions,
            common,
            notify,
            isr,
            device_cfg,
            msix,
            next_entry: 0,
            queues: Vec::new(),
            status: 0,
            features: 0,
            quarantined: false,
        };
        dev.reset()?;
        Ok(dev)
    }

    fn err(&self, kind: TransportErrorKind) -> TransportError {
        TransportError { device: self.pci.address(), kind }
    }

    fn violation(&self, field: &'static str, value: u64) -> TransportError {
        self.err(TransportErrorKind::Violation { field, value })
    }

    /// Returns the PCI address.
    pub fn address(&self) -> PciAddress {
        self.pci.address()
    }

    /// Returns how many DMA faults the IOMMU has recorded for this device since boot (0
    /// without an IOMMU). A rise means the device tried to reach memory outside the shared
    /// pool: the driver should fail it.
    pub fn dma_faults(&self) -> u64 {
        crate::iommu::faults_of(self.address())
    }

    /// Returns the virtio device type (1 = net, 2 = block).
    pub fn device_type(&self) -> u16 {
        self.device_type
    }

    /// Returns the validated regions of the device's BARs.
    pub fn regions(&self) -> &VirtioRegions {
        &self.regions
    }

    /// Returns the features negotiated (0 before [`Self::negotiate`]).
    pub fn features(&self) -> u64 {
        self.features
    }

    /// Returns the device status as the device reports it now (device-provided).
    pub fn device_status(&self) -> u8 {
        self.common.read::<u8>(common::DEVICE_STATUS)
    }

    /// Resets the device: writes status 0 and waits, at most [`RESET_TIMEOUT_MS`], for it
    /// to read back 0. Then the device no longer uses any ring, and the queues' memory is
    /// released.
    ///
    /// # Errors
    /// The device never reads back 0: it is quarantined (later operations fail with
    /// [`TransportErrorKind::Quarantined`], and its rings are never freed).
    pub fn reset(&mut self) -> Result<(), TransportError> {
        if self.quarantined {
            return Err(self.err(TransportErrorKind::Quarantined));
        }
        self.common.write::<u8>(common::DEVICE_STATUS, 0);
        let start = crate::time::monotonic_ns();
        let deadline = RESET_TIMEOUT_MS * 1_000_000;
        // The spin count bounds the wait even if the clock is not running yet.
        for _ in 0..10_000_000u32 {
            if self.device_status() == 0 {
                self.status = 0;
                self.features = 0;
                self.queues.clear();
                return Ok(());
            }
            if crate::time::monotonic_ns().saturating_sub(start) > deadline {
                break;
            }
            core::hint::spin_loop();
        }
        self.quarantine();
        Err(self.err(TransportErrorKind::ResetTimeout { status: self.device_status() }))
    }

    fn quarantine(&mut self) {
        self.quarantined = true;
        // The device may still write these rings: never give them back to the pool.
        for queue in self.queues.drain(..) {
            core::mem::forget(queue.ring);
        }
    }

    fn add_status(&mut self, bits: u8) {
        self.status |= bits;
        self.common.write::<u8>(common::DEVICE_STATUS, self.status);
    }

    /// Resets the device, acknowledges it, and negotiates features: the driver's
    /// `wanted` set, intersected with the device's, plus VERSION_1 (required) and
    /// ACCESS_PLATFORM when offered (device addresses are always shared-pool addresses,
    /// valid with or without platform translation). Returns the features agreed.
    ///
    /// # Errors
    /// The reset fails, the device does not offer VERSION_1, or it clears FEATURES_OK.
    pub fn negotiate(&mut self, wanted: u64) -> Result<u64, TransportError> {
        self.reset()?;
        self.add_status(status::ACKNOWLEDGE);
        self.add_status(status::DRIVER);
        let mut offered = 0u64;
        for half in 0..2u32 {
            self.common.write::<u32>(common::DEVICE_FEATURE_SELECT, half);
            let bits = self.common.read::<u32>(common::DEVICE_FEATURE);
            offered |= u64::from(bits) << (32 * half);
        }
        let version_1 = 1u64 << feature::VERSION_1;
        if offered & version_1 == 0 {
            return Err(self.err(TransportErrorKind::MissingFeature { bit: feature::VERSION_1 }));
        }
        let features = (wanted & offered) | version_1 | (offered & 1 << feature::ACCESS_PLATFORM);
        for half in 0..2u32 {
            self.common.write::<u32>(common::DRIVER_FEATURE_SELECT, half);
            self.common.write::<u32>(common::DRIVER_FEATURE, (features >> (32 * half)) as u32);
        }
        self.add_status(status::FEATURES_OK);
        if self.device_status() & status::FEATURES_OK == 0 {
            return Err(self.err(TransportErrorKind::FeaturesRejected { features }));
        }
        self.features = features;
        Ok(features)
    }

    /// Reads the device-configuration field of `N` bytes (1, 2, 4 or 8, naturally aligned;
    /// 8-byte fields as two 4-byte reads) at `offset`, retrying while `config_generation`
    /// changes, and returns it as little-endian bytes.
    fn read_device_config<const N: usize>(&self, offset: usize) -> Result<[u8; N], TransportError> {
        let out_of_range = self.err(TransportErrorKind::ConfigOutOfRange { offset, len: N });
        let cfg = self.device_cfg.as_ref().ok_or(out_of_range)?;
        let align = N.min(4);
        let end = offset.checked_add(N).ok_or(out_of_range)?;
        if end > cfg.len() || !offset.is_multiple_of(align) {
            return Err(out_of_range);
        }
        for _ in 0..CONFIG_TRIES {
            let before = self.common.read::<u8>(common::CONFIG_GENERATION);
            let mut out = [0u8; N];
            match N {
                1 => out[0] = cfg.read::<u8>(offset),
                2 => out.copy_from_slice(&cfg.read::<u16>(offset).to_le_bytes()[..N]),
                _ => {
                    for (i, word) in out.chunks_exact_mut(4).enumerate() {
                        word.copy_from_slice(&cfg.read::<u32>(offset + 4 * i).to_le_bytes());
                    }
                }
            }
            if self.common.read::<u8>(common::CONFIG_GENERATION) == before {
                return Ok(out);
            }
        }
        Err(self.err(TransportErrorKind::ConfigUnstable))
    }

    /// Reads a `u8` of device configuration.
    ///
    /// # Errors
    /// Outside the device-configuration region, or the generation never settles.
    pub fn config_u8(&self, offset: usize) -> Result<u8, TransportError> {
        Ok(self.read_device_config::<1>(offset)?[0])
    }

    /// Reads a little-endian `u16` of device configuration (2-aligned).
    ///
    /// # Errors
    /// As [`Self::config_u8`], or misaligned.
    pub fn config_u16(&self, offset: usize) -> Result<u16, TransportError> {
        Ok(u16::from_le_bytes(self.read_device_config(offset)?))
    }

    /// Reads a little-endian `u32` of device configuration (4-aligned).
    ///
    /// # Errors
    /// As [`Self::config_u16`].
    pub fn config_u32(&self, offset: usize) -> Result<u32, TransportError> {
        Ok(u32::from_le_bytes(self.read_device_config(offset)?))
    }

    /// Reads a little-endian `u64` of device configuration (4-aligned), consistent across
    /// its two halves.
    ///
    /// # Errors
    /// As [`Self::config_u16`].
    pub fn config_u64(&self, offset: usize) -> Result<u64, TransportError> {
        Ok(u64::from_le_bytes(self.read_device_config(offset)?))
    }

    /// Returns how many queues the device has.
    pub fn num_queues(&self) -> u16 {
        self.common.read::<u16>(common::NUM_QUEUES)
    }

    /// Selects queue `index` and returns its size: the device's, capped to `driver_max`.
    ///
    /// # Errors
    /// The queue does not exist (index past `num_queues`, or size 0), the device's size
    /// is not a power of two, or `driver_max` is not a nonzero power of two.
    pub fn queue_size(&self, index: u16, driver_max: u16) -> Result<u16, TransportError> {
        if !driver_max.is_power_of_two() {
            return Err(self.err(TransportErrorKind::BadQueueSize { size: driver_max }));
        }
        if index >= self.num_queues() {
            return Err(self.err(TransportErrorKind::NoSuchQueue { index }));
        }
        self.common.write::<u16>(common::QUEUE_SELECT, index);
        let size = self.common.read::<u16>(common::QUEUE_SIZE);
        if size == 0 {
            return Err(self.err(TransportErrorKind::NoSuchQueue { index }));
        }
        if !size.is_power_of_two() {
            return Err(self.violation("queue_size", u64::from(size)));
        }
        Ok(size.min(driver_max))
    }

    /// Sets up queue `index`: sizes it (the device's size, capped at the driver's
    /// maximum), allocates its rings in the shared pool, binds `irq` (if given) to a fresh
    /// MSI-X entry for it, and enables it. Without `irq` the queue gets no vector
    /// (`NO_VECTOR`) and raises no interrupt: poll it. The queue's notify offset is checked
    /// here. Returns the queue size.
    ///
    /// # Errors
    /// No such queue or a bad size; no pool memory; a `queue_notify_off` outside the notify
    /// region; the device refusing the MSI-X vector; or MSI-X errors (no MSI-X, or no free
    /// entry: see [`Self::free_irq_entries`]). A line given is dropped with the error.
    pub fn setup_queue(&mut self, index: u16, irq: Option<IrqLine>) -> Result<u16, TransportError> {
        if self.quarantined {
            return Err(self.err(TransportErrorKind::Quarantined));
        }
        let size = self.queue_size(index, DRIVER_QUEUE_CAP)?;
        let ring = VirtQueue::new(size).map_err(|e| match e {
            QueueError::Dma(e) => self.err(TransportErrorKind::Dma(e)),
            _ => self.err(TransportErrorKind::BadQueueSize { size }),
        })?;
        let areas = ring.areas();
        let notify_off = self.common.read::<u16>(common::QUEUE_NOTIFY_OFF);
        let notify_offset = self
            .regions
            .notify_offset(notify_off)
            .map_err(|e| self.err(TransportErrorKind::VirtioCaps(e)))?;
        let entry = match irq {
            Some(line) => Some(self.bind_entry(line)?),
            None => None,
        };

        self.common.write::<u16>(common::QUEUE_SIZE, areas.size);
        let addrs = [areas.desc, areas.driver, areas.device].map(|a| a.as_u64());
        for (reg, addr) in
            [common::QUEUE_DESC, common::QUEUE_DRIVER, common::QUEUE_DEVICE].into_iter().zip(addrs)
        {
            self.common.write::<u32>(reg, addr as u32);
            self.common.write::<u32>(reg + 4, (addr >> 32) as u32);
        }
        // From here the device may use the rings: keep them until a reset completes.
        self.queues.retain(|q| q.index != index);
        // Fits: checked against the notify region's length, which is a usize (mapped).
        let notify_offset = notify_offset as usize;
        self.queues.push(Queue { index, notify_offset, ring });
        match entry {
            Some(entry) => self.set_vector(common::QUEUE_MSIX_VECTOR, "queue", entry)?,
            // Said explicitly rather than left to the reset: with MSI-X on, a queue whose
            // vector still named an entry would interrupt through it.
            None if self.msix.is_some() => {
                self.common.write::<u16>(common::QUEUE_MSIX_VECTOR, spec::NO_VECTOR);
            }
            None => {}
        }
        self.common.write::<u16>(common::QUEUE_ENABLE, 1);
        Ok(areas.size)
    }

    /// Posts `buffers` as one chain on queue `index` (those the device reads first) and
    /// notifies the device. The transport keeps the buffers until the chain comes back
    /// from [`Self::pop_used`], or the device is reset.
    ///
    /// # Errors
    /// The queue is not set up, full ([`QueueError::Full`]) or broken, or the chain is
    /// malformed; the buffers come back with the error.
    pub fn submit(
        &mut self,
        index: u16,
        buffers: Vec<DmaBuffer>,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        let id = self.post(index, buffers)?;
        // `post` checked the queue is set up, so this cannot fail.
        let _ = self.notify(index);
        Ok(id)
    }

    /// Posts `buffers` as one chain on queue `index`, as [`Self::submit`] does, but does not
    /// notify the device: call [`Self::notify`] once after posting a batch. Until then the
    /// device may or may not see the chain (it may be polling the ring).
    ///
    /// # Errors
    /// As [`Self::submit`]; the buffers come back with the error.
    pub fn post(
        &mut self,
        index: u16,
        buffers: Vec<DmaBuffer>,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        let Some(queue) = self.queues.iter_mut().find(|q| q.index == index) else {
            return Err((QueueError::NotSetUp { index }, buffers));
        };
        queue.ring.submit(buffers)
    }

    /// Asks the device to interrupt (`on`) or not when it finishes a chain on queue `index`
    /// (`VIRTQ_AVAIL_F_NO_INTERRUPT`). A hint the device may ignore; interrupts are on when a
    /// queue is set up. After turning them back on, call [`Self::pop_used`] once more: a chain
    /// finished while they were off raised none.
    ///
    /// # Errors
    /// The queue is not set up, or the device broke the protocol earlier.
    pub fn set_queue_interrupts(&mut self, index: u16, on: bool) -> Result<(), QueueError> {
        let queue = self
            .queues
            .iter_mut()
            .find(|q| q.index == index)
            .ok_or(QueueError::NotSetUp { index })?;
        queue.ring.set_interrupts(on)
    }

    /// Posts `buffers` on queue `index` as [`Self::submit`] does, but with a segment at
    /// `position` that names the private `frame` (its first `len` bytes, written by the
    /// device if `device_writable`) instead of a pool buffer: the IOMMU fault ktest's bad
    /// DMA address (`tests.rs`). The device's access to it must fault in the IOMMU.
    ///
    /// Visible only inside `bus::virtio`, and refused (the buffers come back with
    /// [`QueueError::BadChain`]) unless the device reaches memory through the IOMMU
    /// (ACCESS_PLATFORM negotiated, translation on, and the DMAR plainly covers the device)
    /// and the IOMMU blocks the frame, so even this path cannot let a device reach private
    /// memory. Everything else a device is given is a
    /// [`DeviceAddr`](crate::mm::dma::DeviceAddr).
    pub(super) fn submit_blocked_for_test(
        &mut self,
        index: u16,
        buffers: Vec<DmaBuffer>,
        position: usize,
        frame: &Frame,
        len: u32,
        device_writable: bool,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        let translated = self.features & 1 << feature::ACCESS_PLATFORM != 0
            && crate::iommu::translates_for(self.address());
        if !translated || crate::iommu::device_translation(frame.paddr()) != Some(None) {
            return Err((QueueError::BadChain("an address the IOMMU does not block"), buffers));
        }
        if len == 0 || len as usize > PAGE_SIZE {
            return Err((
                QueueError::BadChain("a blocked segment empty or past its frame"),
                buffers,
            ));
        }
        let Some(queue) = self.queues.iter_mut().find(|q| q.index == index) else {
            return Err((QueueError::NotSetUp { index }, buffers));
        };
        let blocked = Segment { addr: frame.paddr(), len, device_writable };
        let id = queue.ring.submit_with_blocked(buffers, position, blocked)?;
        self.notify.write::<u16>(queue.notify_offset, index);
        Ok(id)
    }

    /// Returns how many descriptors queue `index` has free (0 if it is not set up).
    pub fn free_descriptors(&self, index: u16) -> usize {
        self.queues.iter().find(|q| q.index == index).map_or(0, |q| q.ring.free_descriptors())
    }

    /// Takes the next chain the device has finished with on queue `index`, if any.
    ///
    /// # Errors
    /// The queue is not set up, or the device broke the protocol: [`Self::fail`] it.
    pub fn pop_used(&mut self, index: u16) -> Result<Option<UsedChain>, QueueError> {
        let queue = self
            .queues
            .iter_mut()
            .find(|q| q.index == index)
            .ok_or(QueueError::NotSetUp { index })?;
        queue.ring.pop_used()
    }

    /// Binds `line` to the device-configuration-change interrupt.
    ///
    /// # Errors
    /// No MSI-X, the table is full, or the device refuses the vector.
    pub fn set_config_irq(&mut self, line: IrqLine) -> Result<(), TransportError> {
        let entry = self.bind_entry(line)?;
        self.set_vector(common::CONFIG_MSIX_VECTOR, "config", entry)
    }

    /// Returns the interrupt line bound to queue `index` or to config changes, by the
    /// order they were bound: MSI-X entry `entry`.
    pub fn irq(&self, entry: u16) -> Option<&IrqLine> {
        self.msix.as_ref()?.line(entry)
    }

    /// Returns how many more interrupt lines can be bound (queues set up with a line, or the
    /// configuration interrupt): the MSI-X entries not yet used, 0 without MSI-X. A driver
    /// with more queues than this sets the least urgent ones up without a line, and polls
    /// them.
    pub fn free_irq_entries(&self) -> u16 {
        self.msix.as_ref().map_or(0, |msix| msix.table_size().saturating_sub(self.next_entry))
    }

    fn bind_entry(&mut self, line: IrqLine) -> Result<u16, TransportError> {
        let entry = self.next_entry;
        let address = self.pci.address();
        let err = |e| TransportError { device: address, kind: TransportErrorKind::Msix(e) };
        let msix = self.msix.as_mut().ok_or(err(MsixError::NoCapability))?;
        msix.bind(entry, line).map_err(err)?;
        msix.unmask(entry).map_err(err)?;
        self.next_entry += 1;
        Ok(entry)
    }

    fn set_vector(&self, reg: usize, what: &'static str, entry: u16) -> Result<(), TransportError> {
        self.common.write::<u16>(reg, entry);
        let back = self.common.read::<u16>(reg);
        if back == spec::NO_VECTOR {
            return Err(self.err(TransportErrorKind::VectorRefused { what, entry }));
        }
        if back != entry {
            return Err(self.violation(
                if what == "queue" { "queue_msix_vector" } else { "config_msix_vector" },
                u64::from(back),
            ));
        }
        Ok(())
    }

    /// Tells the device that queue `index` has new buffers.
    ///
    /// # Errors
    /// The queue is not set up.
    pub fn notify(&self, index: u16) -> Result<(), TransportError> {
        let queue = self
            .queues
            .iter()
            .find(|q| q.index == index)
            .ok_or(self.err(TransportErrorKind::NoSuchQueue { index }))?;
        self.notify.write::<u16>(queue.notify_offset, index);
        Ok(())
    }

    /// Reads (and so clears) the ISR status: bit 0 a queue interrupt, bit 1 a
    /// configuration change.
    pub fn read_isr(&self) -> u8 {
        self.isr.read::<u8>(0)
    }

    /// Sets DRIVER_OK: the device may start using its queues.
    ///
    /// # Errors
    /// The device was quarantined, or reports NEEDS_RESET.
    pub fn driver_ok(&mut self) -> Result<(), TransportError> {
        if self.quarantined {
            return Err(self.err(TransportErrorKind::Quarantined));
        }
        self.add_status(status::DRIVER_OK);
        let now = self.device_status();
        if now & status::NEEDS_RESET != 0 {
            return Err(self.violation("device_status", u64::from(now)));
        }
        Ok(())
    }

    /// Gives up on the device: sets FAILED, then resets it, so it stops using its rings.
    ///
    /// # Errors
    /// The reset does not complete (see [`Self::reset`]).
    pub fn fail(&mut self) -> Result<(), TransportError> {
        if !self.quarantined {
            self.add_status(status::FAILED);
        }
        self.reset()
    }
}

impl Drop for VirtioPciDevice {
    fn drop(&mut self) {
        if let Err(e) = self.reset() {
            log::warn!("{e}");
        }
    }
}
