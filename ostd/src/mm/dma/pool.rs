//! The shared pool: chunks of frames converted to shared, handed out page by page.
//!
//! The bookkeeping (which frames are in use, the figures) is in [`super::chunks`]; this file
//! moves frames between the frame allocator and the pool, converts them, and (on a machine
//! with an IOMMU and no TEE) maps each chunk for devices before it is used and unmaps it
//! before it leaves ([`crate::iommu`]).

use super::chunks::{Chunks, FRAME_SIZE};
use super::shared::DmaError;
use crate::mm::{PAGE_SIZE, Paddr, Segment};
use crate::sync::SpinLock;

pub use super::chunks::PoolStats;

const _: () = assert!(FRAME_SIZE == PAGE_SIZE as u64);

/// The smallest growth step, in frames (64 KiB).
const GROWTH_FRAMES: usize = 16;

/// # Invariants
/// Every chunk recorded here came from one `Segment::into_raw`, was converted to shared, and
/// is mapped for devices when the IOMMU is on.
static POOL: SpinLock<Chunks> = SpinLock::new(Chunks::new());

/// Returns the pool's figures.
pub fn pool_stats() -> PoolStats {
    POOL.lock().stats()
}

/// Takes `count` contiguous shared frames, growing the pool if needed.
pub(super) fn alloc(count: usize) -> Result<Paddr, DmaError> {
    let mut pool = POOL.lock();
    if let Some(paddr) = pool.take(count) {
        return Ok(paddr);
    }
    let frames = count.max(GROWTH_FRAMES);
    let segment = Segment::alloc_zeroed(frames).ok_or(DmaError::OutOfMemory)?;
    let (base, frames) = segment.into_raw();
    if let Err(e) = crate::tee::convert_to_shared(base, frames) {
        if e == crate::tee::TeeError::Stranded {
            // Part of the chunk may be the host's now: it is leaked, never reused.
            log::warn!("dma: leaking {base:#x}+{frames} frames: {e}");
            return Err(DmaError::Conversion(e));
        }
        // SAFETY: `base, frames` came from `into_raw` just above, used once, and the
        // conversion failed without stranding them (any error but `Stranded` leaves the
        // frames private), so they are private memory that nothing else references.
        drop(unsafe { Segment::from_raw(base, frames) });
        return Err(DmaError::Conversion(e));
    }
    if let Err(e) = crate::iommu::map_pool_chunk(base, frames) {
        log::warn!("dma: cannot map {base:#x}+{frames} frames in the IOMMU: {e}");
        match crate::tee::convert_to_private(base, frames) {
            // SAFETY: `base, frames` came from `into_raw` above, used once; the IOMMU mapped
            // nothing of them (on error it unmaps what it made) and they are private again.
            Ok(()) => drop(unsafe { Segment::from_raw(base, frames) }),
            // Shared frames that cannot go back are leaked, never reused as private memory.
            Err(e) => log::warn!("dma: leaking {base:#x}+{frames} frames: {e:?}"),
        }
        return Err(DmaError::OutOfMemory);
    }
    pool.add(base, frames);
    Ok(pool.take(count).expect("a new chunk has room for the request that grew it"))
}

/// Returns frames to the pool; they stay shared.
///
/// # Panics
/// If the frames are not handed out by the pool (a double free, or memory it does not own).
pub(super) fn free(paddr: Paddr, count: usize) {
    POOL.lock().give_back(paddr, count);
}

/// Runs `f` on every chunk as (base, frames), with the pool locked so none is added or
/// removed meanwhile (the IOMMU maps them all before it turns translation on).
pub(crate) fn with_chunks<R>(f: impl FnOnce(&[(Paddr, usize)]) -> R) -> R {
    let pool = POOL.lock();
    f(&pool.ranges())
}

/// Returns whether releasing a chunk revokes every device's access to it: under TDX and
/// SEV-SNP by converting it back, with the IOMMU on by unmapping it.
pub(crate) fn release_revokes_device_access() -> bool {
    crate::tee::conversion_revokes_device_access() || crate::iommu::is_enabled()
}

/// Returns whether `paddr..paddr + len` lies in frames the pool has handed out.
pub(super) fn is_handed_out(paddr: Paddr, len: usize) -> bool {
    POOL.lock().is_handed_out(paddr, len)
}

/// Returns wholly free chunks to the frame allocator, converting them back to private
/// first. Returns the frames released.
///
/// Only where releasing revokes the device's access (TDX, SEV-SNP, or the IOMMU on) is a
/// chunk released: a device may still hold a `DeviceAddr` into a buffer its driver gave up
/// on (a timed-out request), and on a plain VM or under sim nothing would stop it writing
/// there once the frames are reused as heap or page tables. Elsewhere idle chunks stay.
pub(crate) fn shrink() -> usize {
    if !release_revokes_device_access() {
        return 0;
    }
    let mut pool = POOL.lock();
    let mut released = 0;
    for (base, frames) in pool.remove_idle() {
        // Unmapped and the IOTLB invalidated before the frames leave the pool.
        if let Err(e) = crate::iommu::unmap_pool_chunk(base, frames) {
            log::warn!("dma: cannot unmap {base:#x}+{frames} frames from the IOMMU: {e}");
            pool.add(base, frames);
            continue;
        }
        match crate::tee::convert_to_private(base, frames) {
            Ok(()) => {
                released += frames;
                // `remove_idle` dropped the chunk from the pool with nothing handed out of it,
                // and conversion or the IOMMU revoked device access (checked above), so
                // neither a `SharedBuffer` nor a `DeviceAddr` a device holds can reach it.
                // SAFETY: the chunk came from one `Segment::into_raw` in `alloc` (the pool's
                // invariant) and is turned back into a segment here, once (above).
                drop(unsafe { Segment::from_raw(base, frames) });
            }
            // Part way back: neither shared nor private for sure, so neither pool nor
            // allocator may have the frames again.
            Err(e @ crate::tee::TeeError::Stranded) => {
                log::warn!("dma: leaking {base:#x}+{frames} frames: {e}");
            }
            // A page the host will not give back must never be reused as private memory.
            Err(e) => {
                log::warn!(
                    "dma: cannot convert {base:#x}+{frames} frames back to private: {e:?}; keeping \
                     them shared"
                );
                if let Err(e) = crate::iommu::map_pool_chunk(base, frames) {
                    log::warn!("dma: {base:#x}+{frames} stays out of the pool: {e}");
                    continue;
                }
                pool.add(base, frames);
            }
        }
    }
    released
}
