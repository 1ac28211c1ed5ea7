//! Host tests for the ACPI DMAR parser (`ostd/src/iommu/dmar.rs`): hand-built tables in
//! the layout QEMU's `intel-iommu` writes, and hostile ones.
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../ostd/src/iommu/dmar.rs"]
mod dmar;

use dmar::{DeviceScope, Dmar, DmarError, Drhd};
use proptest::prelude::*;

/// A DMAR header (48 bytes) with `haw_minus_one` and `flags`, then `structs`.
fn table(haw_minus_one: u8, flags: u8, structs: &[Vec<u8>]) -> Vec<u8> {
    let mut t = b"DMAR".to_vec();
    t.resize(48, 0);
    t[36] = haw_minus_one;
    t[37] = flags;
    for s in structs {
        t.extend_from_slice(s);
    }
    let len = t.len() as u32;
    t[4..8].copy_from_slice(&len.to_le_bytes());
    t
}

fn drhd(flags: u8, segment: u16, base: u64, scopes: &[Vec<u8>]) -> Vec<u8> {
    let mut s = vec![0u8; 16];
    s[4] = flags;
    s[6..8].copy_from_slice(&segment.to_le_bytes());
    s[8..16].copy_from_slice(&base.to_le_bytes());
    for scope in scopes {
        s.extend_from_slice(scope);
    }
    let len = s.len() as u16;
    s[2..4].copy_from_slice(&len.to_le_bytes());
    s
}

fn scope(kind: u8, id: u8, bus: u8, path: &[(u8, u8)]) -> Vec<u8> {
    let mut s = vec![kind, (6 + 2 * path.len()) as u8, 0, 0, id, bus];
    for &(d, f) in path {
        s.extend_from_slice(&[d, f]);
    }
    s
}

/// Another remapping structure (an RMRR is type 1) of `len` bytes.
fn other(kind: u16, len: u16) -> Vec<u8> {
    let mut s = vec![0u8; usize::from(len).max(4)];
    s[0..2].copy_from_slice(&kind.to_le_bytes());
    s[2..4].copy_from_slice(&len.to_le_bytes());
    s
}

mod well_formed {
    use super::*;

    #[test]
    fn qemu_intel_iommu_table_gives_one_unit_covering_all_of_segment_0() {
        let t = table(38, 0, &[drhd(1, 0, 0xfed9_0000, &[])]);
        let d = Dmar::parse(&t).unwrap();
        assert_eq!(d.host_address_width, 39);
        assert_eq!(d.flags, 0);
        assert_eq!(
            d.units,
            vec![Drhd {
                register_base: 0xfed9_0000,
                segment: 0,
                include_pci_all: true,
                scopes: vec![]
            }]
        );
    }

    #[test]
    fn device_scopes_keep_their_kind_bus_and_path() {
        let scopes = [scope(3, 2, 0xf0, &[(0x1f, 0)]), scope(2, 0, 0, &[(1, 0), (0, 3)])];
        let t = table(47, 1, &[drhd(0, 1, 0xfed9_1000, &scopes)]);
        let d = Dmar::parse(&t).unwrap();
        assert_eq!(d.host_address_width, 48);
        assert_eq!(d.flags, 1);
        let unit = &d.units[0];
        assert!(!unit.include_pci_all);
        assert_eq!(unit.segment, 1);
        assert_eq!(
            unit.scopes,
            vec![
                DeviceScope { kind: 3, enumeration_id: 2, start_bus: 0xf0, path: vec![(0x1f, 0)] },
                DeviceScope {
                    kind: 2,
                    enumeration_id: 0,
                    start_bus: 0,
                    path: vec![(1, 0), (0, 3)]
                },
            ]
        );
    }

    #[test]
    fn an_include_pci_all_unit_translates_every_function_of_its_segment_only() {
        let t = table(38, 0, &[drhd(1, 0, 0xfed9_0000, &[])]);
        let d = Dmar::parse(&t).unwrap();
        assert!(d.translates(0, 0, 3, 0));
        assert!(d.translates(0, 0xff, 0x1f, 7));
        assert!(!d.translates(1, 0, 3, 0), "another segment");
    }

    #[test]
    fn a_listed_endpoint_is_translated_and_an_unlisted_one_is_not() {
        // QEMU 7.2's intel-iommu on q35: no INCLUDE_PCI_ALL, one endpoint scope per device.
        let scopes = [
            scope(3, 0, 0xff, &[(0, 0)]), // an I/O APIC, which is no PCI function
            scope(1, 0, 0, &[(3, 0)]),
            scope(1, 0, 0, &[(4, 0)]),
            scope(1, 0, 2, &[(1, 0), (0, 0)]), // behind a bridge
            scope(2, 0, 0, &[(5, 0)]),         // a bridge's sub-hierarchy
        ];
        let d = Dmar::parse(&table(38, 0, &[drhd(0, 0, 0xfed9_0000, &scopes)])).unwrap();
        assert!(d.translates(0, 0, 3, 0));
        assert!(d.translates(0, 0, 4, 0));
        assert!(!d.translates(0, 0, 3, 1), "another function of a listed device");
        assert!(!d.translates(0, 1, 3, 0), "the same slot on another bus");
        assert!(!d.translates(0, 0xff, 0, 0), "an I/O APIC scope is not an endpoint");
        assert!(!d.translates(0, 2, 1, 0), "a multi-hop path is not followed");
        assert!(!d.translates(0, 0, 5, 0), "a sub-hierarchy scope is not trusted");
        assert!(!d.translates(1, 0, 3, 0), "another segment");
    }

    #[test]
    fn other_remapping_structures_are_skipped_by_their_length() {
        let t = table(
            38,
            0,
            &[other(1, 24), drhd(0, 0, 0x1000, &[]), other(2, 8), drhd(1, 0, 0x2000, &[])],
        );
        let bases: Vec<u64> =
            Dmar::parse(&t).unwrap().units.iter().map(|u| u.register_base).collect();
        assert_eq!(bases, vec![0x1000, 0x2000]);
    }

    #[test]
    fn a_table_with_no_units_parses_to_an_empty_list() {
        assert_eq!(Dmar::parse(&table(38, 0, &[])).unwrap().units, vec![]);
    }
}

mod hostile {
    use super::*;

    #[test]
    fn a_zero_length_structure_is_rejected_instead_of_looping() {
        let t = table(38, 0, &[other(0, 0)]);
        assert_eq!(
            Dmar::parse(&t),
            Err(DmarError::BadLength { what: "remapping structure", offset: 48, len: 0 })
        );
    }

    #[test]
    fn a_structure_running_past_the_table_is_truncated() {
        let mut t = table(38, 0, &[drhd(1, 0, 0x1000, &[])]);
        t.truncate(t.len() - 1);
        assert!(matches!(Dmar::parse(&t), Err(DmarError::Truncated { offset: 48, .. })));
    }

    #[test]
    fn a_drhd_shorter_than_its_fixed_part_is_truncated() {
        let t = table(38, 0, &[other(0, 8)]);
        assert!(matches!(Dmar::parse(&t), Err(DmarError::Truncated { what: "DRHD", .. })));
    }

    #[test]
    fn a_zero_length_device_scope_is_rejected() {
        let t = table(38, 0, &[drhd(0, 0, 0x1000, &[vec![1, 0, 0, 0, 0, 0]])]);
        assert_eq!(
            Dmar::parse(&t),
            Err(DmarError::BadLength { what: "device scope", offset: 64, len: 0 })
        );
    }

    #[test]
    fn a_device_scope_with_half_a_path_entry_is_rejected() {
        let t = table(38, 0, &[drhd(0, 0, 0x1000, &[vec![1, 7, 0, 0, 0, 0, 3]])]);
        assert!(matches!(Dmar::parse(&t), Err(DmarError::BadLength { len: 7, .. })));
    }

    #[test]
    fn a_device_scope_past_its_drhd_is_rejected() {
        let mut unit = drhd(0, 0, 0x1000, &[scope(1, 0, 0, &[(3, 0)])]);
        unit[2] -= 2; // the DRHD now ends inside its scope
        let t = table(38, 0, &[unit, vec![0, 0]]);
        assert!(Dmar::parse(&t).is_err());
    }

    #[test]
    fn an_unaligned_or_zero_register_base_is_rejected() {
        for base in [0, 0xfed9_0008] {
            let t = table(38, 0, &[drhd(1, 0, base, &[])]);
            assert_eq!(Dmar::parse(&t), Err(DmarError::BadRegisterBase(base)));
        }
    }

    #[test]
    fn a_wrong_signature_or_short_header_is_rejected() {
        let mut t = table(38, 0, &[]);
        t[0] = b'X';
        assert_eq!(Dmar::parse(&t), Err(DmarError::BadSignature(*b"XMAR")));
        assert!(matches!(Dmar::parse(&t[..47]), Err(DmarError::Truncated { need: 48, .. })));
    }

    #[test]
    fn the_widest_address_width_saturates_instead_of_wrapping() {
        assert_eq!(Dmar::parse(&table(255, 0, &[])).unwrap().host_address_width, 255);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..512)
        ) {
            let mut t = table(38, 0, &[]);
            t.extend_from_slice(&body);
            let _ = Dmar::parse(&t);
        }

        #[test]
        fn mutating_a_valid_table_never_panics(
            flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..8)
        ) {
            let scopes = [scope(1, 0, 0, &[(2, 0)]), scope(3, 1, 0xf0, &[(0x1f, 0)])];
            let mut t = table(38, 0, &[other(1, 24), drhd(0, 0, 0x1000, &scopes)]);
            for (at, byte) in flips {
                let n = t.len();
                t[at % n] = byte;
            }
            if let Ok(d) = Dmar::parse(&t) {
                for u in d.units {
                    prop_assert!(u.register_base != 0 && u.register_base.is_multiple_of(4096));
                }
            }
        }
    }
}
