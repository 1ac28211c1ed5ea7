//! The IOMMU on the machine: on when a DMAR exists and no TEE does, and then the domain maps
//! the shared pool and nothing else (checked by walking its tables in memory).
//!
//! With `intel-iommu` and `iommu_platform=on` disks, the virtio-blk ktests
//! (`kernel/src/device/virtio/blk_tests.rs`) show that devices still work through it, and
//! `bus::virtio::tests` that a descriptor at a private frame faults instead.

use crate::mm::dma::{SharedBuffer, pool};
use crate::mm::{Frame, PAGE_SIZE};
use crate::tee::{Platform, platform};

/// Returns whether the IOMMU is on; if not, says the test `test` skipped. The harness says
/// when it attached one (`ktest.iommu=on`): then an IOMMU that is off fails the test instead,
/// so a run behind intel-iommu cannot pass by skipping.
pub(crate) fn enabled_or_skip(test: &str) -> bool {
    let expected = crate::boot::boot_info().cmdline.value("ktest.iommu") == Some("on");
    assert!(super::is_enabled() || !expected, "ktest.iommu=on, but the IOMMU is off");
    if !super::is_enabled() {
        crate::early_println!("ktest {test}: skipped: the IOMMU is off");
    }
    super::is_enabled()
}

crate::ktest! {
    fn iommu_translates_exactly_when_a_dmar_exists_and_no_tee_does() {
        let expected = crate::bus::acpi::dmar().is_some() && platform() == Platform::None;
        assert_eq!(super::is_enabled(), expected);
        assert_eq!(super::device_translation(0x1000).is_some(), expected);
    }

    fn iommu_maps_pool_buffers_to_themselves() {
        if !enabled_or_skip("iommu_maps_pool_buffers_to_themselves") {
            return;
        }
        let buf = SharedBuffer::alloc(3 * PAGE_SIZE).unwrap();
        let addr = buf.device_addr().as_u64();
        for offset in [0, PAGE_SIZE as u64, 3 * PAGE_SIZE as u64 - 8] {
            assert_eq!(super::device_translation(addr + offset), Some(Some(addr + offset)));
        }
    }

    fn iommu_blocks_private_frames_and_its_own_tables() {
        if !enabled_or_skip("iommu_blocks_private_frames_and_its_own_tables") {
            return;
        }
        let frame = Frame::alloc_zeroed().unwrap();
        assert_eq!(super::device_translation(frame.paddr()), Some(None), "a private frame");
        let kernel = crate::boot::boot_info().kernel_image().start;
        assert_eq!(super::device_translation(kernel), Some(None), "the kernel image");
        let root = super::IOMMU.get().unwrap().lock().domain.root_table();
        assert!(super::is_iommu_table(root));
        assert_eq!(super::device_translation(root), Some(None), "the IOMMU's root table");
    }

    fn iommu_maps_a_grown_chunk_and_unmaps_it_when_the_pool_shrinks() {
        if !enabled_or_skip("iommu_maps_a_grown_chunk_and_unmaps_it_when_the_pool_shrinks") {
            return;
        }
        // Larger than any chunk so far, so the pool grows for it.
        let frames = crate::mm::dma::pool_stats().total + 64;
        let buf = SharedBuffer::alloc(frames * PAGE_SIZE).unwrap();
        let addr = buf.device_addr().as_u64();
        let last = addr + (frames as u64 - 1) * PAGE_SIZE as u64;
        assert_eq!(super::device_translation(addr), Some(Some(addr)));
        assert_eq!(super::device_translation(last), Some(Some(last)));
        drop(buf);
        assert!(pool::shrink() >= frames, "the idle chunk left the pool");
        assert_eq!(super::device_translation(addr), Some(None), "released: unmapped");
        assert_eq!(super::device_translation(last), Some(None));
    }

    fn iommu_fault_polling_finds_nothing_when_devices_behave() {
        let before = super::fault_count();
        super::poll_faults();
        assert_eq!(super::fault_count(), before);
    }
}
