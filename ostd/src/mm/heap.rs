//! The kernel heap: a buddy allocator that grows by taking frames from the frame allocator.
//!
//! It starts with 256 KiB and, when an allocation does not fit, adds a contiguous chunk of at
//! least twice the request (buddy blocks must be aligned to their size, so a chunk exactly the
//! size of the request might not yield one block that big). Growth happens under the heap
//! lock; the frame allocator never allocates from the heap, so this cannot recurse.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use buddy_system_allocator::Heap;

use super::{PAGE_SIZE, Segment};
use crate::sync::SpinLock;

const INITIAL_BYTES: usize = 256 * 1024;
const MIN_GROWTH: usize = 256 * 1024;

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
        let big: Vec<u8> = alloc::vec![0xa5; stats.total - stats.allocated + INITIAL_BYTES];
        assert!(heap_stats().total > before, "the heap did not grow");
        assert!(big.iter().all(|&b| b == 0xa5));
        let many: Vec<alloc::boxed::Box<u64>> = (0..10_000).map(alloc::boxed::Box::new).collect();
        assert_eq!(many.iter().map(|b| **b).sum::<u64>(), 10_000 * 9_999 / 2);
    }
}
