//! Block group descriptors: where each group's bitmaps and inode table are, and its counts.
//!
//! The table starts in the block after the superblock. [`GroupDesc::parse`] checks that the
//! bitmaps and the inode table lie inside their own group (this crate refuses `flex_bg`, the
//! feature that would let them move) and clear of the superblock copy, and that the free
//! counts do not exceed the group's size. [`Layout`] answers "is this block metadata?", which
//! every block pointer read from an inode is checked against before data is read or written.

use crate::bytes::{le16, le32, put16, put32};
use crate::error::{Error, corrupt};
use crate::superblock::Geometry;

/// Bytes per descriptor (without the 64bit feature, which this crate refuses).
pub const DESC_SIZE: usize = 32;

mod field {
    pub const BLOCK_BITMAP: usize = 0;
    pub const INODE_BITMAP: usize = 4;
    pub const INODE_TABLE: usize = 8;
    pub const FREE_BLOCKS: usize = 12;
    pub const FREE_INODES: usize = 14;
    pub const USED_DIRS: usize = 16;
}

/// One validated group descriptor, plus its raw bytes (so unknown fields are written back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDesc {
    /// The block holding this group's block bitmap.
    pub block_bitmap: u32,
    /// The block holding this group's inode bitmap.
    pub inode_bitmap: u32,
    /// The first block of this group's inode table.
    pub inode_table: u32,
    /// Free blocks in this group.
    pub free_blocks: u16,
    /// Free inodes in this group.
    pub free_inodes: u16,
    /// Directories in this group.
    pub used_dirs: u16,
    raw: [u8; DESC_SIZE],
}

impl GroupDesc {
    /// Validates descriptor `g` of a filesystem with geometry `geo`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if a location is outside the group or a count exceeds it.
    pub fn parse(raw: [u8; DESC_SIZE], g: u32, geo: &Geometry) -> Result<Self, Error> {
        let block = u64::from(geo.first_data_block)
            + 1
            + u64::from(g) * DESC_SIZE as u64 / u64::from(geo.block_size);
        let bad = |what| Err(corrupt(what, 0, block));
        let d = GroupDesc {
            block_bitmap: le32(&raw, field::BLOCK_BITMAP),
            inode_bitmap: le32(&raw, field::INODE_BITMAP),
            inode_table: le32(&raw, field::INODE_TABLE),
            free_blocks: le16(&raw, field::FREE_BLOCKS),
            free_inodes: le16(&raw, field::FREE_INODES),
            used_dirs: le16(&raw, field::USED_DIRS),
            raw,
        };
        let (start, len) = geo.group_blocks(g);
        // Everything below `meta_end` is the superblock copy and descriptor tables.
        let meta_end = u64::from(start) + u64::from(Layout::super_blocks(geo, g));
        let end = u64::from(start) + u64::from(len);
        let inside =
            |b: u32, n: u32| u64::from(b) >= meta_end && u64::from(b) + u64::from(n) <= end;
        if !inside(d.block_bitmap, 1) {
            return bad("block bitmap is outside its group");
        }
        if !inside(d.inode_bitmap, 1) {
            return bad("inode bitmap is outside its group");
        }
        if !inside(d.inode_table, geo.inode_table_blocks) {
            return bad("inode table is outside its group");
        }
        let in_table = |b: u32| b >= d.inode_table && b - d.inode_table < geo.inode_table_blocks;
        if d.block_bitmap == d.inode_bitmap || in_table(d.block_bitmap) || in_table(d.inode_bitmap)
        {
            return bad("bitmaps overlap each other or the inode table");
        }
        if u32::from(d.free_blocks) > len {
            return bad("free blocks count exceeds the group");
        }
        if u32::from(d.free_inodes) > geo.inodes_per_group
            || u32::from(d.used_dirs) > geo.inodes_per_group
        {
            return bad("free inodes or directories count exceeds the group");
        }
        Ok(d)
    }

    /// Builds the descriptor of a new group (mkfs); [`GroupDesc::parse`] has not seen it, so
    /// the caller validates the table by mounting it.
    pub(crate) fn new(
        block_bitmap: u32,
        inode_bitmap: u32,
        inode_table: u32,
        free_blocks: u16,
        free_inodes: u16,
        used_dirs: u16,
    ) -> Self {
        let mut raw = [0u8; DESC_SIZE];
        put32(&mut raw, field::BLOCK_BITMAP, block_bitmap);
        put32(&mut raw, field::INODE_BITMAP, inode_bitmap);
        put32(&mut raw, field::INODE_TABLE, inode_table);
        GroupDesc {
            block_bitmap,
            inode_bitmap,
            inode_table,
            free_blocks,
            free_inodes,
            used_dirs,
            raw,
        }
    }

    /// Returns the on-disk bytes with the current counts.
    pub fn to_bytes(&self) -> [u8; DESC_SIZE] {
        let mut raw = self.raw;
        put16(&mut raw, field::FREE_BLOCKS, self.free_blocks);
        put16(&mut raw, field::FREE_INODES, self.free_inodes);
        put16(&mut raw, field::USED_DIRS, self.used_dirs);
        raw
    }
}

/// Answers which blocks hold metadata, from the geometry and the validated descriptors.
pub struct Layout;

impl Layout {
    /// Returns how many blocks at the start of group `g` hold the superblock copy, the
    /// descriptor table and its reserved growth (0 in groups without a copy).
    pub fn super_blocks(geo: &Geometry, g: u32) -> u32 {
        if geo.group_has_super(g) { 1 + geo.gdt_blocks + geo.reserved_gdt_blocks } else { 0 }
    }

    /// Returns whether block `b` (a valid block number) is metadata: a superblock copy, a
    /// descriptor table, a bitmap or part of an inode table.
    pub fn is_metadata(geo: &Geometry, groups: &[GroupDesc], b: u32) -> bool {
        let g = geo.group_of_block(b);
        let (start, _) = geo.group_blocks(g);
        if b - start < Self::super_blocks(geo, g) {
            return true;
        }
        let Some(d) = groups.get(g as usize) else { return true };
        b == d.block_bitmap
            || b == d.inode_bitmap
            || (b >= d.inode_table && b - d.inode_table < geo.inode_table_blocks)
    }
}
