//! Page-table index arithmetic for x86-64 4-level paging.
//!
//! Levels count up from the leaf: 1 = PT (4 KiB entries), 2 = PD (2 MiB), 3 = PDPT (1 GiB),
//! 4 = PML4 (512 GiB). Every walker in [`super::page_table`] turns addresses into slots and
//! slots back into addresses through these functions, so the shifts and masks are written
//! once. They are pure (no memory access, no `unsafe`) so the host tests run them
//! (`tests/tests/pt_index.rs` includes this file).

/// Entries in one table.
pub(super) const ENTRIES: usize = 512;
/// The root's level.
pub(super) const ROOT_LEVEL: u32 = 4;
/// Root (PML4) slots `0..USER_SLOTS` map user space, the lower half of the address space.
pub(super) const USER_SLOTS: usize = ENTRIES / 2;

/// Returns the number of bytes one entry of a table at `level` maps.
///
/// # Panics
/// If `level` is not 1..=4.
pub(super) const fn entry_span(level: u32) -> u64 {
    assert!(level >= 1 && level <= ROOT_LEVEL, "page-table levels are 1..=4");
    1 << (12 + 9 * (level - 1))
}

/// Returns the slot that `va` uses in a table at `level` (always `< ENTRIES`).
pub(super) const fn index(va: u64, level: u32) -> usize {
    ((va / entry_span(level)) % ENTRIES as u64) as usize
}

/// Returns the first address that slot `idx` of a table at `level` maps, when the table
/// itself maps the range starting at `table_base`.
pub(super) const fn slot_base(table_base: u64, level: u32, idx: usize) -> u64 {
    table_base + idx as u64 * entry_span(level)
}

/// Returns the physical address that `va` reaches through a leaf entry at `level` whose
/// page starts at `page` (the entry's address bits).
pub(super) const fn leaf_target(page: u64, va: u64, level: u32) -> u64 {
    let offset_mask = entry_span(level) - 1;
    (page & !offset_mask) | (va & offset_mask)
}
