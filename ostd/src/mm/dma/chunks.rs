//! The shared pool's bookkeeping: which frames of which chunk are handed out.
//!
//! A chunk is a run of frames that [`pool`](super::pool) converted to shared in one go; this
//! module only records them, finds room for a request and keeps the figures. It never
//! touches memory or converts anything, so it is pure (no `unsafe`, no hardware) and the host
//! tests run it (`tests/tests/shared_pool.rs` includes this file).

use alloc::vec::Vec;

/// The size of a frame. `pool.rs` checks at compile time that it is `mm::PAGE_SIZE`.
pub(super) const FRAME_SIZE: u64 = 4096;

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

/// A run of frames converted to shared, with a flag per frame for "handed out".
struct Chunk {
    base: u64,
    used: Vec<bool>,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.base + self.used.len() as u64 * FRAME_SIZE
    }

    /// Returns the first index of `count` free frames in a row.
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

/// Every chunk of the pool and the pool's figures.
///
/// # Invariants
/// 1. Chunks do not overlap, and each is frame-aligned.
/// 2. `stats.total` is the sum of the chunks' frames; `stats.in_use` the number of used
///    flags set; `stats.high_water` the largest `in_use` ever.
pub(super) struct Chunks {
    chunks: Vec<Chunk>,
    stats: PoolStats,
}

impl Chunks {
    /// An empty pool.
    pub(super) const fn new() -> Self {
        Self { chunks: Vec::new(), stats: PoolStats { total: 0, in_use: 0, high_water: 0 } }
    }

    /// Returns the figures.
    pub(super) fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Hands out `count` contiguous frames from the chunks there are, if one has room;
    /// returns the first frame's address.
    pub(super) fn take(&mut self, count: usize) -> Option<u64> {
        if count == 0 {
            return None;
        }
        let (c, i) = self
            .chunks
            .iter()
            .enumerate()
            .find_map(|(c, chunk)| chunk.find(count).map(|i| (c, i)))?;
        let chunk = &mut self.chunks[c];
        chunk.used[i..i + count].fill(true);
        self.stats.in_use += count;
        self.stats.high_water = self.stats.high_water.max(self.stats.in_use);
        Some(chunk.base + i as u64 * FRAME_SIZE)
    }

    /// Adds a chunk of `frames` free frames at `base`.
    ///
    /// # Panics
    /// If `base` is not frame-aligned, `frames` is zero, or the chunk overlaps one the pool
    /// already has (invariant 1).
    pub(super) fn add(&mut self, base: u64, frames: usize) {
        assert!(
            base.is_multiple_of(FRAME_SIZE) && frames > 0,
            "bad shared-pool chunk {base:#x}+{frames}"
        );
        let end = base + frames as u64 * FRAME_SIZE;
        assert!(
            self.chunks.iter().all(|c| end <= c.base || c.end() <= base),
            "shared-pool chunk {base:#x}..{end:#x} overlaps another"
        );
        self.chunks.push(Chunk { base, used: alloc::vec![false; frames] });
        self.stats.total += frames;
    }

    /// Takes back `count` frames at `paddr`, handed out by one [`Chunks::take`].
    ///
    /// # Panics
    /// If the range is not inside one chunk, or any of its frames is not handed out (a
    /// double free).
    pub(super) fn give_back(&mut self, paddr: u64, count: usize) {
        let chunk =
            self.chunks.iter_mut().find(|c| c.base <= paddr && paddr < c.end()).unwrap_or_else(
                || panic!("freeing {paddr:#x}, which the shared pool does not own"),
            );
        let first = ((paddr - chunk.base) / FRAME_SIZE) as usize;
        let frames = chunk.used.get_mut(first..first + count);
        let frames = frames.unwrap_or_else(|| {
            panic!("freeing {paddr:#x}+{count} frames, past the end of its chunk")
        });
        assert!(frames.iter().all(|&u| u), "double free of shared frames at {paddr:#x}+{count}");
        frames.fill(false);
        self.stats.in_use -= count;
    }

    /// Returns whether `paddr..paddr + len` lies wholly in frames that are handed out.
    pub(super) fn is_handed_out(&self, paddr: u64, len: usize) -> bool {
        let Some(end) = paddr.checked_add(len.max(1) as u64) else { return false };
        self.chunks.iter().any(|c| {
            c.base <= paddr
                && end <= c.end()
                && c.used[((paddr - c.base) / FRAME_SIZE) as usize
                    ..=((end - 1 - c.base) / FRAME_SIZE) as usize]
                    .iter()
                    .all(|&u| u)
        })
    }

    /// Returns every chunk as (base, frames).
    pub(super) fn ranges(&self) -> Vec<(u64, usize)> {
        self.chunks.iter().map(|c| (c.base, c.used.len())).collect()
    }

    /// Removes every chunk with nothing handed out and returns them as (base, frames), for
    /// the pool to convert back to private. A chunk that cannot be converted goes back with
    /// [`Chunks::add`].
    pub(super) fn remove_idle(&mut self) -> Vec<(u64, usize)> {
        let mut idle = Vec::new();
        self.chunks.retain(|c| {
            let busy = c.used.iter().any(|&u| u);
            if !busy {
                idle.push((c.base, c.used.len()));
            }
            busy
        });
        self.stats.total -= idle.iter().map(|&(_, frames)| frames).sum::<usize>();
        idle
    }
}
