//! Host property tests for OSTD's page-table index arithmetic (`ostd/src/mm/pt_index.rs`).
#![forbid(unsafe_code)]

#[path = "../../ostd/src/mm/pt_index.rs"]
#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
mod pt_index;

use proptest::prelude::*;
use pt_index::{ENTRIES, ROOT_LEVEL, USER_SLOTS, entry_span, index, leaf_target, slot_base};

/// A user-space address: the lower half of a 48-bit address space.
fn user_va() -> impl Strategy<Value = u64> {
    0..(USER_SLOTS as u64 * entry_span(ROOT_LEVEL))
}

#[test]
fn entry_spans_are_4k_2m_1g_512g() {
    assert_eq!(
        [entry_span(1), entry_span(2), entry_span(3), entry_span(4)],
        [4 << 10, 2 << 20, 1 << 30, 512 << 30]
    );
}

#[test]
fn the_user_half_ends_at_the_canonical_hole() {
    assert_eq!(USER_SLOTS as u64 * entry_span(ROOT_LEVEL), 0x0000_8000_0000_0000);
}

#[test]
#[should_panic(expected = "levels are 1..=4")]
fn level_zero_is_rejected() {
    entry_span(0);
}

#[test]
#[should_panic(expected = "levels are 1..=4")]
fn level_five_is_rejected() {
    index(0, 5);
}

proptest! {
    #[test]
    fn indices_are_always_in_a_table(va: u64, level in 1u32..=4) {
        prop_assert!(index(va, level) < ENTRIES);
    }

    #[test]
    fn walking_the_indices_down_rebuilds_the_page_address(va in user_va()) {
        let mut base = 0;
        for level in (1..=ROOT_LEVEL).rev() {
            base = slot_base(base, level, index(va, level));
        }
        prop_assert_eq!(base, va & !(entry_span(1) - 1));
    }

    #[test]
    fn user_addresses_use_only_user_root_slots(va in user_va()) {
        prop_assert!(index(va, ROOT_LEVEL) < USER_SLOTS);
    }

    #[test]
    fn an_address_lies_in_the_slot_its_index_names(va in user_va(), level in 1u32..=4) {
        // The table at `level` covers the aligned block of ENTRIES entries around `va`.
        let table_base = va - va % (entry_span(level) * ENTRIES as u64);
        let slot = slot_base(table_base, level, index(va, level));
        prop_assert!(slot <= va && va < slot + entry_span(level));
    }

    #[test]
    fn neighbouring_entries_differ_by_one_index(va in user_va(), level in 1u32..=3) {
        let next = va + entry_span(level);
        prop_assume!(next < USER_SLOTS as u64 * entry_span(ROOT_LEVEL));
        prop_assert_eq!((index(va, level) + 1) % ENTRIES, index(next, level));
    }

    #[test]
    fn a_leaf_keeps_the_offset_within_its_page(
        page in 0u64..(1 << 52),
        va in user_va(),
        level in 1u32..=3,
    ) {
        let page = page & !(entry_span(level) - 1);
        let target = leaf_target(page, va, level);
        prop_assert_eq!(target - page, va % entry_span(level));
    }

    #[test]
    fn a_leaf_ignores_low_bits_in_the_entry_address(
        page in 0u64..(1 << 52),
        va in user_va(),
        level in 1u32..=3,
    ) {
        // A 2 MiB/1 GiB leaf's address bits below the page size (PAT bit, reserved) do not
        // leak into the target.
        let aligned = page & !(entry_span(level) - 1);
        prop_assert_eq!(leaf_target(page, va, level), leaf_target(aligned, va, level));
    }
}
