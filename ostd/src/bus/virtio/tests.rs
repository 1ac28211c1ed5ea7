//! The transport against QEMU's virtio-blk, when one is attached (the run skips otherwise),
//! and, behind QEMU's intel-iommu, the end-to-end IOMMU test: a descriptor that names a
//! private frame makes the IOMMU log a DMA fault instead of the device reaching memory, and
//! the device is failed, reset and works again.
//!
//! The tests share one disk: a claim lasts for the boot, the kernel's virtio-blk tests hold
//! the other disk the harness attaches, and each test leaves this one reset.

use alloc::vec;
use alloc::vec::Vec;

use super::spec::{self, feature, status};
use super::{DmaBuffer, QueueError, UsedChain, VirtioPciDevice};
use crate::bus::pci::PciDevice;
use crate::bus::pci::bar::BarKind;
use crate::mm::dma::{DmaStream, FromDevice, ToDevice};
use crate::mm::{Frame, PAGE_SIZE};
use crate::sync::{Mutex, MutexGuard};
use crate::trap::IrqLine;

/// The largest queue the test asks for.
const QUEUE_MAX: u16 = 256;
/// The request queue of a virtio-blk device (§5.2.2).
const REQUEST_QUEUE: u16 = 0;
/// How long the device gets to act on a notification (TCG is slow; this is a bound, not
/// an expected time).
const DEVICE_WAIT_MS: u64 = 2_000;

fn no_disk(test: &str) -> bool {
    let present = PciDevice::unclaimed().iter().any(|f| {
        f.vendor == spec::PCI_VENDOR && f.device == spec::PCI_MODERN_BASE + spec::DEVICE_TYPE_BLOCK
    });
    // The harness says when it attached disks: then a missing one is a failure, not a skip.
    let expected = crate::boot::boot_info().cmdline.value("ktest.disk") == Some("pattern");
    assert!(present || !expected, "ktest.disk=pattern, but no unclaimed virtio-blk is attached");
    if !present {
        crate::early_println!("ktest {test}: skipped: no virtio-blk");
    }
    !present
}

/// The disk the tests share, once one of them has claimed it.
static DISK: spin::Once<Mutex<VirtioPciDevice>> = spin::Once::new();

/// Returns the shared disk, claiming it (and checking its BARs) on first use, or `None`
/// (skip) when the harness attached none.
fn test_disk(test: &str) -> Option<MutexGuard<'static, VirtioPciDevice>> {
    if let Some(disk) = DISK.get() {
        return Some(disk.lock());
    }
    if no_disk(test) {
        return None;
    }
    // Claimed outside `call_once`: a test that panics inside it would leave the `Once`
    // running, and the next test would spin on it instead of failing.
    let dev = VirtioPciDevice::new(claim_and_check_bars()).unwrap_or_else(|e| panic!("{e}"));
    Some(DISK.call_once(|| Mutex::new(dev)).lock())
}

/// Claims the disk, and checks its BARs size and map and its capabilities parse.
fn claim_and_check_bars() -> PciDevice {
    let id = spec::PCI_MODERN_BASE + spec::DEVICE_TYPE_BLOCK;
    let pci = PciDevice::claim(spec::PCI_VENDOR, id).expect("claim");
    assert!(
        PciDevice::claim(spec::PCI_VENDOR, id).is_none_or(|d| d.address() != pci.address()),
        "a function was claimed twice"
    );
    let mut memory_bars = 0;
    for index in 0..6 {
        let Ok(bar) = pci.bar(index) else { continue };
        crate::early_println!(
            "  BAR {index}: {:?} {:#x} + {:#x}",
            bar.kind(),
            bar.base(),
            bar.len()
        );
        assert!(bar.len().is_power_of_two());
        if bar.kind() != BarKind::Io {
            memory_bars += 1;
            match bar.map(0, bar.len().min(0x1000)) {
                Ok(mem) => assert_eq!(mem.paddr(), bar.base()),
                Err(e) => panic!("{}: {e}", pci.address()),
            }
        }
    }
    assert!(memory_bars >= 2, "virtio-blk has an MSI-X BAR and a 64-bit virtio BAR");
    let caps = pci.capabilities().expect("capability list");
    assert!(caps.find(crate::bus::pci::caps::CAP_MSIX).is_some());
    assert!(caps.vendor_caps().count() >= 4, "common, notify, ISR and device caps");
    pci
}

/// Calls `poll` until it returns `Some`, for at most `ms` milliseconds; `None` if it never did.
fn wait_for<R>(ms: u64, mut poll: impl FnMut() -> Option<R>) -> Option<R> {
    let deadline = crate::time::monotonic_ns() + ms * 1_000_000;
    loop {
        if let Some(done) = poll() {
            return Some(done);
        }
        if crate::time::monotonic_ns() > deadline {
            return None;
        }
        crate::task::sleep_ms(1);
    }
}

/// Negotiates (ACCESS_PLATFORM included when offered), sets up the request queue without an
/// interrupt (the tests poll) and sets DRIVER_OK.
fn bring_up(dev: &mut VirtioPciDevice) {
    dev.negotiate(1 << feature::ACCESS_PLATFORM).unwrap_or_else(|e| panic!("{e}"));
    dev.setup_queue(REQUEST_QUEUE, None).unwrap_or_else(|e| panic!("{e}"));
    dev.driver_ok().unwrap_or_else(|e| panic!("{e}"));
}

/// The device-readable header of a virtio-blk read of `sector` (§5.2.6: `le32 type` 0 =
/// IN, `le32 reserved`, `le64 sector`), and the device-writable status byte that ends it.
fn read_request(sector: u64) -> (DmaBuffer, DmaBuffer) {
    let header = DmaStream::<ToDevice>::alloc(16).expect("pool memory");
    let mut bytes = [0u8; 16];
    bytes[8..].copy_from_slice(&sector.to_le_bytes());
    header.sync_to_device(0, &bytes).expect("in bounds");
    let status = DmaStream::<FromDevice>::alloc(1).expect("pool memory");
    (DmaBuffer::ToDevice(header), DmaBuffer::FromDevice(status))
}

/// Copies out what the device wrote into `chain`'s device-writable buffer `index`.
fn written(chain: &UsedChain, index: usize) -> Vec<u8> {
    let Some(DmaBuffer::FromDevice(buf)) = chain.buffers.get(index) else {
        panic!("buffer {index} of the chain is not device-writable");
    };
    let mut out = vec![0u8; buf.len()];
    buf.sync_from_device(0, &mut out).expect("in bounds");
    out
}

/// A sector of the harness's pattern disks (sector `k` starts with `k` as a le64, then zeros).
const SECTOR: u64 = 42;
/// What the private frame holds before, and must still hold after, the blocked read.
const FILL: u8 = 0xa5;

crate::ktest! {
    fn virtio_blk_maps_negotiates_reads_capacity_and_sets_up_an_msix_queue() {
        let Some(mut dev) =
            test_disk("virtio_blk_maps_negotiates_reads_capacity_and_sets_up_an_msix_queue")
        else {
            return;
        };
        assert_eq!(dev.device_type(), spec::DEVICE_TYPE_BLOCK);
        let wanted = 1 << feature::ACCESS_PLATFORM;
        let features = dev.negotiate(wanted).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(features & 1 << feature::VERSION_1, 0);
        assert_ne!(dev.device_status() & status::FEATURES_OK, 0);

        // virtio-blk config: le64 capacity in 512-byte sectors at offset 0 (§5.2.4).
        let capacity = dev.config_u64(0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(capacity, 8 * 1024 * 1024 / 512, "the test disk is 8 MiB");
        assert!(dev.config_u64(usize::MAX - 2).is_err(), "out-of-range config read");

        let size = dev.queue_size(0, QUEUE_MAX).unwrap_or_else(|e| panic!("{e}"));
        assert!(size.is_power_of_two() && size <= QUEUE_MAX);
        assert!(dev.queue_size(dev.num_queues(), QUEUE_MAX).is_err());
        let line = IrqLine::alloc().expect("a vector");
        let vector = line.vector();
        line.on_active(|| {});
        let set_up = dev.setup_queue(0, Some(line)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set_up, size);
        assert_eq!(dev.irq(0).map(IrqLine::vector), Some(vector));
        dev.notify(0).unwrap_or_else(|e| panic!("{e}"));
        assert!(dev.notify(1).is_err(), "queue 1 was never set up");
        dev.driver_ok().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(dev.device_status() & status::DRIVER_OK, 0);
        let _ = dev.read_isr();

        dev.reset().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dev.device_status(), 0);
        assert!(
            matches!(dev.pop_used(0), Err(QueueError::NotSetUp { index: 0 })),
            "the queue outlived the reset"
        );
    }

    fn iommu_blocks_a_virtio_blk_read_into_a_private_frame_and_the_reset_device_recovers() {
        const TEST: &str = "iommu_blocks_a_virtio_blk_read_into_a_private_frame";
        if !crate::iommu::tests::enabled_or_skip(TEST) {
            return;
        }
        let Some(mut dev) = test_disk(TEST) else { return };
        let frame = Frame::alloc_zeroed().expect("a frame");
        frame.write_bytes(0, &[FILL; PAGE_SIZE]);
        assert_eq!(crate::iommu::device_translation(frame.paddr()), Some(None));
        assert!(crate::iommu::translates_for(dev.address()), "the DMAR lists the disk");

        // The hook refuses a device that has not agreed to go through the IOMMU (it has
        // negotiated nothing since its reset) and a segment that runs past the frame.
        let refused = |result: Result<_, (QueueError, Vec<DmaBuffer>)>| {
            matches!(result, Err((QueueError::BadChain(_), back)) if back.len() == 2)
        };
        let (header, status_byte) = read_request(SECTOR);
        let chain = vec![header, status_byte];
        assert!(refused(dev.submit_blocked_for_test(REQUEST_QUEUE, chain, 1, &frame, 512, true)));
        bring_up(&mut dev);
        assert_ne!(
            dev.features() & 1 << feature::ACCESS_PLATFORM,
            0,
            "the disk must reach memory through the IOMMU (iommu_platform=on)"
        );
        let (header, status_byte) = read_request(SECTOR);
        let chain = vec![header, status_byte];
        let past = PAGE_SIZE as u32 + 1;
        assert!(refused(dev.submit_blocked_for_test(REQUEST_QUEUE, chain, 1, &frame, past, true)));
        let faults_before = crate::iommu::fault_count();
        let device_faults_before = dev.dma_faults();

        // header | 512 bytes at the private frame (device-writable) | status
        let (header, status_byte) = read_request(SECTOR);
        let blocked_id = dev
            .submit_blocked_for_test(REQUEST_QUEUE, vec![header, status_byte], 1, &frame, 512, true)
            .unwrap_or_else(|(e, _)| panic!("{e:?}"));
        let device = dev.address();
        let fault = wait_for(DEVICE_WAIT_MS, || {
            crate::iommu::poll_faults();
            crate::iommu::recent_faults()
                .into_iter()
                .rev()
                .find(|f| f.device == device && f.page == frame.paddr())
        })
        .unwrap_or_else(|| {
            panic!(
                "no DMA fault from {device} at {:#x} within {DEVICE_WAIT_MS} ms; recent: {:?}",
                frame.paddr(),
                crate::iommu::recent_faults()
            )
        });
        crate::early_println!("  the IOMMU recorded: {fault}");
        assert!(fault.write, "the device tried to store the sector");
        assert!(
            matches!(fault.reason, 0x4 | 0x5 | 0x7),
            "reason {:#x}: the walk must stop at the unmapped page, not at a root or context \
             entry",
            fault.reason
        );
        assert!(crate::iommu::fault_count() > faults_before);
        // What a driver checks after each completion (the kernel's virtio-blk fails the disk).
        assert!(dev.dma_faults() > device_faults_before, "the device's own count rose");

        // What the device makes of the failed access is up to it: QEMU drops the write
        // (the IOMMU faults it again) and completes the chain, claiming success; a device may
        // also stop with NEEDS_RESET. Either way it is done with the chain, so no byte can
        // land after the frame is checked.
        let outcome = wait_for(DEVICE_WAIT_MS, || {
            if let Some(chain) = dev.pop_used(REQUEST_QUEUE).expect("a well-formed used ring") {
                assert_eq!(chain.id, blocked_id);
                return Some(alloc::format!("completed, claiming {} bytes", chain.written));
            }
            let now = dev.device_status();
            (now & status::NEEDS_RESET != 0).then(|| alloc::format!("status {now:#x}"))
        })
        .expect("the device neither completed the chain nor asked for a reset");
        crate::early_println!("  the device: {outcome}");
        let mut after = [0u8; PAGE_SIZE];
        frame.read_bytes(0, &mut after);
        assert!(after.iter().all(|&b| b == FILL), "the device reached the private frame");

        // Failed and reset through the transport's bounded path: the device is idle and
        // its rings are released.
        dev.fail().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dev.device_status(), 0);
        assert!(matches!(dev.pop_used(REQUEST_QUEUE), Err(QueueError::NotSetUp { .. })));

        // Brought up again, the same device reads the same sector through pool buffers,
        // with no new fault.
        bring_up(&mut dev);
        let faults_before_good_read = crate::iommu::fault_count();
        let device_faults_before_good_read = dev.dma_faults();
        let (header, status_byte) = read_request(SECTOR);
        let data = DmaBuffer::FromDevice(DmaStream::alloc(512).expect("pool memory"));
        let id = dev
            .submit(REQUEST_QUEUE, vec![header, data, status_byte])
            .unwrap_or_else(|(e, _)| panic!("{e:?}"));
        let chain = wait_for(DEVICE_WAIT_MS, || dev.pop_used(REQUEST_QUEUE).expect("protocol"))
            .expect("the read after the reset completes");
        assert_eq!(chain.id, id);
        assert_eq!(written(&chain, 2), [0], "status VIRTIO_BLK_S_OK");
        let sector = written(&chain, 1);
        assert_eq!(sector[..8], SECTOR.to_le_bytes());
        assert!(sector[8..].iter().all(|&b| b == 0));
        crate::iommu::poll_faults();
        assert_eq!(crate::iommu::fault_count(), faults_before_good_read);
        assert_eq!(dev.dma_faults(), device_faults_before_good_read, "a good read, no fault");
        dev.reset().unwrap_or_else(|e| panic!("{e}"));
    }
}
