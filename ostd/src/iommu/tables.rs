//! The one DMA-remapping domain every device is put in: a legacy-mode root table whose 256
//! buses all point at one context table, whose 256 device/function entries all name domain
//! [`DOMAIN_ID`] and one second-level tree ([`super::sl_table`]) that identity-maps exactly
//! the shared pool's chunks.
//!
//! The tables live in private frames. The IOMMU reads them by DMA, which is fine on a
//! machine without a TEE (the only place this module runs: under TDX or SEV-SNP the CPU
//! already confines devices to shared pages, and the IOMMU the host offers is not trusted).

use alloc::collections::BTreeMap;

use super::sl_table::{MapError, SecondLevel, TableMem};
use crate::mm::{Frame, paddr_to_vaddr};

/// The domain id every device gets (0 is avoided: caching-mode units reserve it).
pub(super) const DOMAIN_ID: u16 = 1;

/// Page-table pages in private frames, by physical address.
///
/// # Invariants
/// Every key is the address of the frame stored under it.
pub(super) struct FrameTables {
    frames: BTreeMap<u64, Frame>,
    /// Whether each write must be flushed from the CPU's caches (the unit does not snoop).
    flush: bool,
}

impl FrameTables {
    fn frame(&self, table: u64) -> &Frame {
        self.frames.get(&table).expect("an IOMMU table this domain allocated")
    }

    fn alloc(&mut self) -> Option<&Frame> {
        let frame = Frame::alloc_zeroed()?;
        let paddr = frame.paddr();
        flush_range(self.flush, paddr, 4096);
        Some(self.frames.entry(paddr).or_insert(frame))
    }

    fn write_at(&mut self, table: u64, offset: usize, value: u64) {
        self.frame(table).write_bytes(offset, &value.to_le_bytes());
        flush_range(self.flush, table + offset as u64, 8);
    }

    /// Returns whether `paddr` is one of the domain's own table pages.
    pub(super) fn is_table(&self, paddr: u64) -> bool {
        self.frames.contains_key(&(paddr & !0xfff))
    }
}

impl TableMem for FrameTables {
    fn alloc_table(&mut self) -> Option<u64> {
        self.alloc().map(Frame::paddr)
    }

    fn read(&self, table: u64, index: usize) -> u64 {
        let mut bytes = [0u8; 8];
        self.frame(table).read_bytes(index * 8, &mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn write(&mut self, table: u64, index: usize, entry: u64) {
        self.write_at(table, index * 8, entry);
    }
}

/// Writes back the cache lines of `paddr..paddr + len` when the IOMMU does not snoop.
fn flush_range(flush: bool, paddr: u64, len: u64) {
    if !flush {
        return;
    }
    let start = paddr_to_vaddr(paddr) & !63;
    let end = paddr_to_vaddr(paddr) + len;
    for line in (start..end).step_by(64) {
        // SAFETY: `line` lies in a frame the caller owns, mapped by the direct map; `clflush`
        // only writes the line back and invalidates it, changing no memory contents.
        unsafe {
            core::arch::asm!("clflush [{}]", in(reg) line, options(nostack, preserves_flags))
        };
    }
    // Order the flushes before the register write that makes the unit read the tables.
    // SAFETY: `mfence` has no operands and no effect but ordering.
    unsafe { core::arch::asm!("mfence", options(nostack, preserves_flags)) };
}

/// The single domain: root table, context table and second-level tree.
///
/// # Invariants
/// The tree maps (identity, read+write) exactly the ranges passed to [`Domain::map`] and not
/// since passed to [`Domain::unmap`]; `root` and `context` never change once made.
pub(super) struct Domain {
    mem: FrameTables,
    tree: SecondLevel,
    root: u64,
}

impl Domain {
    /// Builds the tables for `levels` (3 or 4) levels, mapping nothing yet. `flush` says the
    /// unit does not snoop caches (ECAP.C clear).
    pub(super) fn new(levels: u8, flush: bool) -> Option<Self> {
        let mut mem = FrameTables { frames: BTreeMap::new(), flush };
        let tree = SecondLevel::new(&mut mem, levels)?;
        let root = mem.alloc_table()?;
        let context = mem.alloc_table()?;
        // Context entry: present, translation type 0 (untranslated requests walk the
        // second-level tree), the tree's root; address width 1 = 39-bit/3-level,
        // 2 = 48-bit/4-level; the domain id in bits 87:72.
        let aw = u64::from(levels) - 2;
        for devfn in 0..256 {
            mem.write_at(context, devfn * 16, tree.root() | 1);
            mem.write_at(context, devfn * 16 + 8, aw | u64::from(DOMAIN_ID) << 8);
        }
        // Root entry: present, the context table (the same for every bus).
        for bus in 0..256 {
            mem.write_at(root, bus * 16, context | 1);
        }
        Some(Self { mem, tree, root })
    }

    /// Returns the root table's physical address (for RTADDR).
    pub(super) fn root_table(&self) -> u64 {
        self.root
    }

    /// Returns the address width the tree covers, in bits.
    pub(super) fn width_bits(&self) -> u32 {
        12 + 9 * u32::from(self.tree.levels())
    }

    /// Maps `frames` frames at `paddr` to themselves. On error nothing stays mapped.
    pub(super) fn map(&mut self, paddr: u64, frames: usize) -> Result<(), MapError> {
        let result = self.tree.map(&mut self.mem, paddr, frames);
        if result.is_err() {
            self.tree.unmap(&mut self.mem, paddr, frames);
        }
        result
    }

    /// Unmaps `frames` frames at `paddr`; the IOTLB must be invalidated afterwards.
    pub(super) fn unmap(&mut self, paddr: u64, frames: usize) {
        self.tree.unmap(&mut self.mem, paddr, frames);
    }

    /// Returns what a device access to `iova` reaches (walking the tables in memory).
    pub(super) fn translate(&mut self, iova: u64) -> Option<u64> {
        self.tree.translate(&mut self.mem, iova)
    }

    /// Returns whether `paddr` lies in one of the domain's own tables.
    pub(super) fn is_table(&self, paddr: u64) -> bool {
        self.mem.is_table(paddr)
    }
}
