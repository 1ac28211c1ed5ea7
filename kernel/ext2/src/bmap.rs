//! Block maps: from a file's logical block to the disk block that holds it.
//!
//! `i_block[0..12]` point at data, `i_block[12]` at a block of pointers (single indirect),
//! `i_block[13]` at a block of such blocks (double) and `i_block[14]` one level deeper
//! (triple). A pointer of 0 is a hole, which reads as zeros.
//!
//! Every pointer taken from the disk goes through `Filesystem::check_block` (in range, not
//! metadata) before it is followed. A lookup walks at most four pointers, so it cannot loop;
//! freeing walks whole subtrees, so it carries a [`Budget`] of indirect blocks it may visit
//! (no more than the filesystem has blocks), and a block freed twice is reported as
//! corruption by the bitmap instead of being counted twice.

use crate::bytes::{le32, put32};
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::inode::{Inode, InodeNo, N_DIRECT};

/// Where a logical block's pointer lives: the `i_block` slot, then an index per level.
pub(crate) struct Path {
    pub(crate) slot: usize,
    /// Indexes into the indirect blocks, outermost first; `depth` of them are used.
    pub(crate) idx: [u32; 3],
    pub(crate) depth: usize,
}

/// How many indirect blocks a walk over a block map may still read.
pub(crate) struct Budget(u64);

impl Budget {
    fn spend(&mut self, ino: InodeNo, block: u32) -> Result<(), Error> {
        self.0 = self.0.checked_sub(1).ok_or(corrupt(
            "block map visits more blocks than exist",
            ino.get(),
            block.into(),
        ))?;
        Ok(())
    }
}

impl<D: BlockDevice> Filesystem<D> {
    /// Returns the number of logical blocks each level of the map reaches:
    /// direct, single, double, triple.
    fn spans(&self) -> [u64; 4] {
        let p = u64::from(self.geo.ptrs_per_block());
        [N_DIRECT as u64, p, p * p, p * p * p]
    }

    /// Returns the largest file size: the reach of the block map, capped (as in Linux's
    /// `ext2_max_size`) so that data plus indirect blocks fit in the 32-bit `i_blocks`
    /// count of 512-byte sectors.
    pub(crate) fn max_file_size(&self) -> u64 {
        let bits = self.geo.block_size.trailing_zeros();
        let [d, p, p2, p3] = self.spans();
        let reach = (d + p + p2 + p3) << bits;
        let meta = 1 + (1 + p) + (1 + p + p2);
        let sector_limit = ((((1u64 << 32) - 1) >> (bits - 9)) - meta) << bits;
        reach.min(sector_limit)
    }

    /// Splits logical block `lblk` into its path through the map.
    pub(crate) fn path(&self, lblk: u64, ino: InodeNo) -> Result<Path, Error> {
        let p = u64::from(self.geo.ptrs_per_block());
        let [d, s, s2, s3] = self.spans();
        let mut l = lblk;
        if l < d {
            return Ok(Path { slot: l as usize, idx: [0; 3], depth: 0 });
        }
        l -= d;
        if l < s {
            return Ok(Path { slot: N_DIRECT, idx: [l as u32, 0, 0], depth: 1 });
        }
        l -= s;
        if l < s2 {
            return Ok(Path {
                slot: N_DIRECT + 1,
                idx: [(l / p) as u32, (l % p) as u32, 0],
                depth: 2,
            });
        }
        l -= s2;
        if l < s3 {
            let idx = [(l / (p * p)) as u32, (l / p % p) as u32, (l % p) as u32];
            return Ok(Path { slot: N_DIRECT + 2, idx, depth: 3 });
        }
        Err(corrupt("file offset beyond the block map's reach", ino.get(), 0))
    }

    /// Reads pointer `i` of indirect block `b` (already checked).
    pub(crate) fn read_ptr(&self, b: u32, i: u32) -> Result<u32, Error> {
        let mut raw = [0u8; 4];
        self.dev.read(self.geo.block_offset(b) + u64::from(i) * 4, &mut raw)?;
        Ok(u32::from_le_bytes(raw))
    }

    /// Writes pointer `i` of indirect block `b` (already checked).
    fn write_ptr(&mut self, b: u32, i: u32, v: u32) -> Result<(), Error> {
        let at = self.geo.block_offset(b) + u64::from(i) * 4;
        self.dev.write(at, &v.to_le_bytes())?;
        Ok(())
    }

    /// Returns the disk block holding logical block `lblk` of `inode`, or `None` for a hole.
    pub(crate) fn bmap(
        &self,
        ino: InodeNo,
        inode: &Inode,
        lblk: u64,
    ) -> Result<Option<u32>, Error> {
        let path = self.path(lblk, ino)?;
        let mut ptr = inode.block[path.slot];
        for &i in &path.idx[..path.depth] {
            if ptr == 0 {
                return Ok(None);
            }
            ptr = self.read_ptr(self.check_block(ptr, ino)?, i)?;
        }
        if ptr == 0 { Ok(None) } else { self.check_block(ptr, ino).map(Some) }
    }

    /// Returns the disk block for logical block `lblk`, allocating it (and any missing
    /// indirect blocks, zeroed) if it is a hole. The flag says whether the data block is
    /// new, in which case its contents are stale and the caller must write all of it.
    ///
    /// `inode` is updated (pointers, `i_blocks`) but not written; the caller writes it, also
    /// when this fails part way, because indirect blocks may already hang off it.
    pub(crate) fn bmap_alloc(
        &mut self,
        ino: InodeNo,
        inode: &mut Inode,
        lblk: u64,
    ) -> Result<(u32, bool), Error> {
        let path = self.path(lblk, ino)?;
        let goal = ino.group_index(&self.geo).0;
        let sectors = self.geo.block_size / 512;
        let mut fresh = false;
        let mut ptr = inode.block[path.slot];
        if ptr == 0 {
            // A new indirect block must read as all holes; a data block the caller fills.
            ptr = self.alloc_block_for(ino, goal, path.depth > 0)?;
            inode.block[path.slot] = ptr;
            inode.blocks = inode.blocks.saturating_add(sectors);
            fresh = true;
        }
        for (level, &i) in path.idx[..path.depth].iter().enumerate() {
            let parent = self.check_block(ptr, ino)?;
            ptr = self.read_ptr(parent, i)?;
            if ptr == 0 {
                ptr = self.alloc_block_for(ino, goal, level + 1 < path.depth)?;
                self.write_ptr(parent, i, ptr)?;
                inode.blocks = inode.blocks.saturating_add(sectors);
                fresh = true;
            } else {
                fresh = false;
            }
        }
        Ok((self.check_block(ptr, ino)?, fresh))
    }

    /// Frees every block of `inode` that maps logical blocks `first..`, and the indirect
    /// blocks left empty; updates `inode` (not written) to match.
    pub(crate) fn free_blocks_from(
        &mut self,
        ino: InodeNo,
        inode: &mut Inode,
        first: u64,
    ) -> Result<(), Error> {
        let mut budget = Budget(u64::from(self.geo.blocks_count));
        let mut freed = 0u32;
        let result = self.free_blocks_inner(ino, inode, first, &mut budget, &mut freed);
        let sectors = self.geo.block_size / 512;
        inode.blocks = inode.blocks.saturating_sub(freed.saturating_mul(sectors));
        result
    }

    fn free_blocks_inner(
        &mut self,
        ino: InodeNo,
        inode: &mut Inode,
        first: u64,
        budget: &mut Budget,
        freed: &mut u32,
    ) -> Result<(), Error> {
        for slot in (first.min(N_DIRECT as u64) as usize)..N_DIRECT {
            let b = inode.block[slot];
            if b != 0 {
                self.free_block(self.check_block(b, ino)?)?;
                inode.block[slot] = 0;
                *freed += 1;
            }
        }
        let spans = self.spans();
        let mut base = spans[0];
        for (depth, &span) in spans.iter().enumerate().skip(1) {
            let slot = N_DIRECT + depth - 1;
            let ptr = inode.block[slot];
            if ptr != 0
                && base + span > first
                && self.free_subtree(ino, ptr, depth, base, first, budget, freed)?
            {
                inode.block[slot] = 0;
            }
            base += span;
        }
        Ok(())
    }

    /// Frees the part of the subtree at `ptr` (an indirect block of `depth` levels, or a
    /// data block at depth 0, mapping logical blocks from `base`) that maps `first..`.
    /// Returns whether `ptr` itself was freed (the caller then clears its pointer to it).
    #[allow(clippy::too_many_arguments, reason = "a recursive walk's state, kept explicit")]
    fn free_subtree(
        &mut self,
        ino: InodeNo,
        ptr: u32,
        depth: usize,
        base: u64,
        first: u64,
        budget: &mut Budget,
        freed: &mut u32,
    ) -> Result<bool, Error> {
        let b = self.check_block(ptr, ino)?;
        if depth == 0 {
            self.free_block(b)?;
            *freed += 1;
            return Ok(true);
        }
        budget.spend(ino, b)?;
        let mut buf = self.block_buf();
        self.read_block(b, &mut buf)?;
        let child_span = self.spans()[1].pow(depth as u32 - 1);
        let (mut changed, mut kept) = (false, false);
        for i in 0..self.geo.ptrs_per_block() as usize {
            let child = le32(&buf, 4 * i);
            if child == 0 {
                continue;
            }
            let child_base = base + i as u64 * child_span;
            if child_base + child_span <= first {
                kept = true;
                continue;
            }
            if self.free_subtree(ino, child, depth - 1, child_base, first, budget, freed)? {
                put32(&mut buf, 4 * i, 0);
                changed = true;
            } else {
                kept = true;
            }
        }
        if !kept {
            self.free_block(b)?;
            *freed += 1;
            return Ok(true);
        }
        if changed {
            self.write_block(b, &buf)?;
        }
        Ok(false)
    }
}
