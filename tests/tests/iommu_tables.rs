//! Host tests for the VT-d second-level page tables (`ostd/src/iommu/sl_table.rs`), on a
//! map of pages standing in for frames.
#![forbid(unsafe_code)]

#[path = "../../ostd/src/iommu/sl_table.rs"]
mod sl_table;

use std::collections::HashMap;

use proptest::prelude::*;
use sl_table::{MapError, PAGE, SecondLevel, TableMem};

#[derive(Default)]
struct Pages {
    tables: HashMap<u64, Vec<u64>>,
    next: u64,
    budget: Option<usize>,
}

impl TableMem for Pages {
    fn alloc_table(&mut self) -> Option<u64> {
        if let Some(b) = &mut self.budget {
            *b = b.checked_sub(1)?;
        }
        self.next += PAGE;
        let paddr = 0x7000_0000_0000 + self.next;
        self.tables.insert(paddr, vec![0; 512]);
        Some(paddr)
    }
    fn read(&self, table: u64, index: usize) -> u64 {
        self.tables[&table][index]
    }
    fn write(&mut self, table: u64, index: usize, entry: u64) {
        self.tables.get_mut(&table).unwrap()[index] = entry;
    }
}

#[test]
fn a_mapped_range_translates_to_itself_and_nothing_else_does() {
    let mut mem = Pages::default();
    let sl = SecondLevel::new(&mut mem, 3).unwrap();
    sl.map(&mut mem, 0x20_0000, 16).unwrap();
    assert_eq!(sl.translate(&mut mem, 0x20_0000), Some(0x20_0000));
    assert_eq!(sl.translate(&mut mem, 0x20_fff8), Some(0x20_fff8));
    assert_eq!(sl.translate(&mut mem, 0x21_0000), None, "one past the end");
    assert_eq!(sl.translate(&mut mem, 0x1f_f000), None, "one before the start");
    assert_eq!(sl.translate(&mut mem, 0), None);
}

#[test]
fn unmapping_removes_exactly_the_range() {
    let mut mem = Pages::default();
    let sl = SecondLevel::new(&mut mem, 4).unwrap();
    sl.map(&mut mem, 0x10_0000, 8).unwrap();
    sl.unmap(&mut mem, 0x10_2000, 2);
    assert_eq!(sl.translate(&mut mem, 0x10_1000), Some(0x10_1000));
    assert_eq!(sl.translate(&mut mem, 0x10_2000), None);
    assert_eq!(sl.translate(&mut mem, 0x10_3000), None);
    assert_eq!(sl.translate(&mut mem, 0x10_4000), Some(0x10_4000));
}

#[test]
fn a_three_level_tree_refuses_addresses_past_39_bits() {
    let mut mem = Pages::default();
    let sl = SecondLevel::new(&mut mem, 3).unwrap();
    assert_eq!((sl.levels(), sl.limit()), (3, 1 << 39));
    assert_eq!(
        sl.map(&mut mem, (1 << 39) - PAGE, 2),
        Err(MapError::Unaddressable((1 << 39) - PAGE))
    );
    assert_eq!(sl.translate(&mut mem, (1 << 39) - PAGE), None, "nothing was mapped");
    assert_eq!(sl.map(&mut mem, 0x1001, 1), Err(MapError::Unaddressable(0x1001)));
    assert_eq!(sl.map(&mut mem, !0xfff, 4), Err(MapError::Unaddressable(!0xfff)));
}

#[test]
fn running_out_of_tables_is_an_error_not_a_panic() {
    let mut mem = Pages { budget: Some(2), ..Pages::default() };
    let sl = SecondLevel::new(&mut mem, 3).unwrap();
    assert_eq!(sl.map(&mut mem, 0x1000, 1), Err(MapError::OutOfTables));
}

#[test]
fn entries_carry_read_write_and_the_address() {
    let mut mem = Pages::default();
    let sl = SecondLevel::new(&mut mem, 3).unwrap();
    sl.map(&mut mem, 0x4000_3000, 1).unwrap();
    let l3 = mem.read(sl.root(), 1) & !0xfff;
    assert_eq!(mem.read(sl.root(), 1) & 0xfff, 0b11);
    let l2 = mem.read(l3, 0) & !0xfff;
    assert_eq!(mem.read(l2, 3), 0x4000_3000 | 0b11);
}

proptest! {
    #[test]
    fn translation_is_identity_on_mapped_pages_and_none_elsewhere(
        ranges in proptest::collection::vec((0u64..4096, 1usize..40), 1..6),
        unmaps in proptest::collection::vec((0u64..4096, 1usize..40), 0..4),
        probes in proptest::collection::vec(0u64..4200, 64),
    ) {
        let mut mem = Pages::default();
        let sl = SecondLevel::new(&mut mem, 3).unwrap();
        let mut model = std::collections::HashSet::new();
        for &(page, n) in &ranges {
            sl.map(&mut mem, page * 0x1000 * 509, n).unwrap();
            model.extend((0..n as u64).map(|i| page * 509 + i));
        }
        for &(page, n) in &unmaps {
            sl.unmap(&mut mem, page * 0x1000 * 509, n);
            for i in 0..n as u64 { model.remove(&(page * 509 + i)); }
        }
        for &probe in &probes {
            for page in [probe * 509, probe * 509 + 7] {
                let want = model.contains(&page).then_some(page * 0x1000 + 8);
                prop_assert_eq!(sl.translate(&mut mem, page * 0x1000 + 8), want);
            }
        }
    }
}
