//! Host tests for the PCI capability walk (`ostd/src/bus/pci/caps.rs`): well-formed lists,
//! and the hostile ones a device can write (cycles, pointers into the header, misaligned
//! pointers, vendor capabilities that run off the end).
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../ostd/src/bus/pci/caps.rs"]
#[allow(dead_code, reason = "the kernel uses `config`; these tests do not")]
mod caps;

use caps::{CAP_MSIX, CAP_VENDOR, CONFIG_SIZE, CapError, CapList, Capability, MAX_CAPS};
use proptest::prelude::*;

/// Config space with the capability-list status bit set and the first pointer at 0x34.
fn config_with(first: u8) -> [u8; CONFIG_SIZE] {
    let mut config = [0u8; CONFIG_SIZE];
    config[0x06] = 1 << 4;
    config[0x34] = first;
    config
}

/// Writes a capability header (id, next) at `at`.
fn cap(config: &mut [u8; CONFIG_SIZE], at: usize, id: u8, next: u8) {
    config[at] = id;
    config[at + 1] = next;
}

mod well_formed {
    use super::*;

    #[test]
    fn no_status_bit_means_no_list_even_with_a_pointer() {
        let mut config = config_with(0x40);
        config[0x06] = 0;
        cap(&mut config, 0x40, CAP_MSIX, 0);
        assert!(CapList::parse(&config).unwrap().entries().is_empty());
    }

    #[test]
    fn a_chain_is_returned_in_list_order() {
        let mut config = config_with(0x98);
        cap(&mut config, 0x98, CAP_MSIX, 0x84);
        cap(&mut config, 0x84, CAP_VENDOR, 0x70);
        config[0x86] = 0x14; // virtio_pci_cap with notify multiplier: 20 bytes
        cap(&mut config, 0x70, 0x10, 0);
        let list = CapList::parse(&config).unwrap();
        assert_eq!(
            list.entries(),
            &[
                Capability { id: CAP_MSIX, offset: 0x98 },
                Capability { id: CAP_VENDOR, offset: 0x84 },
                Capability { id: 0x10, offset: 0x70 },
            ]
        );
        assert_eq!(list.find(0x10), Some(Capability { id: 0x10, offset: 0x70 }));
        let vendor: Vec<_> = list.vendor_caps().collect();
        assert_eq!(vendor.len(), 1);
        assert_eq!(vendor[0].0, 0x84);
        assert_eq!(vendor[0].1, &config[0x84..0x84 + 0x14]);
    }

    #[test]
    fn the_last_slot_holds_a_capability() {
        let mut config = config_with(0xfc);
        cap(&mut config, 0xfc, CAP_MSIX, 0);
        assert_eq!(CapList::parse(&config).unwrap().entries().len(), 1);
    }

    #[test]
    fn a_vendor_capability_may_end_exactly_at_256() {
        let mut config = config_with(0xf0);
        cap(&mut config, 0xf0, CAP_VENDOR, 0);
        config[0xf2] = 0x10;
        let list = CapList::parse(&config).unwrap();
        assert_eq!(list.vendor_caps().next().unwrap().1.len(), 0x10);
    }

    #[test]
    fn all_48_slots_chained_is_the_longest_list() {
        let mut config = config_with(0x40);
        for at in (0x40..0x100).step_by(4) {
            let next = if at == 0xfc { 0 } else { at as u8 + 4 };
            cap(&mut config, at, 0x05, next);
        }
        assert_eq!(CapList::parse(&config).unwrap().entries().len(), MAX_CAPS);
    }
}

mod hostile {
    use super::*;

    #[test]
    fn a_self_linked_capability_is_a_cycle() {
        let mut config = config_with(0x40);
        cap(&mut config, 0x40, CAP_MSIX, 0x40);
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::Cycle { at: 0x41, pointer: 0x40 }
        );
    }

    #[test]
    fn a_longer_loop_is_a_cycle() {
        let mut config = config_with(0x50);
        cap(&mut config, 0x50, 1, 0x60);
        cap(&mut config, 0x60, 2, 0x70);
        cap(&mut config, 0x70, 3, 0x50);
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::Cycle { at: 0x71, pointer: 0x50 }
        );
    }

    #[test]
    fn a_pointer_into_the_header_is_rejected() {
        let mut config = config_with(0x40);
        cap(&mut config, 0x40, 1, 0x34);
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::IntoHeader { at: 0x41, pointer: 0x34 }
        );
    }

    #[test]
    fn a_first_pointer_into_the_header_is_rejected() {
        let config = config_with(0x10);
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::IntoHeader { at: 0x34, pointer: 0x10 }
        );
    }

    #[test]
    fn a_misaligned_pointer_is_rejected() {
        let mut config = config_with(0x40);
        cap(&mut config, 0x40, 1, 0xfe);
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::Misaligned { at: 0x41, pointer: 0xfe }
        );
    }

    #[test]
    fn a_vendor_capability_running_past_config_space_is_rejected() {
        let mut config = config_with(0xf0);
        cap(&mut config, 0xf0, CAP_VENDOR, 0);
        config[0xf2] = 0x14;
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::BadVendorLength { offset: 0xf0, len: 0x14 }
        );
    }

    #[test]
    fn a_vendor_capability_shorter_than_its_header_is_rejected() {
        let mut config = config_with(0x40);
        cap(&mut config, 0x40, CAP_VENDOR, 0);
        config[0x42] = 2;
        assert_eq!(
            CapList::parse(&config).unwrap_err(),
            CapError::BadVendorLength { offset: 0x40, len: 2 }
        );
    }
}

proptest! {
    /// Whatever the device writes, the walk ends, and every entry it returns is in bounds
    /// and distinct; vendor payloads stay inside config space.
    #[test]
    fn any_config_space_parses_or_is_rejected_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), CONFIG_SIZE),
    ) {
        let config: [u8; CONFIG_SIZE] = bytes.try_into().unwrap();
        if let Ok(list) = CapList::parse(&config) {
            prop_assert!(list.entries().len() <= MAX_CAPS);
            let mut seen = std::collections::HashSet::new();
            for c in list.entries() {
                prop_assert!(c.offset >= 0x40 && c.offset % 4 == 0);
                prop_assert!(seen.insert(c.offset), "offset {:#x} twice", c.offset);
            }
            for (offset, payload) in list.vendor_caps() {
                prop_assert!(usize::from(offset) + payload.len() <= CONFIG_SIZE);
                prop_assert!(payload.len() >= 3);
            }
        }
    }

    /// A list built from aligned, in-range, distinct slots always parses, in order.
    #[test]
    fn distinct_aligned_slots_parse_in_order(
        slots in proptest::sample::subsequence((0x10u8..0x40).collect::<Vec<_>>(), 0..=MAX_CAPS)
            .prop_shuffle(),
        ids in proptest::collection::vec(1u8..0x20, MAX_CAPS),
    ) {
        let offsets: Vec<u8> = slots.iter().map(|s| s * 4).collect();
        let mut config = config_with(offsets.first().copied().unwrap_or(0));
        for (i, &at) in offsets.iter().enumerate() {
            let id = if ids[i] == CAP_VENDOR { CAP_MSIX } else { ids[i] };
            cap(&mut config, usize::from(at), id, offsets.get(i + 1).copied().unwrap_or(0));
        }
        let list = CapList::parse(&config).unwrap();
        let got: Vec<u8> = list.entries().iter().map(|c| c.offset).collect();
        prop_assert_eq!(got, offsets);
    }
}
