//! VT-d second-level page tables (VT-d specification 9.8): the IOVA → physical map a domain
//! uses, walked by the hardware.
//!
//! Pure: the tables are reached through [`TableMem`], so the host tests run this file
//! (`tests/tests/iommu_tables.rs`) on a map of pages, and `tables.rs` on real frames. Only
//! identity maps of 4 KiB pages are made (IOVA = physical address), read+write: the domain
//! mirrors the shared pool, chunk by chunk. Tables emptied by an unmap are kept for the next
//! map (the pool's chunks come and go in the same few places).

/// An entry's read and write permission bits; both are set on every present entry (VT-d
/// ANDs the permissions of every level).
const READ_WRITE: u64 = 0b11;
/// The address bits of an entry (bits 51:12).
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Entries per table.
const ENTRIES: usize = 512;
/// A page.
pub const PAGE: u64 = 4096;

/// Page-sized, page-aligned tables the IOMMU can read, named by physical address.
pub trait TableMem {
    /// Allocates a zeroed table; returns its physical address.
    fn alloc_table(&mut self) -> Option<u64>;
    /// Reads entry `index` (0..512) of the table at `table`.
    fn read(&self, table: u64, index: usize) -> u64;
    /// Writes entry `index` (0..512) of the table at `table`, visibly to the IOMMU.
    fn write(&mut self, table: u64, index: usize, entry: u64);
}

/// Why a range could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No memory for a page table.
    OutOfTables,
    /// The address is past what the tables' width covers, or not page-aligned.
    Unaddressable(u64),
}

/// A second-level table tree of 3 (39-bit) or 4 (48-bit) levels.
///
/// # Invariants
/// `root` is a table from the `TableMem` this value is used with, and every present
/// non-leaf entry under it names another such table.
#[derive(Debug)]
pub struct SecondLevel {
    root: u64,
    levels: u8,
}

impl SecondLevel {
    /// Makes an empty tree of `levels` (3 or 4) levels.
    ///
    /// # Panics
    /// If `levels` is not 3 or 4.
    pub fn new(mem: &mut impl TableMem, levels: u8) -> Option<Self> {
        assert!(levels == 3 || levels == 4, "VT-d second-level tables have 3 or 4 levels");
        Some(Self { root: mem.alloc_table()?, levels })
    }

    /// Returns the root table's physical address (for context entries).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Returns the number of levels (3 or 4).
    pub fn levels(&self) -> u8 {
        self.levels
    }

    /// Returns the first address past what the tree can map.
    pub fn limit(&self) -> u64 {
        1 << (12 + 9 * u32::from(self.levels))
    }

    fn index(&self, iova: u64, level: u8) -> usize {
        ((iova >> (12 + 9 * (u32::from(level) - 1))) as usize) % ENTRIES
    }

    fn check(&self, paddr: u64, pages: usize) -> Result<(), MapError> {
        let end = (pages as u64).checked_mul(PAGE).and_then(|len| paddr.checked_add(len));
        match end {
            Some(end) if paddr.is_multiple_of(PAGE) && end <= self.limit() => Ok(()),
            _ => Err(MapError::Unaddressable(paddr)),
        }
    }

    /// Returns the leaf table (level 1) that covers `iova`, making tables on the way if
    /// `make` is true.
    fn leaf_table(
        &self,
        mem: &mut impl TableMem,
        iova: u64,
        make: bool,
    ) -> Result<Option<u64>, MapError> {
        let mut table = self.root;
        for level in (2..=self.levels).rev() {
            let i = self.index(iova, level);
            let entry = mem.read(table, i);
            table = if entry & READ_WRITE != 0 {
                entry & ADDR_MASK
            } else if make {
                let next = mem.alloc_table().ok_or(MapError::OutOfTables)?;
                mem.write(table, i, next | READ_WRITE);
                next
            } else {
                return Ok(None);
            };
        }
        Ok(Some(table))
    }

    /// Maps `pages` pages at `paddr` to themselves, read+write.
    ///
    /// # Errors
    /// The range is unaligned or past [`SecondLevel::limit`] (nothing is mapped), or a table
    /// could not be allocated (the pages before it stay mapped; unmap the range to undo).
    pub fn map(&self, mem: &mut impl TableMem, paddr: u64, pages: usize) -> Result<(), MapError> {
        self.check(paddr, pages)?;
        for p in 0..pages as u64 {
            let iova = paddr + p * PAGE;
            let leaf = self.leaf_table(mem, iova, true)?.ok_or(MapError::OutOfTables)?;
            mem.write(leaf, self.index(iova, 1), iova | READ_WRITE);
        }
        Ok(())
    }

    /// Unmaps `pages` pages at `paddr` (pages that are not mapped are skipped). The caller
    /// must invalidate the IOTLB before the memory is reused.
    pub fn unmap(&self, mem: &mut impl TableMem, paddr: u64, pages: usize) {
        if self.check(paddr, pages).is_err() {
            return;
        }
        for p in 0..pages as u64 {
            let iova = paddr + p * PAGE;
            if let Ok(Some(leaf)) = self.leaf_table(mem, iova, false) {
                mem.write(leaf, self.index(iova, 1), 0);
            }
        }
    }

    /// Returns the physical address a device access to `iova` reaches, if any.
    pub fn translate(&self, mem: &mut impl TableMem, iova: u64) -> Option<u64> {
        if iova >= self.limit() {
            return None;
        }
        let leaf = self.leaf_table(mem, iova, false).ok()??;
        let entry = mem.read(leaf, self.index(iova, 1));
        (entry & READ_WRITE == READ_WRITE).then_some((entry & ADDR_MASK) | (iova % PAGE))
    }
}
