//! Block and inode allocation: the bitmaps, and the free counts in the group descriptors.
//!
//! Each group has one block of block bitmap and one of inode bitmap; bit `i` of group `g`
//! stands for block `first_data_block + g * blocks_per_group + i` or inode
//! `g * inodes_per_group + i + 1`. Allocation starts in a goal group (the inode's own group,
//! for locality) and moves on group by group. The superblock's totals are recomputed from
//! the descriptors at `sync`, so only the descriptors are counted here.
//!
//! The bitmaps come from the disk too: a bit that says "free" for a superblock copy, a
//! bitmap or the inode table is reported as corruption rather than handed out, and so is
//! freeing something whose bit is already clear.

use crate::bytes::le32;
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::group::Layout;
use crate::inode::InodeNo;

/// Returns the index of the first clear bit below `limit`, if any.
fn first_clear(bitmap: &[u8], limit: u32) -> Option<u32> {
    // Whole words first: a full bitmap is mostly 0xffffffff.
    let mut i = 0u32;
    while i + 32 <= limit {
        if le32(bitmap, (i / 8) as usize) != u32::MAX {
            break;
        }
        i += 32;
    }
    (i..limit).find(|&bit| bitmap[(bit / 8) as usize] & (1 << (bit % 8)) == 0)
}

impl<D: BlockDevice> Filesystem<D> {
    /// Allocates a block, preferring group `goal`; zeroes it if `zero` is set.
    pub(crate) fn alloc_block(&mut self, goal: u32, zero: bool) -> Result<u32, Error> {
        let count = self.geo.group_count;
        let mut bitmap = self.block_buf();
        for k in 0..count {
            let g = (goal % count + k) % count;
            if self.groups[g as usize].free_blocks == 0 {
                continue;
            }
            let bitmap_block = self.groups[g as usize].block_bitmap;
            self.read_block(bitmap_block, &mut bitmap)?;
            let (start, len) = self.geo.group_blocks(g);
            let Some(bit) = first_clear(&bitmap, len) else {
                return Err(corrupt("free blocks count but a full bitmap", 0, bitmap_block.into()));
            };
            let b = start + bit;
            if Layout::is_metadata(&self.geo, &self.groups, b) {
                return Err(corrupt("block bitmap marks metadata free", 0, b.into()));
            }
            bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
            self.write_block(bitmap_block, &bitmap)?;
            self.groups[g as usize].free_blocks -= 1;
            if zero {
                let z = self.block_buf();
                self.write_block(b, &z)?;
            }
            return Ok(b);
        }
        Err(Error::NoSpace)
    }

    /// Allocates a block for inode `ino`: right after the block allocated for it last, if
    /// that one is free (a sequential write then looks at one byte of the bitmap, and the
    /// file stays contiguous, as with Linux's per-inode allocation goal), else as
    /// [`Filesystem::alloc_block`].
    pub(crate) fn alloc_block_for(
        &mut self,
        ino: InodeNo,
        goal: u32,
        zero: bool,
    ) -> Result<u32, Error> {
        let hinted = match self.next_alloc {
            Some((owner, b)) if owner == ino => self.alloc_exact(b)?,
            _ => None,
        };
        let b = match hinted {
            Some(b) => {
                if zero {
                    let z = self.block_buf();
                    self.write_block(b, &z)?;
                }
                b
            }
            None => self.alloc_block(goal, zero)?,
        };
        self.next_alloc = Some((ino, b + 1));
        Ok(b)
    }

    /// Takes block `b` if it exists and is free; `None` if not.
    fn alloc_exact(&mut self, b: u32) -> Result<Option<u32>, Error> {
        if b < self.geo.first_data_block || b >= self.geo.blocks_count {
            return Ok(None);
        }
        let g = self.geo.group_of_block(b);
        if self.groups[g as usize].free_blocks == 0 {
            return Ok(None);
        }
        let (start, _) = self.geo.group_blocks(g);
        let bit = b - start;
        let at = self.geo.block_offset(self.groups[g as usize].block_bitmap) + u64::from(bit / 8);
        let mut byte = [0u8];
        self.dev.read(at, &mut byte)?;
        if byte[0] & (1 << (bit % 8)) != 0 {
            return Ok(None);
        }
        if Layout::is_metadata(&self.geo, &self.groups, b) {
            return Err(corrupt("block bitmap marks metadata free", 0, b.into()));
        }
        byte[0] |= 1 << (bit % 8);
        self.dev.write(at, &byte)?;
        self.groups[g as usize].free_blocks -= 1;
        Ok(Some(b))
    }

    /// Frees block `b` (already checked to be a data block).
    pub(crate) fn free_block(&mut self, b: u32) -> Result<(), Error> {
        let g = self.geo.group_of_block(b);
        let (start, len) = self.geo.group_blocks(g);
        let bitmap_block = self.groups[g as usize].block_bitmap;
        let mut bitmap = self.block_buf();
        self.read_block(bitmap_block, &mut bitmap)?;
        let bit = b - start;
        let mask = 1 << (bit % 8);
        if bitmap[(bit / 8) as usize] & mask == 0 {
            return Err(corrupt("freeing a block that is already free", 0, b.into()));
        }
        bitmap[(bit / 8) as usize] &= !mask;
        self.write_block(bitmap_block, &bitmap)?;
        let d = &mut self.groups[g as usize];
        // Capped: a count that already disagreed with the bitmap must not overflow the group.
        if u32::from(d.free_blocks) < len {
            d.free_blocks += 1;
        }
        Ok(())
    }

    /// Allocates an inode near `parent`'s group; directories go to the group with the most
    /// free inodes instead, to spread the tree (a simple form of Linux's Orlov allocator).
    pub(crate) fn alloc_inode(&mut self, parent: InodeNo, is_dir: bool) -> Result<InodeNo, Error> {
        let count = self.geo.group_count;
        let goal = if is_dir {
            (0..count).max_by_key(|&g| self.groups[g as usize].free_inodes).unwrap_or(0)
        } else {
            parent.group_index(&self.geo).0
        };
        let ipg = self.geo.inodes_per_group;
        let mut bitmap = self.block_buf();
        for k in 0..count {
            let g = (goal + k) % count;
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            let bitmap_block = self.groups[g as usize].inode_bitmap;
            self.read_block(bitmap_block, &mut bitmap)?;
            // Inodes below first_ino are reserved: treat their bits as set.
            let reserved = self.geo.first_ino.saturating_sub(1 + g * ipg).min(ipg);
            let Some(bit) =
                (reserved..ipg).find(|&i| bitmap[(i / 8) as usize] & (1 << (i % 8)) == 0)
            else {
                continue;
            };
            bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
            self.write_block(bitmap_block, &bitmap)?;
            let d = &mut self.groups[g as usize];
            d.free_inodes -= 1;
            if is_dir {
                d.used_dirs = d.used_dirs.saturating_add(1);
            }
            return InodeNo::new(g * ipg + bit + 1, &self.geo);
        }
        Err(Error::NoSpace)
    }

    /// Marks inode `ino` free in its bitmap and counts.
    pub(crate) fn free_inode_bit(&mut self, ino: InodeNo, was_dir: bool) -> Result<(), Error> {
        let (g, bit) = ino.group_index(&self.geo);
        let bitmap_block = self.groups[g as usize].inode_bitmap;
        let mut bitmap = self.block_buf();
        self.read_block(bitmap_block, &mut bitmap)?;
        let mask = 1 << (bit % 8);
        if bitmap[(bit / 8) as usize] & mask == 0 {
            return Err(corrupt("freeing an inode that is already free", ino.get(), 0));
        }
        bitmap[(bit / 8) as usize] &= !mask;
        self.write_block(bitmap_block, &bitmap)?;
        let ipg = self.geo.inodes_per_group;
        let d = &mut self.groups[g as usize];
        if u32::from(d.free_inodes) < ipg {
            d.free_inodes += 1;
        }
        if was_dir {
            d.used_dirs = d.used_dirs.saturating_sub(1);
        }
        Ok(())
    }
}
