//! Owned physical memory: [`Frame`] (one shared-ownership page) and [`Segment`] (a
//! contiguous run with one owner).
//!
//! Both are *private* memory: the host cannot see it under a TEE. Their contents are reached
//! only by copying (`read_bytes`/`write_bytes`), never through references, because a frame
//! may also be mapped into a user address space where another thread writes it at any time.

use super::{PAGE_SIZE, Paddr, frame_alloc, paddr_to_vaddr};

/// One 4 KiB page of private RAM, reference-counted; freed when the last reference drops.
///
/// # Invariants
/// `paddr` is a page-aligned frame from the frame allocator, and this value holds one of
/// its references.
#[derive(Debug)]
pub struct Frame {
    paddr: Paddr,
}

impl Frame {
    /// Allocates a zeroed frame.
    pub fn alloc_zeroed() -> Option<Self> {
        let frame = Self { paddr: frame_alloc::alloc(1)? };
        frame.fill_zero();
        Some(frame)
    }

    /// Returns the frame's physical address.
    pub fn paddr(&self) -> Paddr {
        self.paddr
    }

    /// Returns how many [`Frame`] values (and mappings) reference this frame.
    pub fn ref_count(&self) -> u32 {
        frame_alloc::ref_count(self.paddr)
    }

    /// Copies `buf.len()` bytes at `offset` out of the frame.
    ///
    /// # Panics
    /// If `offset + buf.len()` exceeds the page.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        assert!(offset.checked_add(buf.len()).is_some_and(|end| end <= PAGE_SIZE), "read past the end of a frame");
        let src = (paddr_to_vaddr(self.paddr) as usize + offset) as *const u8;
        // SAFETY: the frame is RAM in the direct map (invariant) and the range is in bounds
        // (asserted). Other users (a user mapping) may write it concurrently, which makes the
        // copied values arbitrary but is not UB for a byte copy of plain memory.
        unsafe { core::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
    }

    /// Copies `buf` into the frame at `offset`.
    ///
    /// # Panics
    /// If `offset + buf.len()` exceeds the page.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) {
        assert!(offset.checked_add(buf.len()).is_some_and(|end| end <= PAGE_SIZE), "write past the end of a frame");
        let dst = (paddr_to_vaddr(self.paddr) as usize + offset) as *mut u8;
        // SAFETY: as in `read_bytes`; no Rust reference to frame contents exists anywhere,
        // so writing through the direct map cannot invalidate one.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), dst, buf.len()) };
    }

    /// Fills the frame with zeros.
    pub fn fill_zero(&self) {
        // SAFETY: as in `write_bytes`, for the whole page.
        unsafe { core::ptr::write_bytes(paddr_to_vaddr(self.paddr) as *mut u8, 0, PAGE_SIZE) };
    }

    /// Copies the whole contents of `other` into this frame.
    pub fn copy_from(&self, other: &Frame) {
        // SAFETY: both are whole pages of RAM in the direct map; if they are the same frame
        // `copy` (memmove) is still defined.
        unsafe {
            core::ptr::copy(paddr_to_vaddr(other.paddr) as *const u8, paddr_to_vaddr(self.paddr) as *mut u8, PAGE_SIZE)
        };
    }

    /// Gives up this reference without freeing, for a page table to hold.
    pub(super) fn into_raw(self) -> Paddr {
        let paddr = self.paddr;
        core::mem::forget(self);
        paddr
    }

    /// Takes back a reference given up by [`Frame::into_raw`].
    ///
    /// # Safety
    /// `paddr` must come from `into_raw`, and each such reference may be taken back once.
    pub(super) unsafe fn from_raw(paddr: Paddr) -> Self {
        Self { paddr }
    }

    /// Makes a new reference to the frame behind a raw reference, which stays in place.
    ///
    /// # Safety
    /// `paddr` must be a frame currently held by a raw reference (from `into_raw`).
    pub(super) unsafe fn clone_raw(paddr: Paddr) -> Self {
        frame_alloc::get_ref(paddr);
        Self { paddr }
    }
}

impl Clone for Frame {
    fn clone(&self) -> Self {
        frame_alloc::get_ref(self.paddr);
        Self { paddr: self.paddr }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        frame_alloc::put_ref(self.paddr);
    }
}

/// Physically contiguous private frames with a single owner; freed on drop.
///
/// # Invariants
/// `start..start + count * PAGE_SIZE` came from one frame-allocator call, is owned by this
/// value alone, and is mapped nowhere but the direct map.
#[derive(Debug)]
pub struct Segment {
    start: Paddr,
    count: usize,
}

impl Segment {
    /// Allocates `count` contiguous zeroed frames.
    pub fn alloc_zeroed(count: usize) -> Option<Self> {
        let mut seg = Self { start: frame_alloc::alloc(count)?, count };
        seg.as_bytes_mut().fill(0);
        Some(seg)
    }

    /// Returns the first frame's physical address.
    pub fn paddr(&self) -> Paddr {
        self.start
    }

    /// Returns the number of frames.
    pub fn frames(&self) -> usize {
        self.count
    }

    /// Returns the size in bytes.
    pub fn len(&self) -> usize {
        self.count * PAGE_SIZE
    }

    /// Returns whether the segment is empty (never, for an allocated one).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Returns the contents.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the range is RAM in the direct map, owned by `self` alone (invariant), so
        // no one else can write it while the shared borrow of `self` lives.
        unsafe { core::slice::from_raw_parts(paddr_to_vaddr(self.start) as *const u8, self.len()) }
    }

    /// Returns the contents for writing.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and `&mut self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(paddr_to_vaddr(self.start) as *mut u8, self.len()) }
    }

    /// Returns the kernel virtual address of the first byte.
    pub fn vaddr(&self) -> u64 {
        paddr_to_vaddr(self.start)
    }

    /// Gives up ownership without freeing; returns (start, count).
    pub(crate) fn into_raw(self) -> (Paddr, usize) {
        let raw = (self.start, self.count);
        core::mem::forget(self);
        raw
    }

    /// Takes back ownership given up by [`Segment::into_raw`].
    ///
    /// # Safety
    /// `(start, count)` must come from one `into_raw` call, used at most once.
    pub(crate) unsafe fn from_raw(start: Paddr, count: usize) -> Self {
        Self { start, count }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        frame_alloc::free(self.start, self.count);
    }
}

crate::ktest! {
    fn frames_are_freed_when_the_last_reference_drops() {
        let before = super::frame_stats().free;
        let frame = Frame::alloc_zeroed().expect("out of frames");
        let twin = frame.clone();
        assert_eq!(frame.ref_count(), 2);
        assert_eq!(super::frame_stats().free, before - 1);
        drop(frame);
        assert_eq!(twin.ref_count(), 1);
        assert_eq!(super::frame_stats().free, before - 1);
        drop(twin);
        assert_eq!(super::frame_stats().free, before);
    }

    fn frame_copies_round_trip() {
        let a = Frame::alloc_zeroed().unwrap();
        a.write_bytes(4090, b"edge!!");
        let b = Frame::alloc_zeroed().unwrap();
        b.copy_from(&a);
        let mut buf = [0u8; 6];
        b.read_bytes(4090, &mut buf);
        assert_eq!(&buf, b"edge!!");
    }

    fn segments_are_contiguous_zeroed_and_freed() {
        let before = super::frame_stats().free;
        let mut seg = Segment::alloc_zeroed(8).expect("no 8 contiguous frames");
        assert!(seg.as_bytes().iter().all(|&b| b == 0));
        seg.as_bytes_mut()[8 * 4096 - 1] = 7;
        assert_eq!(seg.as_bytes()[32767], 7);
        assert_eq!(super::frame_stats().free, before - 8);
        drop(seg);
        assert_eq!(super::frame_stats().free, before);
    }
}
