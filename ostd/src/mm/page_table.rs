//! x86-64 4-level page tables, walked through the direct map.
//!
//! This file is the only code that reads or writes page-table entries. Callers name a root
//! table by physical address and must hold whatever lock serialises changes to that tree
//! (the kernel tree changes only during boot and under `kspace`'s lock; each `VmSpace`
//! guards its own).

use core::sync::atomic::{AtomicU64, Ordering};

use bitflags::bitflags;
use x86_64::structures::paging::PageTableFlags as Hw;

use super::pt_index::{ENTRIES, ROOT_LEVEL, USER_SLOTS, entry_span, index, leaf_target, slot_base};
use super::{PAGE_SIZE, Paddr, Vaddr, frame_alloc, paddr_to_vaddr};

bitflags! {
    /// What a mapping allows.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PageFlags: u8 {
        /// Readable (always true for a present mapping on x86).
        const READ = 1;
        /// Writable.
        const WRITE = 2;
        /// Executable.
        const EXEC = 4;
        /// Reachable from user mode.
        const USER = 8;
        /// Uncached (device memory).
        const UNCACHED = 16;
    }
}

/// The kind of access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAccess {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Execute,
}

const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Whose a mapped frame is on a confidential platform, which the entry's address says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// The guest's own memory: SEV-SNP's encryption bit set, TDX's shared bit clear.
    Private,
    /// Memory the host may read and write (the shared pool, device MMIO): the encryption
    /// bit clear, the shared bit set.
    Shared,
}

/// The address bits each [`Visibility`] adds to an entry: (private, shared). Set once at
/// boot by `tee`, before the kernel's page table is built; 0 and 0 without a TEE. At most
/// one of them is non-zero: SEV-SNP's C-bit is the private one, TDX's shared bit (47 or 51,
/// by the GPA width) the shared one. Entries report their frame with both cleared
/// ([`EntryRef::paddr`]).
static PRIVATE_BITS: AtomicU64 = AtomicU64::new(0);
static SHARED_BITS: AtomicU64 = AtomicU64::new(0);

/// Declares the address bits that make an entry private and shared (see [`Visibility`]);
/// they select how a frame is reached, and are not part of frame addresses.
pub(crate) fn set_visibility_bits(private: u64, shared: u64) {
    PRIVATE_BITS.store(private & ADDR_MASK, Ordering::Relaxed);
    SHARED_BITS.store(shared & ADDR_MASK, Ordering::Relaxed);
}

/// Returns the address bits of `visibility`.
pub(super) fn visibility_bits(visibility: Visibility) -> u64 {
    match visibility {
        Visibility::Private => PRIVATE_BITS.load(Ordering::Relaxed),
        Visibility::Shared => SHARED_BITS.load(Ordering::Relaxed),
    }
}

fn all_visibility_bits() -> u64 {
    PRIVATE_BITS.load(Ordering::Relaxed) | SHARED_BITS.load(Ordering::Relaxed)
}

/// The entry for a private frame (or table) at `paddr` with `hw`: every mapping of RAM the
/// guest owns, and every page-table entry that points at a table.
pub(super) fn private_entry(paddr: Paddr, hw: u64) -> u64 {
    paddr | visibility_bits(Visibility::Private) | hw
}

pub(super) fn to_hw(flags: PageFlags) -> Hw {
    let mut hw = Hw::PRESENT;
    if flags.contains(PageFlags::WRITE) {
        hw |= Hw::WRITABLE;
    }
    // Bit 63 is reserved (a fault on every access) unless EFER.NXE is on.
    if !flags.contains(PageFlags::EXEC) && crate::cpu::nx_enabled() {
        hw |= Hw::NO_EXECUTE;
    }
    if flags.contains(PageFlags::USER) {
        hw |= Hw::USER_ACCESSIBLE;
    }
    if flags.contains(PageFlags::UNCACHED) {
        hw |= Hw::NO_CACHE | Hw::WRITE_THROUGH;
    }
    hw
}

pub(super) fn from_hw(hw: Hw) -> PageFlags {
    let mut flags = PageFlags::READ;
    if hw.contains(Hw::WRITABLE) {
        flags |= PageFlags::WRITE;
    }
    if !hw.contains(Hw::NO_EXECUTE) {
        flags |= PageFlags::EXEC;
    }
    if hw.contains(Hw::USER_ACCESSIBLE) {
        flags |= PageFlags::USER;
    }
    if hw.contains(Hw::NO_CACHE) {
        flags |= PageFlags::UNCACHED;
    }
    flags
}

/// A pointer to one page-table entry.
///
/// # Invariants
/// Made only by [`EntryRef::at`], so the pointer is entry `idx < ENTRIES` of a page-table
/// page: a frame from [`alloc_table`] (or, for the root argument, a root the caller owns),
/// which is 4 KiB-aligned RAM in the direct map, so the pointer is 8-aligned and in bounds.
///
/// # The caller's side (the contract of this module)
/// An `EntryRef` is used only while its caller holds the lock that serialises changes to
/// its tree (module doc), and is never kept past it. Under that lock no table of the tree
/// is freed (tables are freed only by [`free_subtree`], on a tree being torn down) and no
/// other CPU writes its entries.
#[derive(Clone, Copy)]
pub(super) struct EntryRef(*mut u64);

impl EntryRef {
    /// Returns entry `idx` of the table page at `table`.
    ///
    /// # Panics
    /// If `idx >= ENTRIES`.
    fn at(table: Paddr, idx: usize) -> Self {
        assert!(idx < ENTRIES, "page-table index {idx} out of range");
        Self((paddr_to_vaddr(table) as *mut u64).wrapping_add(idx))
    }

    /// Returns the entry `idx` of the root table at `root`.
    pub(super) fn at_root(root: Paddr, idx: usize) -> Self {
        Self::at(root, idx)
    }

    pub(super) fn get(self) -> u64 {
        // Volatile because the MMU sets accessed/dirty bits behind our back.
        // SAFETY: an aligned, in-bounds entry of a live table page in the direct map
        // (invariant); the caller holds the tree's lock (module contract), so it stays live.
        unsafe { self.0.read_volatile() }
    }

    pub(super) fn set(self, value: u64) {
        // SAFETY: as in `get`; the caller holds the tree's lock, so no other CPU writes the
        // entry at the same time (the MMU's accessed/dirty updates are atomic in hardware).
        unsafe { self.0.write_volatile(value) }
    }

    pub(super) fn is_present(self) -> bool {
        self.get() & Hw::PRESENT.bits() != 0
    }

    /// Returns the frame (or table) the entry points at, without the visibility bits.
    pub(super) fn paddr(self) -> Paddr {
        self.get() & ADDR_MASK & !all_visibility_bits()
    }

    /// Keeps the entry's frame, visibility and the accessed and dirty bits the MMU set, with
    /// the rights and attributes `hw` instead. Atomic against the MMU, which may set the dirty
    /// bit through another CPU's cached translation between a read and a write of the entry:
    /// a store to a shared file mapping must not be forgotten by its write-back.
    pub(super) fn set_rights(self, hw: u64) {
        let kept_by_mmu = Hw::ACCESSED.bits() | Hw::DIRTY.bits();
        let _ = self.atomic().fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
            Some((old & (ADDR_MASK | kept_by_mmu)) | (hw & !ADDR_MASK & !kept_by_mmu))
        });
    }

    /// Clears the dirty bit; returns whether it was set. The caller flushes the translation,
    /// so that the next store through it sets the bit again.
    pub(super) fn take_dirty(self) -> bool {
        let old = self.atomic().fetch_and(!Hw::DIRTY.bits(), Ordering::AcqRel);
        old & Hw::DIRTY.bits() != 0
    }

    /// Sets the dirty bit, as a store through the entry would (a write that reached the
    /// frame another way).
    pub(super) fn mark_dirty(self) {
        self.atomic().fetch_or(Hw::DIRTY.bits(), Ordering::AcqRel);
    }

    fn atomic(&self) -> &AtomicU64 {
        // The MMU updates entries with atomic operations; this module's plain accesses are
        // volatile and made only under the tree's lock, which the caller holds.
        // SAFETY: an aligned, in-bounds entry of a live table page (invariant), live while
        // the caller holds the tree's lock (module contract), so for this borrow of `self`.
        unsafe { AtomicU64::from_ptr(self.0) }
    }

    /// Returns the entry's visibility bits (those of [`set_visibility_bits`]).
    pub(super) fn visibility_bits(self) -> u64 {
        self.get() & all_visibility_bits()
    }

    pub(super) fn flags(self) -> Hw {
        Hw::from_bits_truncate(self.get())
    }
}

/// Allocates a zeroed page-table page (with reference count 1, held by its parent entry).
pub(super) fn alloc_table() -> Option<Paddr> {
    let paddr = frame_alloc::alloc(1)?;
    // SAFETY: a fresh frame from the allocator: one whole page of RAM in the direct map that
    // nothing else references yet.
    unsafe { core::ptr::write_bytes(paddr_to_vaddr(paddr) as *mut u8, 0, PAGE_SIZE) };
    Some(paddr)
}

/// Why a mapping operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// No frame was left for an intermediate table.
    OutOfMemory,
    /// A huge page already covers the address.
    HugePageInTheWay,
}

/// Returns the entry at `level` for `va` under `root`, creating missing tables on the way
/// (with `table_flags`) when `create` is set. `None` means absent and not created.
pub(super) fn walk(
    root: Paddr,
    va: Vaddr,
    level: u32,
    create: bool,
    table_flags: Hw,
) -> Result<Option<EntryRef>, WalkError> {
    let mut table = root;
    for l in (level + 1..=ROOT_LEVEL).rev() {
        let entry = EntryRef::at(table, index(va, l));
        if !entry.is_present() {
            if !create {
                return Ok(None);
            }
            let new = alloc_table().ok_or(WalkError::OutOfMemory)?;
            entry.set(private_entry(new, table_flags.bits()));
        } else if entry.flags().contains(Hw::HUGE_PAGE) {
            return Err(WalkError::HugePageInTheWay);
        } else if table_flags.contains(Hw::USER_ACCESSIBLE)
            && !entry.flags().contains(Hw::USER_ACCESSIBLE)
        {
            entry.set(entry.get() | Hw::USER_ACCESSIBLE.bits());
        }
        table = entry.paddr();
    }
    Ok(Some(EntryRef::at(table, index(va, level))))
}

/// Finds the leaf mapping `va`: returns (entry, level) for a 4 KiB, 2 MiB or 1 GiB page.
pub(super) fn find_leaf(root: Paddr, va: Vaddr) -> Option<(EntryRef, u32)> {
    let mut table = root;
    for level in (1..=ROOT_LEVEL).rev() {
        let entry = EntryRef::at(table, index(va, level));
        if !entry.is_present() {
            return None;
        }
        if level == 1 || entry.flags().contains(Hw::HUGE_PAGE) {
            return Some((entry, level));
        }
        table = entry.paddr();
    }
    None
}

/// Makes the 2 MiB leaf `entry` (at level 2) a table of 512 4 KiB leaves with the same
/// frames and rights, so that one of them can change alone. The caller flushes the range.
pub(super) fn split_huge(entry: EntryRef) -> Result<(), WalkError> {
    let huge = entry.get();
    debug_assert!(huge & Hw::HUGE_PAGE.bits() != 0);
    let table = alloc_table().ok_or(WalkError::OutOfMemory)?;
    // In a 2 MiB entry bit 12 is PAT and the frame starts at bit 21; in a 4 KiB entry bit 7
    // (HUGE_PAGE there) is PAT. Neither PAT bit is used here.
    // The small pages keep the huge one's visibility bits, which lie above bit 21.
    let base = entry.paddr() & !0x1f_ffff;
    let visibility = entry.visibility_bits();
    let rights = huge & !ADDR_MASK & !Hw::HUGE_PAGE.bits();
    for i in 0..ENTRIES {
        EntryRef::at(table, i).set((base + (i * PAGE_SIZE) as u64) | visibility | rights);
    }
    entry.set(private_entry(table, (Hw::PRESENT | Hw::WRITABLE).bits()));
    Ok(())
}

/// Returns the physical address `va` maps to under `root`, with the mapping's flags.
pub(super) fn translate(root: Paddr, va: Vaddr) -> Option<(Paddr, PageFlags)> {
    let (entry, level) = find_leaf(root, va)?;
    Some((leaf_target(entry.paddr(), va, level), from_hw(entry.flags())))
}

/// Returns the visibility the leaf mapping `va` has, if one maps it. Off a TEE both
/// visibilities have no bits, and the answer is `Shared`.
pub(super) fn visibility_at(root: Paddr, va: Vaddr) -> Option<Visibility> {
    let (entry, _) = find_leaf(root, va)?;
    let bits = entry.visibility_bits();
    if bits == visibility_bits(Visibility::Shared) {
        Some(Visibility::Shared)
    } else if bits == visibility_bits(Visibility::Private) {
        Some(Visibility::Private)
    } else {
        None
    }
}

/// Invalidates the TLB entry for `va` on this CPU.
pub(super) fn flush(va: Vaddr) {
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(va));
}

/// Returns the root table this CPU is using.
pub(crate) fn current_root() -> Paddr {
    x86_64::registers::control::Cr3::read().0.start_address().as_u64() & !all_visibility_bits()
}

/// Switches this CPU to the tree at `root`.
///
/// # Safety
/// `root` must be a complete PML4 whose kernel half equals the kernel page table's, and it
/// must stay alive until another root is loaded.
pub(super) unsafe fn activate(root: Paddr) {
    use x86_64::registers::control::{Cr3, Cr3Flags};
    use x86_64::structures::paging::PhysFrame;
    // The root is private memory: under SEV-SNP CR3 carries the encryption bit, as Linux's
    // does (`__sme_pa`).
    let frame = PhysFrame::from_start_address(x86_64::PhysAddr::new(private_entry(root, 0)))
        .expect("unaligned page-table root");
    // SAFETY: the caller guarantees the tree is complete and keeps the kernel half mapped,
    // so the code, stack and data in use stay mapped across the switch.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}

/// Calls `f` with the virtual address and entry of every present 4 KiB user leaf under
/// `root` (PML4 slots 0..256).
pub(super) fn for_each_user_leaf(root: Paddr, f: &mut dyn FnMut(Vaddr, EntryRef)) {
    fn visit(
        table: Paddr,
        level: u32,
        base: Vaddr,
        slots: usize,
        f: &mut dyn FnMut(Vaddr, EntryRef),
    ) {
        for idx in 0..slots {
            let entry = EntryRef::at(table, idx);
            if !entry.is_present() {
                continue;
            }
            let va = slot_base(base, level, idx);
            if level == 1 {
                f(va, entry);
            } else if !entry.flags().contains(Hw::HUGE_PAGE) {
                visit(entry.paddr(), level - 1, va, ENTRIES, f);
            }
        }
    }
    visit(root, ROOT_LEVEL, 0, USER_SLOTS, f);
}

/// Calls `f` with the virtual address and entry of every present 4 KiB user leaf in
/// `start..end` under `root`, skipping absent subtrees whole: a sparse range of terabytes
/// costs what its present tables cost, not one step per page.
pub(super) fn for_each_leaf_in(
    root: Paddr,
    start: Vaddr,
    end: Vaddr,
    f: &mut dyn FnMut(Vaddr, EntryRef),
) {
    fn visit(
        table: Paddr,
        level: u32,
        base: Vaddr,
        start: Vaddr,
        end: Vaddr,
        f: &mut dyn FnMut(Vaddr, EntryRef),
    ) {
        let span = entry_span(level);
        for idx in 0..ENTRIES {
            let va = slot_base(base, level, idx);
            if va >= end {
                break;
            }
            if va + span <= start {
                continue;
            }
            let entry = EntryRef::at(table, idx);
            if !entry.is_present() {
                continue;
            }
            if level == 1 {
                f(va, entry);
            } else if !entry.flags().contains(Hw::HUGE_PAGE) {
                visit(entry.paddr(), level - 1, va, start, end, f);
            }
        }
    }
    // Only the user half (PML4 slots 0..USER_SLOTS, below 2^47) is walked.
    let end = end.min(slot_base(0, ROOT_LEVEL, USER_SLOTS));
    if start < end {
        visit(root, ROOT_LEVEL, 0, start, end, f);
    }
}

/// Flushes this CPU's TLB of all non-global entries.
pub(super) fn flush_all() {
    x86_64::instructions::tlb::flush_all();
}

/// Frees every table and leaf reference below `table` at `level`, for the user-half slots
/// `[first, last)` of the root (or all 512 below the root).
pub(super) fn free_subtree(table: Paddr, level: u32, first: usize, last: usize) {
    for idx in first..last {
        let entry = EntryRef::at(table, idx);
        if !entry.is_present() {
            continue;
        }
        if level == 1 {
            frame_alloc::put_ref(entry.paddr());
        } else if !entry.flags().contains(Hw::HUGE_PAGE) {
            free_subtree(entry.paddr(), level - 1, 0, ENTRIES);
            frame_alloc::free(entry.paddr(), 1);
        }
        entry.set(0);
    }
}

crate::ktest! {
    fn the_private_bit_goes_into_every_entry_made_and_never_into_the_frame_read_back() {
        // SEV-SNP's encryption bit, played by bit 46, in a scratch table nothing walks; with
        // interrupts off, nothing else makes an entry while the bit is declared.
        const C_BIT: u64 = 1 << 46;
        let _irqs_off = crate::sync::disable_local_irqs();
        let saved = (visibility_bits(Visibility::Private), visibility_bits(Visibility::Shared));
        let table = alloc_table().expect("a frame for the scratch table");
        set_visibility_bits(C_BIT, 0);
        let entry = EntryRef::at(table, 3);
        entry.set(private_entry(0x1234_5000, (Hw::PRESENT | Hw::WRITABLE).bits()));
        let made = entry.get();
        let frame = entry.paddr();
        entry.set_rights(Hw::PRESENT.bits());
        let protected = entry.get();
        set_visibility_bits(saved.0, saved.1);
        frame_alloc::free(table, 1);
        assert_ne!(made & C_BIT, 0, "a private entry carries the bit");
        assert_eq!(frame, 0x1234_5000, "the frame is read without it");
        assert_eq!(protected, 0x1234_5000 | C_BIT | Hw::PRESENT.bits(), "new rights keep it");
    }
}
