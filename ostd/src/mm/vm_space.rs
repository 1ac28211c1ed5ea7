//! User address spaces.
//!
//! A [`VmSpace`] owns the user half of one page-table tree; the kernel half is shared with
//! every other space. Mapping a [`Frame`] gives the tree one reference to it; unmapping gives
//! it back. Page faults the kernel cannot resolve by itself go to the space's handler, which
//! the kernel installs (demand paging, copy-on-write).
//!
//! # Locking
//! Each space has one lock, `VmSpace::tree`. Every operation holds it from its first look-up
//! to its last entry rewrite, including the reference-count changes the entries imply: a
//! frame found in an entry is alive only because the entry holds a reference to it, so a new
//! reference may be taken only while the entry cannot change. The entries themselves are
//! reachable only through the guard ([`Leaf`] borrows it), so the compiler keeps them inside
//! the critical section.
//!
//! Lock order, outermost first: a space's `tree` lock; then `ACTIVE`; then the frame
//! allocator's lock. [`VmSpace::fork_cow`] holds two tree locks, the parent's and then the
//! child's. The child is new and no other CPU can reach it until `fork_cow` returns, so no
//! one can hold the child's lock while waiting for the parent's: the pair cannot deadlock.
//!
//! TLB invalidation is local to this CPU ([`page_table::flush`]): correct while one CPU runs.
//! A second CPU needs a shootdown before `unmap`/`replace` hand back a frame (not written yet).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::marker::PhantomData;

use x86_64::structures::paging::PageTableFlags as Hw;

use super::page_table::{self, EntryRef, PageAccess, PageFlags, WalkError, to_hw};
use super::{Frame, PAGE_SIZE, Paddr, USER_END, Vaddr, frame_alloc, kspace, user_copy};
use crate::sync::{SpinLock, SpinLockGuard};

/// Why an address-space operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmError {
    /// The address is not page-aligned, or not in user space.
    BadAddress(Vaddr),
    /// Something is already mapped there.
    AlreadyMapped(Vaddr),
    /// Nothing is mapped there.
    NotMapped(Vaddr),
    /// No memory was left for a page table.
    OutOfMemory,
    /// A user copy hit an address that could not be made accessible.
    Fault(Vaddr),
    /// The operation needs this space to be the active one on this CPU.
    NotActive,
}

/// A page fault, as the space's handler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFaultInfo {
    /// The faulting address.
    pub addr: Vaddr,
    /// What the access was.
    pub access: PageAccess,
    /// Whether a mapping was present (a protection fault) rather than missing.
    pub present: bool,
    /// Whether the access came from user mode.
    pub user: bool,
}

/// The handler a space calls for faults it cannot resolve itself; `Ok` means "fixed, retry".
pub type PageFaultHandler = Box<dyn Fn(&VmSpace, &PageFaultInfo) -> Result<(), ()> + Send + Sync>;

/// A user address space.
///
/// # Invariants
/// 1. `root` is a PML4 owned by this value whose kernel half equals the kernel tree's; it
///    never changes.
/// 2. Every present user leaf entry under `root` holds one reference to its frame.
/// 3. The user half of the tree is read and written only with `tree` held (module doc).
pub struct VmSpace {
    root: Paddr,
    tree: SpinLock<UserTree>,
    fault_handler: SpinLock<Option<Arc<PageFaultHandler>>>,
}

/// The user half of a space's tree, as its lock hands it out.
struct UserTree {
    root: Paddr,
}

/// A user leaf entry (4 KiB page), usable only while the tree's guard it borrows lives.
#[derive(Clone, Copy)]
struct Leaf<'a> {
    entry: EntryRef,
    _tree: PhantomData<&'a mut UserTree>,
}

const TABLE_FLAGS: Hw = Hw::PRESENT.union(Hw::WRITABLE).union(Hw::USER_ACCESSIBLE);

impl UserTree {
    /// Returns the present leaf mapping `va`, if any.
    fn present(&mut self, va: Vaddr) -> Option<Leaf<'_>> {
        match page_table::walk(self.root, va, 1, false, Hw::empty()) {
            Ok(Some(entry)) if entry.is_present() => Some(Leaf { entry, _tree: PhantomData }),
            _ => None,
        }
    }

    /// Returns the leaf slot for `va`, creating the tables above it.
    fn slot(&mut self, va: Vaddr) -> Result<Leaf<'_>, VmError> {
        match page_table::walk(self.root, va, 1, true, TABLE_FLAGS) {
            Ok(Some(entry)) => Ok(Leaf { entry, _tree: PhantomData }),
            Ok(None) | Err(WalkError::OutOfMemory) => Err(VmError::OutOfMemory),
            Err(WalkError::HugePageInTheWay) => Err(VmError::AlreadyMapped(va)),
        }
    }

    /// Returns a new reference to the frame `leaf` maps.
    ///
    /// # Panics
    /// If the entry is not present.
    fn clone_frame(leaf: Leaf<'_>) -> Frame {
        assert!(leaf.entry.is_present(), "cloning the frame of an empty entry");
        // The tree's lock, borrowed by `leaf`, is held until `clone_raw` has taken its own
        // reference, so the entry cannot be cleared and the frame freed in between.
        // SAFETY: the entry is present (asserted), so it holds a counted reference to its
        // frame (invariant 2), which stays alive while the lock is held (above).
        unsafe { Frame::clone_raw(leaf.entry.paddr()) }
    }
}

static ACTIVE: SpinLock<Option<Arc<VmSpace>>> = SpinLock::new(None);

impl VmSpace {
    /// Creates an empty address space.
    pub fn new() -> Result<Self, VmError> {
        let root = page_table::alloc_table().ok_or(VmError::OutOfMemory)?;
        kspace::copy_kernel_half(root);
        Ok(Self {
            root,
            tree: SpinLock::new(UserTree { root }),
            fault_handler: SpinLock::new(None),
        })
    }

    fn lock(&self) -> SpinLockGuard<'_, UserTree> {
        self.tree.lock()
    }

    /// Installs the handler for faults on this space.
    pub fn set_page_fault_handler(&self, handler: PageFaultHandler) {
        *self.fault_handler.lock() = Some(Arc::new(handler));
    }

    fn check_page(va: Vaddr) -> Result<(), VmError> {
        if !va.is_multiple_of(PAGE_SIZE as u64) || va >= USER_END {
            return Err(VmError::BadAddress(va));
        }
        Ok(())
    }

    /// Maps `frame` at `va` with `flags` (USER is implied).
    pub fn map(&self, va: Vaddr, frame: Frame, flags: PageFlags) -> Result<(), VmError> {
        Self::check_page(va)?;
        let mut tree = self.lock();
        let leaf = tree.slot(va)?;
        if leaf.entry.is_present() {
            return Err(VmError::AlreadyMapped(va));
        }
        // The entry takes over `frame`'s reference (invariant 2).
        leaf.entry.set(page_table::private_entry(
            frame.into_raw(),
            to_hw(flags | PageFlags::USER).bits(),
        ));
        page_table::flush(va);
        Ok(())
    }

    /// Unmaps the page at `va` and returns its frame.
    pub fn unmap(&self, va: Vaddr) -> Result<Frame, VmError> {
        Self::check_page(va)?;
        let mut tree = self.lock();
        let leaf = tree.present(va).ok_or(VmError::NotMapped(va))?;
        let paddr = leaf.entry.paddr();
        leaf.entry.set(0);
        page_table::flush(va);
        // SAFETY: the entry held one counted reference to this frame that no `Frame` owns
        // (invariant 2); clearing the entry under the lock hands it, once, to the result.
        Ok(unsafe { Frame::from_raw(paddr) })
    }

    /// Changes the rights of the page at `va`.
    pub fn protect(&self, va: Vaddr, flags: PageFlags) -> Result<(), VmError> {
        Self::check_page(va)?;
        let mut tree = self.lock();
        let leaf = tree.present(va).ok_or(VmError::NotMapped(va))?;
        leaf.entry.set_rights(to_hw(flags | PageFlags::USER).bits());
        page_table::flush(va);
        Ok(())
    }

    /// Unmaps every page in `start..end` (page-aligned, within user space), dropping the
    /// tree's reference to each frame; returns how many pages were mapped. Absent page tables
    /// are skipped whole, so the cost follows what is mapped, not the size of the range.
    pub fn unmap_range(&self, start: Vaddr, end: Vaddr) -> Result<usize, VmError> {
        Self::check_range(start, end)?;
        let tree = self.lock();
        let mut unmapped = 0;
        page_table::for_each_leaf_in(tree.root, start, end, &mut |va, entry| {
            let paddr = entry.paddr();
            entry.set(0);
            page_table::flush(va);
            // SAFETY: the entry held one counted reference to this frame that no `Frame`
            // owns (invariant 2); clearing the entry under the lock hands it, once, to this
            // value, which drops it.
            drop(unsafe { Frame::from_raw(paddr) });
            unmapped += 1;
        });
        Ok(unmapped)
    }

    /// Gives every mapped page in `start..end` the rights `flags` (USER is implied); pages
    /// not mapped stay unmapped.
    pub fn protect_range(&self, start: Vaddr, end: Vaddr, flags: PageFlags) -> Result<(), VmError> {
        Self::check_range(start, end)?;
        let tree = self.lock();
        let rights = to_hw(flags | PageFlags::USER).bits();
        page_table::for_each_leaf_in(tree.root, start, end, &mut |va, entry| {
            entry.set_rights(rights);
            page_table::flush(va);
        });
        Ok(())
    }

    /// Returns the pages in `start..end` (page-aligned, within user space) written through
    /// this space since they were mapped or last returned here, each with a new reference to
    /// its frame, and forgets that they were: the dirty bits a shared file mapping's
    /// write-back asks for.
    pub fn take_dirty(&self, start: Vaddr, end: Vaddr) -> Result<Vec<(Vaddr, Frame)>, VmError> {
        Self::check_range(start, end)?;
        let tree = self.lock();
        let mut dirty = Vec::new();
        page_table::for_each_leaf_in(tree.root, start, end, &mut |va, entry| {
            if entry.take_dirty() {
                page_table::flush(va);
                // SAFETY: the entry is present (the walk visits only present leaves), so it
                // holds a counted reference to its frame (invariant 2), alive while the
                // tree's lock is held.
                dirty.push((va, unsafe { Frame::clone_raw(entry.paddr()) }));
            }
        });
        Ok(dirty)
    }

    /// Records a write to the page at `va` made through its frame rather than this space
    /// (a tracer's, or another process's), so that [`VmSpace::take_dirty`] reports it.
    pub fn mark_dirty(&self, va: Vaddr) {
        if va >= USER_END {
            return;
        }
        let mut tree = self.lock();
        if let Some(leaf) = tree.present(va & !(PAGE_SIZE as u64 - 1)) {
            leaf.entry.mark_dirty();
        }
    }

    /// Returns how many user pages are mapped (the resident set, shared pages included).
    pub fn resident_pages(&self) -> usize {
        let tree = self.lock();
        let mut pages = 0;
        page_table::for_each_user_leaf(tree.root, &mut |_, _| pages += 1);
        pages
    }

    fn check_range(start: Vaddr, end: Vaddr) -> Result<(), VmError> {
        Self::check_page(start)?;
        if !end.is_multiple_of(PAGE_SIZE as u64) || end > USER_END || end < start {
            return Err(VmError::BadAddress(end));
        }
        Ok(())
    }

    /// Returns the physical address and rights `va` maps to.
    pub fn translate(&self, va: Vaddr) -> Option<(Paddr, PageFlags)> {
        if va >= USER_END {
            return None;
        }
        let tree = self.lock();
        page_table::translate(tree.root, va)
    }

    /// Takes a new reference to the frame mapped at `va` (any address in the page) and
    /// returns it; the mapping keeps its own. For copy-on-write, write-back and the like.
    pub fn clone_frame_at(&self, va: Vaddr) -> Option<Frame> {
        if va >= USER_END {
            return None;
        }
        let mut tree = self.lock();
        let leaf = tree.present(va & !(PAGE_SIZE as u64 - 1))?;
        Some(UserTree::clone_frame(leaf))
    }

    /// Returns a new space that shares every user page with this one, copy-on-write: both
    /// sides lose write access to each shared page, and each keeps its own reference.
    /// The kernel restores write access (or copies) in its page-fault handler, from its own
    /// record of which mappings are writable. The page-fault handler is not copied.
    pub fn fork_cow(&self) -> Result<VmSpace, VmError> {
        let child = VmSpace::new()?;
        let result = {
            // Parent first, then child: see the module doc for why this cannot deadlock.
            let parent_tree = self.lock();
            let mut child_tree = child.lock();
            let mut result = Ok(());
            page_table::for_each_user_leaf(parent_tree.root, &mut |va, entry| {
                if result.is_err() {
                    return;
                }
                let shared = entry.get() & !Hw::WRITABLE.bits();
                match child_tree.slot(va) {
                    Ok(child_leaf) => {
                        // The child's entry gets a reference of its own (invariant 2); the
                        // parent's entry holds one, and the parent's lock keeps it there.
                        frame_alloc::get_ref(entry.paddr());
                        entry.set(shared);
                        child_leaf.entry.set(shared);
                    }
                    Err(e) => result = Err(e),
                }
            });
            // Write access was removed from the parent's entries: its stale TLB entries must go.
            if page_table::current_root() == self.root {
                page_table::flush_all();
            }
            result
        };
        result.map(|()| child)
    }

    /// Replaces the frame at `va` with `frame` (same rights unless `flags` says otherwise),
    /// returning the old one; for resolving copy-on-write faults.
    pub fn replace(&self, va: Vaddr, frame: Frame, flags: PageFlags) -> Result<Frame, VmError> {
        Self::check_page(va)?;
        let mut tree = self.lock();
        let leaf = tree.present(va).ok_or(VmError::NotMapped(va))?;
        let old = leaf.entry.paddr();
        leaf.entry.set(page_table::private_entry(
            frame.into_raw(),
            to_hw(flags | PageFlags::USER).bits(),
        ));
        page_table::flush(va);
        // SAFETY: the entry held one counted reference to `old` that no `Frame` owns
        // (invariant 2); overwriting the entry under the lock hands it, once, to the result.
        Ok(unsafe { Frame::from_raw(old) })
    }

    /// Makes this space the one the CPU uses.
    pub fn activate(self: &Arc<Self>) {
        let mut active = ACTIVE.lock();
        // SAFETY: the root is a complete PML4 with the kernel half (invariant 1), and
        // `ACTIVE` keeps this space (and so its tables) alive until another root is loaded:
        // `activate` and `deactivate_user_space` replace it only after loading theirs.
        unsafe { page_table::activate(self.root) };
        *active = Some(self.clone());
    }

    /// Returns whether this space is the active one.
    pub fn is_active(&self) -> bool {
        page_table::current_root() == self.root
    }

    /// Resolves a fault through the installed handler.
    #[allow(
        clippy::result_unit_err,
        reason = "the trap path only needs to know whether the fault was resolved"
    )]
    pub fn handle_page_fault(&self, info: &PageFaultInfo) -> Result<(), ()> {
        let handler = self.fault_handler.lock().clone();
        match handler {
            Some(handler) => handler(self, info),
            None => Err(()),
        }
    }

    /// Copies user memory at `va` into `buf`. The space must be active.
    pub fn read_bytes(&self, va: Vaddr, buf: &mut [u8]) -> Result<(), VmError> {
        self.check_copy(va, buf.len())?;
        match user_copy::copy_from_user(buf, va) {
            0 => Ok(()),
            left => Err(VmError::Fault(va + (buf.len() - left) as u64)),
        }
    }

    /// Copies `buf` to user memory at `va`. The space must be active.
    pub fn write_bytes(&self, va: Vaddr, buf: &[u8]) -> Result<(), VmError> {
        self.check_copy(va, buf.len())?;
        match user_copy::copy_to_user(va, buf) {
            0 => Ok(()),
            left => Err(VmError::Fault(va + (buf.len() - left) as u64)),
        }
    }

    /// Copies `len` bytes from kernel memory at `src` to user memory at `va`, as
    /// [`VmSpace::write_bytes`] does, for a source no Rust reference may cover (the shared
    /// pool, which the host may change meanwhile).
    ///
    /// # Safety
    /// `src..src + len` must be readable kernel memory for the whole call and lie outside
    /// user space.
    pub(crate) unsafe fn write_bytes_from_raw(
        &self,
        va: Vaddr,
        src: *const u8,
        len: usize,
    ) -> Result<(), VmError> {
        self.check_copy(va, len)?;
        // SAFETY: `va..va + len` is user space of this space, which is active (checked);
        // `src` is readable kernel memory (the caller's contract).
        match unsafe { user_copy::copy_to_user_raw(va, src, len) } {
            0 => Ok(()),
            left => Err(VmError::Fault(va + (len - left) as u64)),
        }
    }

    /// Copies `len` bytes of user memory at `va` to kernel memory at `dst`, as
    /// [`VmSpace::read_bytes`] does, for a destination no Rust reference may cover.
    ///
    /// # Safety
    /// `dst..dst + len` must be writable kernel memory for the whole call, outside user
    /// space, that no Rust reference points into.
    pub(crate) unsafe fn read_bytes_into_raw(
        &self,
        va: Vaddr,
        dst: *mut u8,
        len: usize,
    ) -> Result<(), VmError> {
        self.check_copy(va, len)?;
        // SAFETY: as in `write_bytes_from_raw`, the other way round.
        match unsafe { user_copy::copy_from_user_raw(dst, va, len) } {
            0 => Ok(()),
            left => Err(VmError::Fault(va + (len - left) as u64)),
        }
    }

    fn check_copy(&self, va: Vaddr, len: usize) -> Result<(), VmError> {
        if !user_copy::is_user_range(va, len) {
            return Err(VmError::BadAddress(va));
        }
        if !self.is_active() {
            return Err(VmError::NotActive);
        }
        Ok(())
    }
}

impl Drop for VmSpace {
    fn drop(&mut self) {
        let root = self.root;
        if page_table::current_root() == root {
            // SAFETY: the kernel tree is complete (its kernel half is every space's) and
            // lives forever.
            unsafe { page_table::activate(kspace::kernel_root()) };
        }
        // No other reference to the space exists (`&mut self`); the lock is taken anyway so
        // the tree is only ever touched under it (invariant 3).
        let _tree = self.lock();
        page_table::free_subtree(root, 4, 0, super::pt_index::USER_SLOTS);
        frame_alloc::free(root, 1);
    }
}

crate::ktest! {
    fn fork_cow_shares_frames_read_only_in_both_spaces() {
        let parent = VmSpace::new().unwrap();
        let frame = Frame::alloc_zeroed().unwrap();
        frame.write_bytes(0, b"parent data");
        let paddr = frame.paddr();
        parent.map(0x40_0000, frame, PageFlags::READ | PageFlags::WRITE).unwrap();
        let child = parent.fork_cow().unwrap();
        let (child_pa, child_flags) = child.translate(0x40_0000).expect("child lacks the page");
        let (parent_pa, parent_flags) = parent.translate(0x40_0000).unwrap();
        assert_eq!((child_pa, parent_pa), (paddr, paddr));
        assert!(
            !child_flags.contains(PageFlags::WRITE) && !parent_flags.contains(PageFlags::WRITE)
        );
        let shared = child.clone_frame_at(0x40_0000).unwrap();
        assert_eq!(shared.ref_count(), 3, "two mappings and this handle");
        // Resolve the child's copy-on-write: give it a private copy.
        let copy = Frame::alloc_zeroed().unwrap();
        copy.copy_from(&shared);
        drop(shared);
        let old = child.replace(0x40_0000, copy, PageFlags::READ | PageFlags::WRITE).unwrap();
        assert_eq!(old.ref_count(), 2, "the parent's mapping and `old`");
        let mut buf = [0u8; 11];
        child.clone_frame_at(0x40_0000).unwrap().read_bytes(0, &mut buf);
        assert_eq!(&buf, b"parent data");
    }

    fn take_dirty_reports_each_written_page_once_and_protect_keeps_the_mark() {
        let space = VmSpace::new().unwrap();
        for va in [0x60_0000, 0x60_1000, 0x60_2000] {
            space.map(va, Frame::alloc_zeroed().unwrap(), PageFlags::READ | PageFlags::WRITE).unwrap();
        }
        assert!(space.take_dirty(0x60_0000, 0x60_3000).unwrap().is_empty(), "nothing written yet");
        space.mark_dirty(0x60_1abc);
        space.protect(0x60_1000, PageFlags::READ).unwrap();
        let dirty = space.take_dirty(0x60_0000, 0x60_3000).unwrap();
        assert_eq!(dirty.iter().map(|(va, _)| *va).collect::<Vec<_>>(), [0x60_1000]);
        assert_eq!(dirty[0].1.ref_count(), 2, "the mapping and the returned frame");
        assert!(space.take_dirty(0x60_0000, 0x60_3000).unwrap().is_empty(), "taken once");
        assert_eq!(space.translate(0x60_1000).map(|(_, f)| f.contains(PageFlags::WRITE)), Some(false));
    }

    fn clone_frame_at_takes_a_new_reference_and_the_mapping_keeps_its_own() {
        let space = VmSpace::new().unwrap();
        space.map(0x50_0000, Frame::alloc_zeroed().unwrap(), PageFlags::READ).unwrap();
        let handle = space.clone_frame_at(0x50_0abc).expect("any address in the page names it");
        assert_eq!(handle.ref_count(), 2, "the mapping and this handle");
        let unmapped = space.unmap(0x50_0000).unwrap();
        assert_eq!(unmapped.ref_count(), 2, "the mapping's reference moved to `unmapped`");
        drop(unmapped);
        assert_eq!(handle.ref_count(), 1);
        assert!(space.clone_frame_at(0x50_0000).is_none());
        assert!(space.clone_frame_at(USER_END).is_none(), "kernel addresses are not the space's");
    }
}

/// Offers a kernel-mode fault on a user address to the active space's handler.
pub(crate) fn handle_kernel_fault_on_user(info: &PageFaultInfo) -> bool {
    let active = ACTIVE.lock().clone();
    match active {
        Some(space) if info.addr < USER_END => space.handle_page_fault(info).is_ok(),
        _ => false,
    }
}

/// Returns to the kernel-only tree, releasing the active user space.
pub fn deactivate_user_space() {
    let mut active = ACTIVE.lock();
    // SAFETY: the kernel tree is complete and lives forever.
    unsafe { page_table::activate(kspace::kernel_root()) };
    *active = None;
}
