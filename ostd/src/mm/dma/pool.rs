//! The shared pool: chunks of frames converted to shared, handed out page by page.

use alloc::vec::Vec;

use super::shared::DmaError;
use crate::mm::{PAGE_SIZE, Paddr, Segment};
use crate::sync::SpinLock;

/// The smallest growth step, in frames (64 KiB).
const GROWTH_FRAMES: usize = 16;

/// A run of frames converted to shared, with a bit per frame for "in use".
struct Chunk {
    base: Paddr,
    frames: usize,
    used: Vec<bool>,
}

/// Pool figures, in frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Frames the pool holds (all shared).
    pub total: usize,
    /// Frames handed out now.
    pub in_use: usize,
    /// The most frames ever handed out at once.
    pub high_water: usize,
}

struct Pool {
    chunks: Vec<Chunk>,
    stats: PoolStats,
}

static POOL: SpinLock<Pool> = SpinLock::new(Pool { chunks: Vec::new(), stats: PoolStats { total: 0, in_use: 0, high_water: 0 } });

/// Returns the pool's figures.
pub fn pool_stats() -> PoolStats {
    POOL.lock().stats
}

impl Chunk {
    fn find(&self, count: usize) -> Option<usize> {
        let mut run = 0;
        for (i, &used) in self.used.iter().enumerate() {
            run = if used { 0 } else { run + 1 };
            if run == count {
                return Some(i + 1 - count);
            }
        }
        None
    }
}

/// Takes `count` contiguous shared frames, growing the pool if needed.
pub(super) fn alloc(count: usize) -> Result<Paddr, DmaError> {
    let mut pool = POOL.lock();
    let found = pool.chunks.iter().enumerate().find_map(|(c, chunk)| chunk.find(count).map(|i| (c, i)));
    let (c, i) = match found {
        Some(hit) => hit,
        None => {
            let frames = count.max(GROWTH_FRAMES);
            let segment = Segment::alloc_zeroed(frames).ok_or(DmaError::OutOfMemory)?;
            let (base, frames) = segment.into_raw();
            if let Err(e) = crate::tee::convert_to_shared(base, frames) {
                // SAFETY: `base, frames` came from `into_raw` just above and are still private.
                drop(unsafe { Segment::from_raw(base, frames) });
                return Err(DmaError::Conversion(e));
            }
            pool.chunks.push(Chunk { base, frames, used: alloc::vec![false; frames] });
            pool.stats.total += frames;
            (pool.chunks.len() - 1, 0)
        }
    };
    let chunk = &mut pool.chunks[c];
    chunk.used[i..i + count].fill(true);
    let paddr = chunk.base + (i * PAGE_SIZE) as u64;
    pool.stats.in_use += count;
    pool.stats.high_water = pool.stats.high_water.max(pool.stats.in_use);
    Ok(paddr)
}

/// Returns frames to the pool; they stay shared.
pub(super) fn free(paddr: Paddr, count: usize) {
    let mut pool = POOL.lock();
    let chunk = pool
        .chunks
        .iter_mut()
        .find(|c| c.base <= paddr && paddr < c.base + (c.frames * PAGE_SIZE) as u64)
        .expect("freeing memory the shared pool does not own");
    let i = ((paddr - chunk.base) / PAGE_SIZE as u64) as usize;
    chunk.used[i..i + count].fill(false);
    pool.stats.in_use -= count;
}

/// Returns wholly free chunks to the frame allocator, converting them back to private
/// first. Returns the frames released.
pub fn shrink() -> usize {
    let mut pool = POOL.lock();
    let mut released = 0;
    let mut kept = Vec::new();
    for chunk in core::mem::take(&mut pool.chunks) {
        if chunk.used.iter().any(|&u| u) {
            kept.push(chunk);
            continue;
        }
        match crate::tee::convert_to_private(chunk.base, chunk.frames) {
            Ok(()) => {
                released += chunk.frames;
                // SAFETY: the chunk's frames came from one `Segment::into_raw` in `alloc`,
                // are back to private, and no `SharedBuffer` points into them (none in use).
                drop(unsafe { Segment::from_raw(chunk.base, chunk.frames) });
            }
            // A page the host will not give back must never be reused as private memory.
            Err(e) => {
                log::warn!("dma: cannot convert {:#x}+{} frames back to private: {e:?}; keeping them shared", chunk.base, chunk.frames);
                kept.push(chunk);
            }
        }
    }
    pool.chunks = kept;
    pool.stats.total -= released;
    released
}
