//! The kernel heap.
//!
//! Small allocations (below 64 KiB) come from buddy allocators, one per chunk of 512 KiB of
//! contiguous frames: the heap takes a chunk from the frame allocator when no chunk has room,
//! and gives a chunk back once nothing in it is allocated (keeping a couple spare). Large
//! allocations are whole pages straight from the frame allocator, returned when freed. So
//! memory the kernel used for a while (a burst of socket messages, say) goes back to the
//! frame allocator for user pages; a heap that only grew would leave the OOM killer killing
//! processes that do not hold the memory.
//!
//! In front of the buddy allocators, freed blocks of up to 2 KiB are kept whole for the next
//! allocation of their size ([`Recycled`], at most 16 KiB per size): the kernel frees and
//! allocates the same small sizes at a high rate, and a buddy allocator's split and merge
//! cost it a tenth of its instructions under network load.
//!
//! The frame allocator never allocates from the heap, so growing under the heap lock cannot
//! recurse.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use buddy_system_allocator::Heap;

use super::{PAGE_SIZE, Segment};
use crate::sync::SpinLock;

/// Allocations at least this big (and at most page-aligned) are whole pages of their own.
const LARGE_BYTES: usize = 64 * 1024;
/// Buddy orders 0..=16: blocks up to [`LARGE_BYTES`], the largest a small allocation needs.
const ORDER: usize = 17;
const CHUNK_FRAMES: usize = 128;
const CHUNK_BYTES: usize = CHUNK_FRAMES * PAGE_SIZE;
/// At most 2 GiB of small allocations.
const MAX_CHUNKS: usize = 4096;
/// Empty chunks kept rather than returned, so that freeing and allocating one object at a
/// chunk's edge does not take and give back frames each time.
const SPARE_CHUNKS: usize = 2;

/// Freed blocks of the small size classes (8 to 2048 bytes) are kept for reuse, up to this
/// many bytes per class: see [`Recycled`].
const RECYCLED_CLASS_BYTES: usize = 16 * 1024;
/// The largest class kept: 2^11 = 2048 bytes.
const RECYCLED_MAX_SHIFT: u32 = 11;
/// The smallest class: a block holds at least the free-list link (`usize`).
const RECYCLED_MIN_SHIFT: u32 = 3;
const RECYCLED_CLASSES: usize = (RECYCLED_MAX_SHIFT - RECYCLED_MIN_SHIFT + 1) as usize;

/// The size class (log2 of the block size) the buddy allocator serves `layout` from, as it
/// computes it itself (buddy_system_allocator 0.11's `Heap::alloc`/`dealloc`).
fn size_class(layout: Layout) -> u32 {
    let size =
        layout.size().next_power_of_two().max(layout.align()).max(core::mem::size_of::<usize>());
    size.trailing_zeros()
}

/// The layout the buddy allocators are asked for in place of `layout`: its whole size class.
/// A kept block is handed out again for any layout of its class, so the buddy's own count of
/// requested bytes (`user`, which a free of another size would drift and could wrap) is
/// kept in whole blocks.
fn buddy_layout(layout: Layout) -> Layout {
    let size = 1usize << size_class(layout);
    Layout::from_size_align(size, size).unwrap_or(layout)
}

/// Returns whether `layout` is served by whole pages rather than by a chunk.
fn is_large(layout: Layout) -> bool {
    layout.size() >= LARGE_BYTES && layout.align() <= PAGE_SIZE
}

/// One chunk of frames and the buddy allocator over it.
///
/// # Invariant
/// A chunk in [`Chunks::chunks`]`[..len]` owns the frames `start..start + CHUNK_BYTES` of
/// the direct map (taken from the frame allocator with `Segment::into_raw`), and `heap`
/// hands out blocks only from them.
struct Chunk {
    start: usize,
    heap: Heap<ORDER>,
}

impl Chunk {
    const UNUSED: Self = Self { start: 0, heap: Heap::empty() };

    fn contains(&self, addr: usize) -> bool {
        (self.start..self.start + CHUNK_BYTES).contains(&addr)
    }
}

/// Freed small blocks kept whole for the next allocation of their size class, in one
/// singly-linked list per class threaded through the blocks themselves.
///
/// The buddy allocator splits a block at each allocation and looks for its buddy at each
/// free by walking the class's free list, and the kernel frees and allocates the same few
/// sizes many times per packet and per system call (B-tree nodes, small vectors). A kept
/// block stays allocated as far as its chunk knows, so at most
/// [`RECYCLED_CLASS_BYTES`] per class is kept, which bounds what it holds back.
///
/// # Invariant
/// Each list holds distinct blocks of its class, each handed out by a chunk's buddy
/// allocator and given back by `dealloc`, so nothing else refers to them; the first word
/// of each holds the address of the next (0 ends the list).
struct Recycled {
    heads: [usize; RECYCLED_CLASSES],
    counts: [usize; RECYCLED_CLASSES],
}

impl Recycled {
    /// The list index of `class`, if blocks of that class are kept.
    fn index(class: u32) -> Option<usize> {
        (RECYCLED_MIN_SHIFT..=RECYCLED_MAX_SHIFT)
            .contains(&class)
            .then(|| (class - RECYCLED_MIN_SHIFT) as usize)
    }

    /// Takes a kept block of `class`.
    fn take(&mut self, class: u32) -> Option<NonNull<u8>> {
        let i = Self::index(class)?;
        let block = NonNull::new(self.heads[i] as *mut u8)?;
        // SAFETY: `block` heads list `i`, so (invariant) it is a block of at least 8 bytes,
        // aligned to its size, that nothing else refers to; its first word holds the next.
        self.heads[i] = unsafe { block.cast::<usize>().read() };
        self.counts[i] -= 1;
        Some(block)
    }

    /// Keeps `block` of `class` if its list has room; returns whether it did.
    ///
    /// # Safety
    /// `block` was handed out by a chunk's buddy allocator for a layout of `class` and is
    /// given back: nothing refers to it any more.
    unsafe fn keep(&mut self, block: NonNull<u8>, class: u32) -> bool {
        let Some(i) = Self::index(class) else { return false };
        if self.counts[i] >= RECYCLED_CLASS_BYTES >> class {
            return false;
        }
        // SAFETY: the caller gives the block up, and a block of a kept class is at least one
        // aligned `usize` long (classes start at 2^3), so its first word is ours to write.
        unsafe { block.cast::<usize>().write(self.heads[i]) };
        self.heads[i] = block.as_ptr() as usize;
        self.counts[i] += 1;
        true
    }
}

/// The chunks, sorted by address (so a free finds its chunk by binary search).
struct Chunks {
    recycled: Recycled,
    chunks: [Chunk; MAX_CHUNKS],
    len: usize,
    /// The chunk that served the last allocation: tried first.
    hint: usize,
    /// How many chunks have nothing allocated.
    empty: usize,
}

impl Chunks {
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if let Some(block) = self.recycled.take(size_class(layout)) {
            return Some(block);
        }
        let layout = buddy_layout(layout);
        let order = (self.hint..self.len).chain(0..self.hint.min(self.len));
        for i in order {
            let was_empty = self.chunks[i].heap.stats_alloc_actual() == 0;
            if let Ok(block) = self.chunks[i].heap.alloc(layout) {
                self.hint = i;
                if was_empty {
                    self.empty -= 1;
                }
                return Some(block);
            }
        }
        let i = self.grow()?;
        let block = self.chunks[i].heap.alloc(layout).ok()?;
        self.empty -= 1;
        self.hint = i;
        Some(block)
    }

    /// Returns a block.
    ///
    /// # Safety
    /// `ptr` came from [`Chunks::alloc`] with `layout` and is given back once.
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller gives back a block `alloc` handed out for `layout`, which came
        // from a chunk's buddy allocator (directly, or kept and handed out again).
        if unsafe { self.recycled.keep(ptr, size_class(layout)) } {
            return;
        }
        // SAFETY: as above; not kept, it goes back to its chunk.
        unsafe { self.give_back(ptr, layout) };
    }

    /// Returns a block to the buddy allocator of its chunk, and the chunk to the frame
    /// allocator if that left it empty (beyond the spares).
    ///
    /// # Safety
    /// `ptr` came from [`Chunks::alloc`] with a layout of `layout`'s size class, and is given
    /// back once.
    unsafe fn give_back(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let layout = buddy_layout(layout);
        let addr = ptr.as_ptr() as usize;
        // The last chunk starting at or below `addr` is the one holding it.
        let i = self.chunks[..self.len].partition_point(|c| c.start <= addr).wrapping_sub(1);
        let Some(chunk) = self.chunks[..self.len].get_mut(i).filter(|c| c.contains(addr)) else {
            panic!("kernel heap: freeing {addr:#x}, which no chunk holds");
        };
        chunk.heap.dealloc(ptr, layout);
        if chunk.heap.stats_alloc_actual() == 0 {
            self.empty += 1;
            if self.empty > SPARE_CHUNKS {
                self.release(i);
            }
        }
    }

    /// Takes a chunk from the frame allocator; returns its index.
    fn grow(&mut self) -> Option<usize> {
        if self.len == MAX_CHUNKS {
            return None;
        }
        let (paddr, _) = Segment::alloc_uninit(CHUNK_FRAMES)?.into_raw();
        let start = super::paddr_to_vaddr(paddr) as usize;
        let at = self.chunks[..self.len].partition_point(|c| c.start < start);
        self.chunks[at..=self.len].rotate_right(1);
        let mut heap = Heap::empty();
        // SAFETY: `start..start + CHUNK_BYTES` is RAM in the direct map whose frames the
        // chunk now owns alone (`into_raw` gave up the segment's ownership), so the buddy
        // allocator may hand out blocks of it.
        unsafe { heap.add_to_heap(start, start + CHUNK_BYTES) };
        self.chunks[at] = Chunk { start, heap };
        self.len += 1;
        self.empty += 1;
        Some(at)
    }

    /// Gives chunk `i`, which has nothing allocated, back to the frame allocator.
    fn release(&mut self, i: usize) {
        let start = self.chunks[i].start;
        self.chunks[i..self.len].rotate_left(1);
        self.len -= 1;
        self.chunks[self.len] = Chunk::UNUSED;
        self.empty -= 1;
        if self.hint >= self.len {
            self.hint = 0;
        }
        // SAFETY: the chunk owned these frames since `grow` took them with `into_raw`
        // (invariant), nothing in it is allocated, and it just left the array, so they are
        // taken back exactly once.
        drop(unsafe { Segment::from_raw(start as u64 - super::PHYS_OFFSET, CHUNK_FRAMES) });
    }
}

struct KernelHeap {
    chunks: SpinLock<Chunks>,
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    chunks: SpinLock::new(Chunks {
        recycled: Recycled { heads: [0; RECYCLED_CLASSES], counts: [0; RECYCLED_CLASSES] },
        chunks: [const { Chunk::UNUSED }; MAX_CHUNKS],
        len: 0,
        hint: 0,
        empty: 0,
    }),
};

/// Gives every freed block the heap kept for reuse back to its chunk, and the chunks that
/// left empty (beyond the spares) to the frame allocator: a kept block keeps its chunk in
/// use, so after a burst a few of them could hold many chunks. Called when memory runs
/// short. Returns how many frames went back.
pub fn heap_trim() -> usize {
    let mut c = HEAP.chunks.lock();
    let before = c.len;
    for class in RECYCLED_MIN_SHIFT..=RECYCLED_MAX_SHIFT {
        let Ok(layout) = Layout::from_size_align(1 << class, 1 << class) else { continue };
        while let Some(block) = c.recycled.take(class) {
            // SAFETY: a kept block of `class` came from a chunk's buddy allocator and nothing
            // refers to it (`Recycled`'s invariant); taken off its list, it is given back once.
            unsafe { c.give_back(block, layout) };
        }
    }
    (before - c.len) * CHUNK_FRAMES
}

/// Heap usage figures, in bytes, for small allocations (large ones are whole pages of the
/// frame allocator's and show in its counts).
#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes the chunks hold.
    pub total: usize,
    /// Bytes handed out (as the allocator rounds them), with the freed blocks kept for
    /// reuse (at most 16 KiB per size class).
    pub allocated: usize,
}

/// Returns the heap's current usage.
pub fn heap_stats() -> HeapStats {
    let c = HEAP.chunks.lock();
    let allocated = c.chunks[..c.len].iter().map(|c| c.heap.stats_alloc_actual()).sum();
    HeapStats { total: c.len * CHUNK_BYTES, allocated }
}

pub(super) fn init() {
    if HEAP.chunks.lock().grow().is_none() {
        crate::early_println!("FATAL: no memory for the initial kernel heap");
        crate::power::exit_qemu(crate::power::ExitCode::Failure);
    }
}

// SAFETY: small blocks come from the chunks' buddy allocators, each handing a block out once
// until `dealloc` returns it, under the heap's lock; large ones are frames of their own.
unsafe impl GlobalAlloc for KernelHeap {
    /// Allocates a block for `layout`; null when out of memory.
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
        self.chunks.lock().alloc(layout).map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    /// Returns a block.
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
            // SAFETY: the caller frees, once, a block `alloc` gave out for `layout`; it is
            // small, so it came from `Chunks::alloc`.
            unsafe { self.chunks.lock().dealloc(ptr, layout) };
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
        let blocks = (stats.total - stats.allocated + 4 * CHUNK_BYTES).div_ceil(block);
        let big: Vec<Vec<u8>> = (0..blocks).map(|i| alloc::vec![i as u8; block]).collect();
        assert!(heap_stats().total > before, "the heap did not grow");
        assert!(big.iter().enumerate().all(|(i, b)| b.iter().all(|&x| x == i as u8)));
        // Freed, the chunks it grew by go back to the frame allocator (but for the spares).
        let free_full = super::frame_stats().free;
        drop(big);
        let returned = super::frame_stats().free - free_full;
        assert!(returned >= CHUNK_FRAMES, "only {returned} frames came back from the heap");
        let many: Vec<alloc::boxed::Box<u64>> = (0..10_000).map(alloc::boxed::Box::new).collect();
        assert_eq!(many.iter().map(|b| **b).sum::<u64>(), 10_000 * 9_999 / 2);
    }

    fn freed_small_blocks_are_reused_whole_and_only_up_to_the_budget() {
        use alloc::boxed::Box;
        use alloc::vec::Vec;
        // No other task allocates meanwhile (one CPU, no preemption with interrupts off).
        let _irqs = crate::sync::disable_local_irqs();
        // The 128-byte list emptied first (its blocks held here), so that a free is kept.
        let held: Vec<Box<[u8; 128]>> =
            (0..RECYCLED_CLASS_BYTES / 128).map(|_| Box::new([0u8; 128])).collect();
        // A freed block comes back for the next allocation of its class, whatever its size
        // within the class, with the caller's new contents intact.
        let first = Box::new([0x11u8; 100]);
        let at = first.as_ptr() as usize;
        drop(first);
        let again = Box::new([0x22u8; 120]);
        assert_eq!(again.as_ptr() as usize, at, "a 128-byte block was not reused");
        assert!(again.iter().all(|&b| b == 0x22));
        // Many freed at once: only the budget is kept, the rest goes back to the chunks.
        let before = heap_stats().allocated;
        let many: Vec<Box<[u8; 2048]>> = (0..64).map(|i| Box::new([i as u8; 2048])).collect();
        assert!(many.iter().enumerate().all(|(i, b)| b.iter().all(|&x| x == i as u8)));
        drop(many);
        let kept = heap_stats().allocated.saturating_sub(before);
        assert!(kept <= RECYCLED_CLASS_BYTES, "{kept} bytes of 2 KiB blocks held back");
        let list = HEAP.chunks.lock().recycled.counts[(11 - RECYCLED_MIN_SHIFT) as usize];
        assert_eq!(list, RECYCLED_CLASS_BYTES / 2048, "the 2 KiB list is not full");
        drop(again);
        drop(held);
        // Trimmed, no block is kept.
        heap_trim();
        assert!(HEAP.chunks.lock().recycled.counts.iter().all(|&n| n == 0));
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
