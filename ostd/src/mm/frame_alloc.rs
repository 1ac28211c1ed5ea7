//! The physical frame allocator: a bitmap of free frames plus a reference count per frame.
//!
//! Both arrays are carved out of the first usable RAM region big enough to hold them and are
//! reached through the direct map. A set bit means "free". Until the kernel page table is
//! live, only frames below 4 GiB (which the boot page tables map) are handed out.
//!
//! Memory the firmware left unaccepted (TDX, SEV-SNP; or, under `tee=sim sim.unaccepted=`,
//! a stand-in region) joins the allocator once the heap is up ([`add_unaccepted`]), tracked
//! in a bitmap of 2 MiB chunks; [`alloc`] accepts a chunk the first time it hands out one of
//! its frames, so boot does not grow with the size of memory.

use core::sync::atomic::{AtomicU32, Ordering};

use tee_abi::accept::UnacceptedMap;

use super::phys_bounds::{PhysSpan, RegionUse, page_ceil};
use super::{PAGE_SIZE, Paddr, frame_ref, paddr_to_vaddr};
use crate::boot::{BootInfo, MemoryKind, PhysRange};
use crate::sync::SpinLock;

const FRAME: u64 = PAGE_SIZE as u64;
/// Physical memory above this is ignored (and reported), bounding the bitmap at 1 MiB.
const MAX_PADDR: u64 = 256 << 30;
const EARLY_LIMIT: u64 = 4 << 30;
/// How much unaccepted memory is accepted at once (Linux's unit too).
const ACCEPT_UNIT: u64 = 2 << 20;

/// # Invariants
/// 1. `bitmap` has a bit for each frame below `nframes`; a set bit means the frame is free
///    RAM that nothing references.
/// 2. `bitmap` and `refcounts` live in frames that are never marked free and belong to nobody
///    else.
struct FrameAllocator {
    bitmap: &'static mut [u64],
    refcounts: &'static [AtomicU32],
    nframes: usize,
    hint: usize,
    free: usize,
    total: usize,
    limit: usize,
    /// The 2 MiB chunks of unaccepted memory not accepted yet; `None` where there is none.
    unaccepted: Option<UnacceptedMap>,
    /// Where the allocator's own arrays live (never handed out).
    home: PhysRange,
}

/// The stand-in for unaccepted memory under `tee=sim sim.unaccepted=MiB`: the first MiB of
/// the largest usable region, in whole 2 MiB chunks. Fixed at [`init`].
static SIM_UNACCEPTED: spin::Once<Option<PhysRange>> = spin::Once::new();

/// Returns the memory that must be accepted before use: the firmware's unaccepted regions
/// and the simulated stand-in, as whole pages below the allocator's ceiling.
fn pending(info: &BootInfo) -> impl Iterator<Item = PhysRange> + '_ {
    let firmware =
        info.memory.regions().iter().filter(|r| r.kind == MemoryKind::Unaccepted).map(|r| r.range);
    firmware
        .chain(SIM_UNACCEPTED.get().copied().flatten())
        .filter_map(|r| PhysSpan::from_bounds(r.start, r.end.min(MAX_PADDR))?.whole_pages())
        .map(|span| PhysRange { start: span.start(), end: span.end() })
}

fn sim_stand_in(info: &BootInfo) -> Option<PhysRange> {
    let bytes = crate::tee::sim_unaccepted_bytes();
    if bytes == 0 {
        return None;
    }
    let largest = info
        .memory
        .regions()
        .iter()
        .filter(|r| r.kind == MemoryKind::Usable)
        .max_by_key(|r| r.range.len())?;
    let start = largest.range.start.checked_next_multiple_of(ACCEPT_UNIT)?;
    let end = start.checked_add(bytes)?.min(largest.range.end / ACCEPT_UNIT * ACCEPT_UNIT);
    (start < end).then_some(PhysRange { start, end })
}

static ALLOCATOR: SpinLock<Option<FrameAllocator>> = SpinLock::new(None);

/// Counts of physical frames.
#[derive(Clone, Copy, Debug)]
pub struct FrameStats {
    /// Usable frames the allocator manages.
    pub total: usize,
    /// Frames free right now.
    pub free: usize,
}

/// Returns the current frame counts.
pub fn frame_stats() -> FrameStats {
    let guard = ALLOCATOR.lock();
    let a = guard.as_ref().expect("frame allocator not initialised");
    FrameStats { total: a.total, free: a.free }
}

fn overlaps(a: PhysRange, b: PhysRange) -> bool {
    a.start < b.end && b.start < a.end
}

/// Returns a range the boot reserved (the image, the initrd, boot data) that `r` overlaps.
fn reservation(info: &BootInfo, r: PhysRange) -> Option<PhysRange> {
    info.reserved.iter().copied().find(|&res| !res.is_empty() && overlaps(r, res))
}

pub(super) fn init(info: &BootInfo) {
    // The whole frames of each usable region below MAX_PADDR. The rounding is checked: a
    // region the memory map puts at the top of the address space must not wrap to frame 0.
    let usable = || {
        info.memory.spans().filter(|&(_, kind)| kind == RegionUse::Usable).filter_map(|(r, _)| {
            PhysSpan::from_bounds(r.start(), r.end().min(MAX_PADDR))?.whole_pages()
        })
    };
    let max_paddr = usable().map(|r| r.end()).max().unwrap_or(0);
    let nframes = (max_paddr / FRAME) as usize;
    let bitmap_bytes = nframes.div_ceil(64) * 8;
    let meta_bytes = nframes * 4;
    // At most 8 MiB + 256 MiB (MAX_PADDR), so rounding up cannot fail.
    let need = page_ceil((bitmap_bytes + meta_bytes) as u64).unwrap_or(u64::MAX);
    SIM_UNACCEPTED.call_once(|| sim_stand_in(info));
    // Unaccepted memory is left out until `add_unaccepted`: the allocator's own arrays, and
    // everything allocated before the heap exists, come from accepted RAM.
    let blocked =
        |r: PhysRange| reservation(info, r).or_else(|| pending(info).find(|&p| overlaps(r, p)));

    // First fit below 4 GiB, stepping past reservations.
    let mut home = None;
    'regions: for region in usable() {
        let mut start = region.start();
        let limit = region.end().min(EARLY_LIMIT);
        while let Some(end) = start.checked_add(need).filter(|&end| end <= limit) {
            let candidate = PhysRange { start, end };
            match blocked(candidate) {
                // `res.end > start` (they overlap), so this always moves forward.
                Some(res) => match page_ceil(res.end) {
                    Some(next) => start = next,
                    None => break,
                },
                None => {
                    home = Some(candidate);
                    break 'regions;
                }
            }
        }
    }
    let Some(home) = home else {
        crate::early_println!("FATAL: no room below 4 GiB for the frame bitmap ({need} bytes)");
        crate::power::exit_qemu(crate::power::ExitCode::Failure);
    };

    // `home` is `need` bytes of usable RAM below 4 GiB (mapped at PHYS_OFFSET by the boot
    // page tables) that overlaps no reservation, and the loop below never marks its frames
    // free, so no frame handed out later aliases it. `home.start` is page-aligned, so the
    // `u64` bitmap is aligned, and `bitmap_bytes` is a multiple of 8, so the `AtomicU32`
    // counts that follow are too; `bitmap_bytes + meta_bytes <= need` keeps both in bounds.
    // SAFETY: by the above, both slices are aligned, in bounds and the only references to
    // `home` (invariant 2); all bytes are zeroed first, a valid value for both element types.
    let (bitmap, refcounts) = unsafe {
        let base = paddr_to_vaddr(home.start) as *mut u8;
        core::ptr::write_bytes(base, 0, need as usize);
        (
            core::slice::from_raw_parts_mut(base.cast::<u64>(), bitmap_bytes / 8),
            core::slice::from_raw_parts(base.add(bitmap_bytes).cast::<AtomicU32>(), nframes),
        )
    };
    let mut a = FrameAllocator {
        bitmap,
        refcounts,
        nframes,
        hint: 0,
        free: 0,
        total: 0,
        limit: (EARLY_LIMIT / FRAME) as usize,
        unaccepted: None,
        home,
    };
    for region in usable() {
        for f in region.start() / FRAME..region.end() / FRAME {
            let frame = PhysRange { start: f * FRAME, end: (f + 1) * FRAME };
            if blocked(frame).is_none() && !overlaps(frame, home) {
                a.set_free(f as usize, true);
                a.free += 1;
            }
        }
    }
    a.total = a.free;
    *ALLOCATOR.lock() = Some(a);
}

/// Adds the memory still to be accepted to the allocator, once the heap (for its bitmap) and
/// the direct map (which maps it) exist. Pieces too small for a whole 2 MiB chunk are
/// accepted now; the rest when first handed out.
pub(super) fn add_unaccepted(info: &BootInfo) {
    let ranges: alloc::vec::Vec<(u64, u64)> = pending(info).map(|r| (r.start, r.end)).collect();
    if ranges.is_empty() {
        return;
    }
    let (map, eager) = match UnacceptedMap::from_ranges(&ranges, ACCEPT_UNIT) {
        Ok(built) => built,
        Err(e) => {
            log::error!("mm: unaccepted memory left unused: {e}");
            return;
        }
    };
    for &(start, end) in &ranges {
        crate::tee::note_unaccepted(start, end);
    }
    for chunk in &eager {
        accept_or_die(chunk.start, chunk.len());
    }
    let mut guard = ALLOCATOR.lock();
    let a = guard.as_mut().expect("frame allocator not initialised");
    let mut added = 0;
    for &(start, end) in &ranges {
        for f in start / FRAME..(end / FRAME).min(a.nframes as u64) {
            let frame = PhysRange { start: f * FRAME, end: (f + 1) * FRAME };
            if reservation(info, frame).is_none()
                && !overlaps(frame, a.home)
                && !a.is_free(f as usize)
            {
                a.set_free(f as usize, true);
                added += 1;
            }
        }
    }
    a.free += added;
    a.total += added;
    log::info!(
        "mm: {} MiB of unaccepted memory, accepted 2 MiB at a time when first used",
        (added * PAGE_SIZE) >> 20
    );
    a.unaccepted = Some(map);
}

/// Accepts `len` bytes at `start`. The host refusing is fatal, as on Linux: the memory is
/// promised RAM that cannot be used, and nothing sensible can go on without it.
fn accept_or_die(start: u64, len: u64) {
    if let Err(e) = crate::tee::accept(start, len) {
        panic!("cannot accept memory {start:#x}..{:#x}: {e}", start + len);
    }
}

/// Returns how many bytes of memory are still unaccepted.
pub fn unaccepted_bytes() -> u64 {
    let guard = ALLOCATOR.lock();
    let a = guard.as_ref().expect("frame allocator not initialised");
    a.unaccepted.as_ref().map_or(0, |m| m.unaccepted_units() * m.unit_size())
}

pub(super) fn lift_early_limit() {
    let mut guard = ALLOCATOR.lock();
    let a = guard.as_mut().expect("frame allocator not initialised");
    a.limit = a.nframes;
}

impl FrameAllocator {
    fn is_free(&self, f: usize) -> bool {
        self.bitmap[f / 64] & (1 << (f % 64)) != 0
    }

    fn set_free(&mut self, f: usize, free: bool) {
        if free {
            self.bitmap[f / 64] |= 1 << (f % 64);
        } else {
            self.bitmap[f / 64] &= !(1 << (f % 64));
        }
    }

    /// Finds `count` contiguous free frames, next-fit from the hint.
    fn find(&self, count: usize) -> Option<usize> {
        let end = self.nframes.min(self.limit);
        let scan = |from: usize, to: usize| {
            let mut run = 0;
            let mut f = from;
            while f < to {
                if count == 1 && self.bitmap[f / 64] == 0 && f.is_multiple_of(64) {
                    f += 64; // a whole word of used frames
                    continue;
                }
                if self.is_free(f) {
                    run += 1;
                    if run == count {
                        return Some(f + 1 - count);
                    }
                } else {
                    run = 0;
                }
                f += 1;
            }
            None
        };
        scan(self.hint.min(end), end).or_else(|| scan(0, end))
    }
}

/// Allocates `count` physically contiguous frames, each with reference count 1.
pub(super) fn alloc(count: usize) -> Option<Paddr> {
    let mut guard = ALLOCATOR.lock();
    let a = guard.as_mut()?;
    if count == 0 || count > a.free {
        return None;
    }
    let first = a.find(count)?;
    if let Some(map) = a.unaccepted.as_mut() {
        let (start, len) = (first as u64 * FRAME, count as u64 * FRAME);
        // Cannot fail: the range is inside the bitmap's frames, far below u64::MAX.
        let _ = map.take_each(start, len, |chunk| accept_or_die(chunk.start, chunk.len()));
        crate::tee::check_accepted(start, len);
    }
    for f in first..first + count {
        a.set_free(f, false);
        a.refcounts[f].store(1, Ordering::Relaxed);
    }
    a.free -= count;
    a.hint = first + count;
    Some(first as u64 * FRAME)
}

/// Returns `count` frames starting at `paddr` to the allocator.
///
/// Not `unsafe`, but part of `mm`'s safety boundary: callers guarantee the frames came from
/// [`alloc`] and that nothing references them any more (no `Frame`, page-table entry or
/// owner), since the next `alloc` hands them out again. A frame already free panics.
pub(super) fn free(paddr: Paddr, count: usize) {
    let mut guard = ALLOCATOR.lock();
    let a = guard.as_mut().expect("frame allocator not initialised");
    let first = (paddr / FRAME) as usize;
    for f in first..first + count {
        assert!(!a.is_free(f), "double free of frame {:#x}", f as u64 * FRAME);
        a.refcounts[f].store(0, Ordering::Relaxed);
        a.set_free(f, true);
    }
    a.free += count;
}

fn refcount(paddr: Paddr) -> &'static AtomicU32 {
    let guard = ALLOCATOR.lock();
    let a = guard.as_ref().expect("frame allocator not initialised");
    let refs: &'static [AtomicU32] = a.refcounts;
    &refs[(paddr / FRAME) as usize]
}

/// Adds a reference to an allocated frame (see [`frame_ref::acquire`] for the rules).
pub(super) fn get_ref(paddr: Paddr) {
    frame_ref::acquire(refcount(paddr));
}

/// Drops a reference; frees the frame and returns `true` when it was the last.
pub(super) fn put_ref(paddr: Paddr) -> bool {
    if frame_ref::release(refcount(paddr)) {
        free(paddr, 1);
        true
    } else {
        false
    }
}

/// Returns how many references an allocated frame has.
pub(super) fn ref_count(paddr: Paddr) -> u32 {
    refcount(paddr).load(Ordering::Relaxed)
}
