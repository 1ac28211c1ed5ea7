//! Kernel stacks, each mapped in a slot of its own with unmapped guard pages below it.
//!
//! The stacks live in their own area of the kernel half (PML4 slot 448), not in the direct
//! map, so that the pages below each stack can stay unmapped. A stack that overflows runs
//! into its guard pages and faults, instead of silently writing over whatever lies below it.
//! The trap entry (`trap/entry.S`) checks every kernel-mode page fault for an address in this
//! area *before* it moves the trap frame onto the interrupted stack (which is exhausted), and
//! reports it from a stack of its own as a kernel stack overflow.
//!
//! ```text
//! KSTACK_AREA + i * SLOT_BYTES:  | guard (unmapped, SLOT_BYTES - stack size) | stack (mapped) |
//! ```
//! Frame pointers in a 64 KiB guard reach far enough that even a function with a large frame
//! (stack probes touch every page of a frame over 4 KiB anyway) lands in it.

use alloc::vec::Vec;

use x86_64::structures::paging::PageTableFlags as Hw;

use super::page_table::{self, PageFlags, to_hw};
use super::{PAGE_SIZE, Paddr, Vaddr, frame_alloc, kspace, paddr_to_vaddr};
use crate::sync::SpinLock;

/// The start of the kernel-stack area: all of PML4 slot 448.
pub(crate) const KSTACK_AREA: Vaddr = 0xffff_e000_0000_0000;
/// The PML4 slot of the area (trap entry recognises faults in it by this index).
pub(crate) const KSTACK_PML4_SLOT: usize = 448;
/// The size of the area: one PML4 slot.
const KSTACK_AREA_BYTES: u64 = 1 << 39;
/// The virtual space each stack takes: its pages, and guard pages below them.
const SLOT_BYTES: u64 = 128 * 1024;
/// The largest stack a slot holds, leaving at least 64 KiB of guard.
pub(crate) const MAX_STACK_PAGES: usize = 16;

const _: () = assert!(KSTACK_AREA == 0xffff_0000_0000_0000 | (KSTACK_PML4_SLOT as u64) << 39);
const _: () = assert!((MAX_STACK_PAGES * PAGE_SIZE) as u64 * 2 <= SLOT_BYTES);

/// Which slots are in use: every slot below `next` that is not in `free`.
struct Slots {
    next: u64,
    free: Vec<u64>,
}

/// Guards the slot list and the area's page-table entries (the kernel tree's lock for this
/// subtree; kspace's I/O window has its own).
static SLOTS: SpinLock<Slots> = SpinLock::new(Slots { next: 0, free: Vec::new() });

/// A kernel stack, mapped at its own slot with unmapped guard pages below.
///
/// # Invariants
/// 1. `frames..frames + pages * PAGE_SIZE` came from one frame-allocator call and is owned by
///    this value alone; besides the direct map, it is mapped only at `bottom()..top()`.
/// 2. The slot `slot` belongs to this value alone; the rest of the slot is unmapped.
#[derive(Debug)]
pub(crate) struct KernelStack {
    slot: u64,
    frames: Paddr,
    pages: usize,
}

impl KernelStack {
    /// Allocates a zeroed stack of `pages` pages (at most [`MAX_STACK_PAGES`]) and maps it.
    ///
    /// Returns `None` when memory runs out.
    pub fn new(pages: usize) -> Option<Self> {
        assert!(pages > 0 && pages <= MAX_STACK_PAGES, "kernel stack of {pages} pages");
        let frames = frame_alloc::alloc(pages)?;
        // SAFETY: fresh frames from the allocator, RAM in the direct map, owned by nobody else.
        unsafe { core::ptr::write_bytes(paddr_to_vaddr(frames) as *mut u8, 0, pages * PAGE_SIZE) };
        let mut slots = SLOTS.lock();
        let slot = match slots.free.pop() {
            Some(slot) => slot,
            None if (slots.next + 1) * SLOT_BYTES <= KSTACK_AREA_BYTES => {
                slots.next += 1;
                slots.next - 1
            }
            None => {
                drop(slots);
                frame_alloc::free(frames, pages);
                return None;
            }
        };
        let stack = Self { slot, frames, pages };
        let root = kspace::kernel_root();
        let rw = to_hw(PageFlags::READ | PageFlags::WRITE);
        for i in 0..pages {
            let va = stack.bottom() + (i * PAGE_SIZE) as u64;
            match page_table::walk(root, va, 1, true, Hw::PRESENT | Hw::WRITABLE) {
                Ok(Some(entry)) => {
                    entry.set(page_table::private_entry(frames + (i * PAGE_SIZE) as u64, rw.bits()))
                }
                // Out of memory for a page table: `stack`'s drop unmaps what was mapped.
                _ => {
                    drop(slots);
                    return None;
                }
            }
        }
        Some(stack)
    }

    /// Returns the lowest mapped address.
    pub fn bottom(&self) -> Vaddr {
        self.top() - (self.pages * PAGE_SIZE) as u64
    }

    /// Returns the address just above the stack (the initial stack pointer).
    pub fn top(&self) -> Vaddr {
        KSTACK_AREA + (self.slot + 1) * SLOT_BYTES
    }

    /// Returns the guard range below the stack: unmapped, so any access faults.
    pub fn guard(&self) -> (Vaddr, Vaddr) {
        (KSTACK_AREA + self.slot * SLOT_BYTES, self.bottom())
    }

    /// Writes `value` at `offset` bytes from the bottom, through the direct map.
    ///
    /// # Safety
    /// No code may be running on this stack (it is new, and not yet switched to).
    pub(crate) unsafe fn write_word(&self, offset: usize, value: u64) {
        assert!(offset + 8 <= self.pages * PAGE_SIZE && offset.is_multiple_of(8));
        let ptr = (paddr_to_vaddr(self.frames) + offset as u64) as *mut u64;
        // SAFETY: in bounds and aligned (asserted) in frames this value owns (invariant 1);
        // nothing runs on the stack (the caller's promise), so no one else reads or writes it.
        unsafe { ptr.write(value) };
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        let root = kspace::kernel_root();
        let mut slots = SLOTS.lock();
        for i in 0..self.pages {
            let va = self.bottom() + (i * PAGE_SIZE) as u64;
            if let Ok(Some(entry)) = page_table::walk(root, va, 1, false, Hw::empty()) {
                entry.set(0);
                // One CPU runs the kernel: flushing its TLB is enough before the frames go.
                page_table::flush(va);
            }
        }
        slots.free.push(self.slot);
        drop(slots);
        // The frames are mapped nowhere now but the direct map (invariant 1), and the slot's
        // mappings are gone, so the frames go back to the allocator.
        frame_alloc::free(self.frames, self.pages);
    }
}

/// Returns whether `addr` is in the kernel-stack area (a live stack or any guard page).
pub(crate) fn in_area(addr: Vaddr) -> bool {
    addr.wrapping_sub(KSTACK_AREA) < KSTACK_AREA_BYTES
}

crate::ktest! {
    fn kernel_stacks_have_unmapped_guard_pages_and_are_unmapped_when_dropped() {
        let root = kspace::kernel_root();
        // A first stack may need a new page table for its slot; the next one reuses the slot.
        drop(KernelStack::new(MAX_STACK_PAGES));
        let before = super::frame_stats().free;
        let stack = KernelStack::new(MAX_STACK_PAGES).expect("no memory for a stack");
        let (guard_lo, guard_hi) = stack.guard();
        assert_eq!(guard_hi, stack.bottom());
        assert!(guard_hi - guard_lo >= 64 * 1024);
        assert!(
            page_table::translate(root, guard_hi - 1).is_none(),
            "the page below the stack is mapped"
        );
        assert!(page_table::translate(root, guard_lo).is_none(), "the guard's bottom is mapped");
        let (_, flags) =
            page_table::translate(root, stack.bottom()).expect("the stack is unmapped");
        assert_eq!(flags, PageFlags::READ | PageFlags::WRITE);
        assert!(page_table::translate(root, stack.top() - 8).is_some());
        assert!(in_area(stack.bottom()) && in_area(guard_lo) && !in_area(KSTACK_AREA - 1));
        let bottom = stack.bottom();
        drop(stack);
        assert!(page_table::translate(root, bottom).is_none(), "a dropped stack stays mapped");
        assert_eq!(super::frame_stats().free, before, "a dropped stack leaks frames");
    }
}
