//! The transport against QEMU's virtio-blk, when one is attached (the run skips otherwise).

use super::spec::{self, feature, status};
use super::{QueueError, VirtioPciDevice};
use crate::bus::pci::PciDevice;
use crate::bus::pci::bar::BarKind;
use crate::trap::IrqLine;

/// The largest queue the test asks for.
const QUEUE_MAX: u16 = 256;

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

crate::ktest! {
    fn virtio_blk_maps_negotiates_reads_capacity_and_sets_up_an_msix_queue() {
        if no_disk("virtio_blk_maps_negotiates_reads_capacity_and_sets_up_an_msix_queue") {
            return;
        }
        let pci = claim_and_check_bars();
        let mut dev = VirtioPciDevice::new(pci).unwrap_or_else(|e| panic!("{e}"));
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
}
