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
    ///
    /// Crate-private: outside OSTD nothing needs a private frame's address, and the only
    /// address a device may be given is a [`DeviceAddr`](crate::mm::dma::DeviceAddr).
    pub(crate) fn paddr(&self) -> Paddr {
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
        assert!(
            offset.checked_add(buf.len()).is_some_and(|end| end <= PAGE_SIZE),
            "read past the end of a frame"
        );
        let src = (paddr_to_vaddr(self.paddr) as usize + offset) as *const u8;
        // Others (a user mapping, another `Frame` on another CPU) may write the frame
        // meanwhile: `racy_copy` tolerates that.
        // SAFETY: the frame is allocated RAM in the direct map (invariant), the range is in
        // bounds (asserted), and `buf` is a distinct, writable private buffer.
        unsafe { racy_copy(buf.as_mut_ptr(), src, buf.len()) };
    }

    /// Copies `buf` into the frame at `offset`.
    ///
    /// # Panics
    /// If `offset + buf.len()` exceeds the page.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) {
        assert!(
            offset.checked_add(buf.len()).is_some_and(|end| end <= PAGE_SIZE),
            "write past the end of a frame"
        );
        let dst = (paddr_to_vaddr(self.paddr) as usize + offset) as *mut u8;
        // SAFETY: as in `read_bytes`, the other way round. No Rust reference to a frame's
        // contents exists anywhere, so writing through the direct map invalidates none.
        unsafe { racy_copy(dst, buf.as_ptr(), buf.len()) };
    }

    /// Fills the frame with zeros.
    pub fn fill_zero(&self) {
        let dst = paddr_to_vaddr(self.paddr) as *mut u8;
        // SAFETY: the frame is one whole allocated page of RAM in the direct map (invariant),
        // no Rust reference to its contents exists, and the fill covers exactly that page;
        // as inline assembly it tolerates concurrent writers, like `racy_copy`.
        unsafe { crate::rt::fill_forward(dst, 0, PAGE_SIZE) };
    }

    /// Copies the whole contents of `other` into this frame.
    pub fn copy_from(&self, other: &Frame) {
        if self.paddr == other.paddr {
            return;
        }
        // SAFETY: two distinct allocated frames (invariant), so two whole, non-overlapping
        // pages of RAM in the direct map; concurrent writers are tolerated by `racy_copy`.
        unsafe {
            racy_copy(
                paddr_to_vaddr(self.paddr) as *mut u8,
                paddr_to_vaddr(other.paddr) as *const u8,
                PAGE_SIZE,
            )
        };
    }

    /// Gives up this reference without freeing, for a page table to hold.
    pub(super) fn into_raw(self) -> Paddr {
        let paddr = self.paddr;
        core::mem::forget(self);
        paddr
    }

    /// Takes ownership of a counted reference that no `Frame` holds, such as one given up by
    /// [`Frame::into_raw`].
    ///
    /// # Safety
    /// The caller must own one counted reference to the allocated frame at `paddr` that no
    /// `Frame` value holds (given up by `into_raw`, or counted with `frame_alloc::get_ref`
    /// for a page-table entry), and hands it over: it must not be used or taken back again.
    pub(super) unsafe fn from_raw(paddr: Paddr) -> Self {
        Self { paddr }
    }

    /// Takes a new counted reference to a frame that a raw reference keeps alive; the raw
    /// reference stays where it is.
    ///
    /// # Safety
    /// A counted reference to the allocated frame at `paddr` must be held (for instance by a
    /// page-table entry whose tree is locked) and must stay in place until this returns, so
    /// the count cannot reach zero meanwhile.
    pub(super) unsafe fn clone_raw(paddr: Paddr) -> Self {
        frame_alloc::get_ref(paddr);
        Self { paddr }
    }
}

/// Copies `len` bytes from `src` to `dst` with [`crate::rt::copy_forward`].
///
/// The copy is inline assembly, which the compiler treats as an opaque access: another CPU
/// or a user mapping writing the same bytes meanwhile makes the copied values arbitrary, but
/// is not a data race in the Rust sense, and the compiler cannot assume the bytes are stable.
///
/// # Safety
/// `src..src + len` must be readable and `dst..dst + len` writable memory, the two ranges
/// must not overlap, and no Rust reference may exist to any byte of `dst..dst + len`.
unsafe fn racy_copy(dst: *mut u8, src: *const u8, len: usize) {
    // copy_forward is plain loads and stores in asm, which the compiler cannot assume
    // anything about: concurrent writers make the bytes arbitrary, never undefined.
    // SAFETY: the ranges are valid and disjoint (the caller's contract, copy_forward's).
    unsafe { crate::rt::copy_forward(dst, src, len) };
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

    /// Allocates `count` contiguous frames without clearing them: for the kernel heap,
    /// whose callers never read memory before writing it.
    pub(crate) fn alloc_uninit(count: usize) -> Option<Self> {
        Some(Self { start: frame_alloc::alloc(count)?, count })
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
        unsafe {
            core::slice::from_raw_parts_mut(paddr_to_vaddr(self.start) as *mut u8, self.len())
        }
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
