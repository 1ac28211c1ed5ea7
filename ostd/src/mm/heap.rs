//! The kernel heap: a buddy allocator that grows by taking frames from the frame allocator.
//!
//! It starts with 256 KiB and, when an allocation does not fit, adds a contiguous chunk of at
//! least twice the request (buddy blocks must be aligned to their size, so a chunk exactly the
//! size of the request might not yield one block that big). Growth happens under the heap
//! lock; the frame allocator never allocates from the heap, so this cannot recurse.
//!
//! The buddy heap never gives memory back, so large allocations bypass it: they are whole
//! pages from the frame allocator, returned to it when freed. A user who makes the kernel
//! buffer a large message once must not shrink the machine's memory for good.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use buddy_system_allocator::Heap;

use super::{PAGE_SIZE, Segment};
use crate::sync::SpinLock;

const INITIAL_BYTES: usize = 256 * 1024;
const MIN_GROWTH: usize = 256 * 1024;
/// Allocations at least this big (and at most page-aligned) are whole pages of their own.
const LARGE_BYTES: usize = 64 * 1024;

/// Returns whether `layout` is served by whole pages rather than by the buddy heap.
fn is_large(layout: Layout) -> bool {
    layout.size() >= LARGE_BYTES && layout.align() <= PAGE_SIZE
}

struct KernelHeap {
    heap: SpinLock<Heap<48>>,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap { heap: SpinLock::new(Heap::empty()) };

/// Heap usage figures, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes the heap owns.
    pub total: usize,
    /// Bytes handed out (as the allocator rounds them).
    pub allocated: usize,
}

/// Returns the heap's current usage.
pub fn heap_stats() -> HeapStats {
    let heap = HEAP.heap.lock();
    HeapStats { total: heap.stats_total_bytes(), allocated: heap.stats_alloc_actual() }
}

pub(super) fn init() {
    let mut heap = HEAP.heap.lock();
    if !grow(&mut heap, INITIAL_BYTES) {
        crate::early_println!("FATAL: no memory for the initial kernel heap");
        crate::power::exit_qemu(crate::power::ExitCode::Failure);
    }
}

fn grow(heap: &mut Heap<48>, bytes: usize) -> bool {
    let frames = bytes.div_ceil(PAGE_SIZE);
    let Some(seg) = Segment::alloc_zeroed(frames) else { return false };
    let start = seg.vaddr() as usize;
    // The heap owns these frames from now on; it never gives memory back.
    let _ = seg.into_raw();
    // SAFETY: `start..start + frames * PAGE_SIZE` is RAM in the direct map that we own
    // exclusively (the segment's ownership was just given up to the heap, forever).
    unsafe { heap.add_to_heap(start, start + frames * PAGE_SIZE) };
    true
}

// SAFETY: `alloc` returns blocks from the buddy heap, which hands each block out once until
// `dealloc` returns it; every access is under the heap's lock.
unsafe impl GlobalAlloc for KernelHeap {
    /// Allocates a block for `layout`, growing the heap if needed; null when out of memory.
    ///
    /// # Safety
    /// The `GlobalAlloc::alloc` contract: `layout` has a non-zero size.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout) {
            return match Segment::alloc_uninit(layout.size().div_ceil(PAGE_SIZE)) {
                Some(pages) => {
                    let (start, _) = pages.into_raw();
                    super::paddr_to_vaddr(start) as *mut u8
                }
                None => core::ptr::null_mut(),
            };
        }
        let mut heap = self.heap.lock();
        if let Ok(block) = heap.alloc(layout) {
            return block.as_ptr();
        }
        let want =
            layout.size().max(layout.align()).next_power_of_two().saturating_mul(2).max(MIN_GROWTH);
        if grow(&mut heap, want) {
            if let Ok(block) = heap.alloc(layout) {
                return block.as_ptr();
            }
        }
        core::ptr::null_mut()
    }

    /// Returns a block to the heap.
    ///
    /// # Safety
    /// The `GlobalAlloc::dealloc` contract: `ptr` came from `alloc` with this `layout`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout) {
            let start = ptr as u64 - super::PHYS_OFFSET;
            // SAFETY: `alloc` gave out this block for the same (large) layout as the direct
            // map of the frames `into_raw` released, `size.div_ceil(PAGE_SIZE)` of them; the
            // caller frees it once, so this takes them back once.
            drop(unsafe { Segment::from_raw(start, layout.size().div_ceil(PAGE_SIZE)) });
            return;
        }
        if let Some(ptr) = NonNull::new(ptr) {
            self.heap.lock().dealloc(ptr, layout);
        }
    }
}

crate::ktest! {
    fn heap_grows_past_its_initial_size() {
        use alloc::vec::Vec;
        // More than the heap has free, whatever earlier tests left it with: it must grow.
        let stats = heap_stats();
        let before = stats.total;
        // In blocks below the large-allocation size, which the buddy heap serves.
        let block = LARGE_BYTES / 2;
        let blocks = (stats.total - stats.allocated + INITIAL_BYTES).div_ceil(block);
        let big: Vec<Vec<u8>> = (0..blocks).map(|i| alloc::vec![i as u8; block]).collect();
        assert!(heap_stats().total > before, "the heap did not grow");
        assert!(big.iter().enumerate().all(|(i, b)| b.iter().all(|&x| x == i as u8)));
        let many: Vec<alloc::boxed::Box<u64>> = (0..10_000).map(alloc::boxed::Box::new).collect();
        assert_eq!(many.iter().map(|b| **b).sum::<u64>(), 10_000 * 9_999 / 2);
    }

    fn a_large_allocation_takes_its_pages_from_the_frame_allocator_and_gives_them_back() {
        use alloc::vec::Vec;
        let (heap_before, free_before) = (heap_stats().total, super::frame_stats().free);
        let big: Vec<u8> = alloc::vec![0x5a; 8 << 20];
        assert!(big.iter().all(|&b| b == 0x5a));
        assert_eq!(heap_stats().total, heap_before, "8 MiB went through the buddy heap");
        assert!(super::frame_stats().free <= free_before - 2048);
        drop(big);
        // Other tasks may take a few frames meanwhile; 2048 that never came back would show.
        let free_after = super::frame_stats().free;
        assert!(free_after + 64 >= free_before, "{free_before} frames free before, {free_after} after");
    }
}
