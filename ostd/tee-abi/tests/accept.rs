//! Lazy acceptance: the EFI unaccepted-memory table, the memory-map ranges, and `take`.
//!
//! Table bytes are laid out by hand from Linux's `struct efi_unaccepted_memory`
//! (include/linux/efi.h): version u32, unit_size u32, phys_base u64, size u64, bitmap.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use tee_abi::accept::{
    AcceptChunk, AcceptError, EFI_UNACCEPTED_MEMORY_TYPE, LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID,
    MAX_BITMAP_BYTES, UnacceptedMap, parse_unaccepted_table, unaccepted_ranges,
};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const UNIT: u64 = 2 * MIB;

fn table(version: u32, unit: u32, base: u64, size: u64, bitmap: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&unit.to_le_bytes());
    bytes.extend_from_slice(&base.to_le_bytes());
    bytes.extend_from_slice(&size.to_le_bytes());
    bytes.extend_from_slice(bitmap);
    bytes
}

fn chunk(start: u64, end: u64) -> AcceptChunk {
    AcceptChunk { start, end }
}

#[test]
fn guid_is_linux_efi_guid_in_memory_order() {
    // EFI_GUID(0xd5d1de3c, 0x105c, 0x44f9, 0x9e, 0xa9, 0xbc, 0xef, 0x98, 0x12, 0x00, 0x31)
    let mut expected = Vec::new();
    expected.extend_from_slice(&0xd5d1_de3c_u32.to_le_bytes());
    expected.extend_from_slice(&0x105c_u16.to_le_bytes());
    expected.extend_from_slice(&0x44f9_u16.to_le_bytes());
    expected.extend_from_slice(&[0x9e, 0xa9, 0xbc, 0xef, 0x98, 0x12, 0x00, 0x31]);
    assert_eq!(LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID.as_slice(), expected.as_slice());
    assert_eq!(EFI_UNACCEPTED_MEMORY_TYPE, 15);
}

#[test]
fn table_bits_name_units_from_phys_base() {
    // Units 0, 2 and 15 unaccepted: byte 0 = 0b101, byte 1 = 0x80.
    let bytes = table(1, UNIT as u32, 4 * GIB, 2, &[0b0000_0101, 0x80]);
    let mut map = parse_unaccepted_table(&bytes).unwrap();
    assert_eq!(map.phys_base(), 4 * GIB);
    assert_eq!(map.unit_size(), UNIT);
    assert_eq!(map.end(), 4 * GIB + 16 * UNIT);
    assert_eq!(map.unaccepted_units(), 3);
    assert!(map.is_unaccepted(4 * GIB));
    assert!(!map.is_unaccepted(4 * GIB + UNIT));
    assert!(map.is_unaccepted(4 * GIB + 2 * UNIT + 12345));
    assert!(map.is_unaccepted(4 * GIB + 15 * UNIT));
    assert!(!map.is_unaccepted(4 * GIB + 16 * UNIT));
    assert!(!map.is_unaccepted(4 * GIB - 1));

    // One byte of unit 0 accepts the whole unit, once.
    assert_eq!(map.take(4 * GIB + 100, 1).unwrap(), [chunk(4 * GIB, 4 * GIB + UNIT)]);
    assert_eq!(map.take(4 * GIB, UNIT).unwrap(), []);
    // The whole span: the two units left, as separate chunks (they are not adjacent).
    assert_eq!(
        map.take(0, 8 * GIB).unwrap(),
        [
            chunk(4 * GIB + 2 * UNIT, 4 * GIB + 3 * UNIT),
            chunk(4 * GIB + 15 * UNIT, 4 * GIB + 16 * UNIT)
        ]
    );
    assert_eq!(map.unaccepted_units(), 0);
}

#[test]
fn adjacent_units_come_back_as_one_chunk() {
    let bytes = table(1, UNIT as u32, 0, 1, &[0b0111_1110]);
    let mut map = parse_unaccepted_table(&bytes).unwrap();
    assert_eq!(map.take(3 * MIB, 8 * MIB).unwrap(), [chunk(2 * MIB, 12 * MIB)]);
    assert_eq!(map.take(0, 16 * MIB).unwrap(), [chunk(12 * MIB, 14 * MIB)]);
}

#[test]
fn bytes_past_the_bitmap_are_ignored() {
    let bytes = table(1, UNIT as u32, 0, 1, &[0xff, 0xff, 0xff]);
    let map = parse_unaccepted_table(&bytes).unwrap();
    assert_eq!(map.end(), 8 * UNIT);
    assert_eq!(map.unaccepted_units(), 8);
}

#[test]
fn table_header_is_validated() {
    assert_eq!(
        parse_unaccepted_table(&[0u8; 23]),
        Err(AcceptError::Truncated { field: "unaccepted table header", needed: 24, available: 23 })
    );
    assert_eq!(
        parse_unaccepted_table(&table(2, UNIT as u32, 0, 0, &[])),
        Err(AcceptError::Version { value: 2 })
    );
    assert_eq!(
        parse_unaccepted_table(&table(1, 3 * MIB as u32, 0, 0, &[])),
        Err(AcceptError::UnitSize { value: 3 * MIB })
    );
    assert_eq!(
        parse_unaccepted_table(&table(1, 2048, 0, 0, &[])),
        Err(AcceptError::UnitSize { value: 2048 })
    );
    assert_eq!(
        parse_unaccepted_table(&table(1, 0, 0, 0, &[])),
        Err(AcceptError::UnitSize { value: 0 })
    );
    assert_eq!(
        parse_unaccepted_table(&table(1, UNIT as u32, MIB, 0, &[])),
        Err(AcceptError::Misaligned {
            field: "unaccepted table phys_base",
            value: MIB,
            align: UNIT
        })
    );
}

#[test]
fn table_must_hold_the_bitmap_it_claims() {
    assert_eq!(
        parse_unaccepted_table(&table(1, UNIT as u32, 0, 4, &[1, 2, 3])),
        Err(AcceptError::Truncated { field: "unaccepted table bitmap", needed: 28, available: 27 })
    );
    assert_eq!(
        parse_unaccepted_table(&table(1, UNIT as u32, 0, u64::MAX, &[1])),
        Err(AcceptError::TooLarge {
            field: "unaccepted table size",
            value: u64::MAX,
            max: MAX_BITMAP_BYTES
        })
    );
    // 8 units of 2 MiB from 2 MiB below the top of the address space wrap.
    let top = u64::MAX - (UNIT - 1);
    assert_eq!(
        parse_unaccepted_table(&table(1, UNIT as u32, top, 1, &[1])),
        Err(AcceptError::Overflow { field: "unaccepted bitmap size", value: 1 })
    );
}

#[test]
fn take_outside_the_map_or_empty_does_nothing() {
    let mut map = parse_unaccepted_table(&table(1, UNIT as u32, GIB, 1, &[0xff])).unwrap();
    assert_eq!(map.take(0, GIB).unwrap(), []);
    assert_eq!(map.take(GIB + 16 * MIB, GIB).unwrap(), []);
    assert_eq!(map.take(GIB, 0).unwrap(), []);
    assert_eq!(map.unaccepted_units(), 8);
}

#[test]
fn take_that_would_wrap_is_an_error() {
    let mut map = parse_unaccepted_table(&table(1, UNIT as u32, 0, 1, &[0xff])).unwrap();
    assert_eq!(
        map.take(u64::MAX - 10, 100),
        Err(AcceptError::Overflow { field: "accept request length", value: 100 })
    );
    assert_eq!(map.unaccepted_units(), 8);
}

#[test]
fn from_ranges_keeps_whole_units_and_returns_the_edges() {
    let (mut map, eager) = UnacceptedMap::from_ranges(&[(MIB, 7 * MIB)], UNIT).unwrap();
    assert_eq!(eager, [chunk(MIB, 2 * MIB), chunk(6 * MIB, 7 * MIB)]);
    assert_eq!(map.phys_base(), 2 * MIB);
    assert_eq!(map.end(), 6 * MIB);
    assert_eq!(map.take(0, 16 * MIB).unwrap(), [chunk(2 * MIB, 6 * MIB)]);
}

#[test]
fn from_ranges_merges_adjacent_and_overlapping_ranges() {
    let ranges = [(3 * MIB, 5 * MIB), (0, 3 * MIB), (GIB, GIB + UNIT), (GIB, GIB + MIB)];
    let (mut map, eager) = UnacceptedMap::from_ranges(&ranges, UNIT).unwrap();
    assert_eq!(eager, [chunk(4 * MIB, 5 * MIB)]);
    assert_eq!(map.unaccepted_units(), 3);
    assert_eq!(map.take(0, 2 * GIB).unwrap(), [chunk(0, 4 * MIB), chunk(GIB, GIB + UNIT)]);
}

#[test]
fn from_ranges_smaller_than_a_unit_is_all_eager() {
    let (map, eager) = UnacceptedMap::from_ranges(&[(0x1000, 0x3000), (5, 5)], UNIT).unwrap();
    assert_eq!(eager, [chunk(0x1000, 0x3000)]);
    assert_eq!(map.unaccepted_units(), 0);
}

#[test]
fn from_ranges_refuses_bad_input() {
    assert_eq!(
        UnacceptedMap::from_ranges(&[(10, 5)], UNIT).unwrap_err(),
        AcceptError::InvertedRange { start: 10, end: 5 }
    );
    assert_eq!(
        UnacceptedMap::from_ranges(&[(u64::MAX - 0xfff, u64::MAX)], UNIT).unwrap_err(),
        AcceptError::Overflow { field: "unaccepted range start", value: u64::MAX - 0xfff }
    );
    assert_eq!(
        UnacceptedMap::from_ranges(&[(0, UNIT), (1 << 60, (1 << 60) + UNIT)], UNIT).unwrap_err(),
        AcceptError::TooLarge {
            field: "unaccepted span in units",
            value: ((1 << 60) + UNIT) / UNIT,
            max: MAX_BITMAP_BYTES * 8
        }
    );
    assert_eq!(
        UnacceptedMap::from_ranges(&[], 0x800).unwrap_err(),
        AcceptError::UnitSize { value: 0x800 }
    );
}

fn descriptor(size: usize, kind: u32, start: u64, pages: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    bytes[0..4].copy_from_slice(&kind.to_le_bytes());
    bytes[8..16].copy_from_slice(&start.to_le_bytes());
    bytes[16..24].copy_from_slice(&0xdead_0000_u64.to_le_bytes());
    bytes[24..32].copy_from_slice(&pages.to_le_bytes());
    bytes
}

#[test]
fn memory_map_yields_unaccepted_entries_only() {
    // Stride 48, as OVMF reports it (40 bytes of descriptor, 8 of padding).
    let mut map = descriptor(48, 7, 0, 16);
    map.extend(descriptor(48, 15, GIB, 512));
    map.extend(descriptor(48, 4, 2 * GIB, 1));
    map.extend(descriptor(48, 15, 4 * GIB, 1));
    assert_eq!(
        unaccepted_ranges(&map, 48).unwrap(),
        [(GIB, GIB + 2 * MIB), (4 * GIB, 4 * GIB + 0x1000)]
    );
}

#[test]
fn memory_map_is_validated() {
    assert_eq!(
        unaccepted_ranges(&[0u8; 64], 32),
        Err(AcceptError::Truncated {
            field: "EFI memory descriptor (DescriptorSize)",
            needed: 40,
            available: 32
        })
    );
    assert_eq!(
        unaccepted_ranges(&[0u8; 50], 40),
        Err(AcceptError::Truncated {
            field: "EFI memory map: last descriptor",
            needed: 80,
            available: 50
        })
    );
    assert_eq!(
        unaccepted_ranges(&descriptor(40, 15, GIB, u64::MAX / 0x1000), 40),
        Err(AcceptError::Overflow {
            field: "EFI memory descriptor NumberOfPages",
            value: u64::MAX / 0x1000
        })
    );
    assert_eq!(
        unaccepted_ranges(&descriptor(40, 15, 0x800, 1), 40),
        Err(AcceptError::Misaligned {
            field: "EFI memory descriptor PhysicalStart",
            value: 0x800,
            align: 0x1000
        })
    );
}

/// A map over 64 units of `unit` bytes with the given units unaccepted, through the table
/// format so that the parser is exercised too.
fn map_with(unit: u64, base_units: u64, unaccepted: u64) -> UnacceptedMap {
    let bytes = table(1, unit as u32, base_units * unit, 8, &unaccepted.to_le_bytes());
    parse_unaccepted_table(&bytes).unwrap()
}

proptest! {
    #[test]
    fn every_requested_unaccepted_byte_is_accepted_exactly_once(
        unit_shift in prop::sample::select(vec![12u32, 16, 21]),
        base_units in 0u64..4,
        unaccepted in any::<u64>(),
        requests in prop::collection::vec((0u64..80, 0u64..80, 0u64..4096), 1..12),
    ) {
        let unit = 1u64 << unit_shift;
        let original = map_with(unit, base_units, unaccepted);
        let mut map = original.clone();
        let mut accepted_units = BTreeSet::new();
        for (start_unit, len_units, wobble) in requests {
            // Requests start and end anywhere, not only on unit boundaries.
            let start = start_unit * unit + wobble % unit;
            let len = len_units * unit / 2 + wobble;
            for got in map.take(start, len).unwrap() {
                prop_assert!(!got.is_empty());
                prop_assert_eq!(got.start % unit, 0);
                prop_assert_eq!(got.end % unit, 0);
                for unit_start in (got.start..got.end).step_by(unit as usize) {
                    prop_assert!(original.is_unaccepted(unit_start));
                    prop_assert!(accepted_units.insert(unit_start), "unit {:#x} twice", unit_start);
                }
            }
            // Every byte of the request in an unaccepted unit now lies in a returned chunk.
            let first = start - start % unit;
            for unit_start in (first..start + len).step_by(unit as usize) {
                if original.is_unaccepted(unit_start) {
                    prop_assert!(accepted_units.contains(&unit_start));
                }
            }
        }
        for unit_index in 0..(base_units + 70) {
            let unit_start = unit_index * unit;
            prop_assert_eq!(
                map.is_unaccepted(unit_start),
                original.is_unaccepted(unit_start) && !accepted_units.contains(&unit_start)
            );
        }
    }

    #[test]
    fn from_ranges_covers_every_unaccepted_byte_once(
        ranges in prop::collection::vec((0u64..1 << 26, 0u64..1 << 24), 0..8),
    ) {
        let ranges: Vec<(u64, u64)> = ranges
            .into_iter()
            .map(|(start, len)| (start & !0xfff, (start + len) & !0xfff))
            .filter(|(start, end)| start <= end)
            .collect();
        let (mut map, eager) = UnacceptedMap::from_ranges(&ranges, UNIT).unwrap();
        let lazy = map.take(0, 1 << 27).unwrap();
        let mut pieces: Vec<AcceptChunk> = eager.iter().chain(lazy.iter()).copied().collect();
        pieces.sort();
        for pair in pieces.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?} overlaps", pair);
        }
        // Page by page: inside some input range exactly when inside some piece.
        for page in (0..(1u64 << 27)).step_by(0x10_0000) {
            let wanted = ranges.iter().any(|&(s, e)| s <= page && page < e);
            let covered = pieces.iter().any(|c| c.start <= page && page < c.end);
            prop_assert_eq!(wanted, covered, "page {:#x}", page);
        }
    }
}
