//! Making a new filesystem (mkfs): [`Filesystem::format`] with [`FormatParams`].
//!
//! The result is what `mke2fs -t ext2 -O none,filetype,sparse_super,large_file -I 128
//! -i 16384` makes, laid out the same way: revision 1, 128-byte inodes, no COMPAT features
//! (no `resize_inode`, `dir_index`, `ext_attr` or journal), and every group built as
//!
//! ```text
//! [superblock copy][descriptor table]  only groups 0, 1 and powers of 3, 5, 7 (sparse_super)
//! [block bitmap][inode bitmap][inode table][data ...]
//! ```
//!
//! Group 0's first data blocks hold the root directory (one block) and `lost+found` (16 KiB,
//! but at most the 12 direct blocks, as mke2fs does: 12 KiB with 1 KiB blocks). Inodes
//! 1 to 10 are reserved (marked used, left zero), the root is inode 2 and `lost+found` is
//! inode 11, the first ordinary inode.
//!
//! # Reproducible
//! Format reads no clock and no randomness: the UUID and the time stamped everywhere come
//! from the caller, so the same parameters and device size give the same bytes. It writes
//! every metadata block whole (superblock copies with the rest of their block zeroed, the
//! first 1024 bytes of the device, descriptor tables with their padding, bitmaps, every
//! inode table) and the directories' blocks; it does not write the free data blocks, nor
//! the bytes past the last whole block. On a zero-filled device (a new sparse file) the
//! whole device is therefore a function of the parameters and its size.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{put16, put32};
use crate::dev::BlockDevice;
use crate::dir::{Entry, emit_entry, rec_len_for};
use crate::error::Error;
use crate::fs::Filesystem;
use crate::group::{DESC_SIZE, GroupDesc, Layout};
use crate::inode::{FileType, INODE_RECORD, Inode, InodeNo, N_BLOCKS, N_DIRECT, ROOT_INO, mode};
use crate::superblock::{
    EXT2_MAGIC, Geometry, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, field as sbf, has_super_copy,
    incompat, ro_compat, value,
};

/// What to make: everything a new filesystem takes from the caller rather than the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatParams {
    /// Bytes per block: 1024, 2048 or 4096 (default 4096).
    pub block_size: u32,
    /// The least number of inodes; the count is rounded up so that each group has the same
    /// number and its inode table fills whole blocks (never below 12: the reserved inodes
    /// and `lost+found`). `None` (the default) asks for one inode per 16 KiB of device.
    pub inodes: Option<u32>,
    /// Blocks reserved for root, in percent of all blocks, at most 50 (default 5, as mke2fs).
    pub reserved_percent: u8,
    /// `s_volume_name`, NUL-padded (default empty).
    pub label: [u8; 16],
    /// `s_uuid` (default nil; `e2fsck` without `-n` replaces a nil UUID with a random one).
    pub uuid: [u8; 16],
    /// Seconds since the epoch, written to every time field: `s_mkfs_time`, `s_wtime`,
    /// `s_lastcheck`, and the root's and `lost+found`'s times. `s_mtime` (last mount) stays
    /// 0. A time in the future makes `e2fsck` complain.
    pub time: u32,
}

impl Default for FormatParams {
    fn default() -> Self {
        FormatParams {
            block_size: 4096,
            inodes: None,
            reserved_percent: 5,
            label: [0; 16],
            uuid: [0; 16],
            time: 0,
        }
    }
}

/// Bytes per on-disk inode: the record this crate reads and writes, nothing more.
const INODE_SIZE: u32 = INODE_RECORD as u32;
/// The default inode ratio (mke2fs's `-i` for large filesystems).
const BYTES_PER_INODE: u64 = 16 * 1024;
/// `lost+found`'s inode, the first one past the reserved range.
const LOST_FOUND_INO: u32 = 11;
/// How large mke2fs makes `lost+found`, so that e2fsck can reconnect files into it
/// without allocating.
const LOST_FOUND_BYTES: u32 = 16 * 1024;
/// mke2fs drops a short last group rather than keep one with fewer data blocks than this.
const MIN_LAST_GROUP_DATA: u64 = 50;

/// Shorthand for a refused parameter or device.
fn refuse(why: &'static str) -> Error {
    Error::InvalidArgument(why)
}

/// The shape of the filesystem to make, before anything is written.
struct Plan {
    block_size: u32,
    blocks_count: u32,
    group_count: u32,
    inodes_per_group: u32,
    lost_found_blocks: u32,
}

impl Plan {
    /// Sizes the filesystem for a device of `device_size` bytes, following mke2fs's
    /// `ext2fs_initialize`: groups of `8 * block_size` blocks, inodes spread evenly, and a
    /// last group too short for its own metadata plus 50 blocks left out.
    fn new(params: &FormatParams, device_size: u64) -> Result<Self, Error> {
        let bs = params.block_size;
        if !matches!(bs, 1024 | 2048 | 4096) {
            return Err(refuse("block size is not 1024, 2048 or 4096"));
        }
        if params.reserved_percent > 50 {
            return Err(refuse("reserved blocks percentage is above 50"));
        }
        let first_data_block = u64::from(bs == 1024);
        let blocks_per_group = u64::from(bs) * 8;
        let mut blocks = device_size / u64::from(bs);
        if blocks > u64::from(u32::MAX) {
            return Err(refuse("device has more blocks than ext2 can count (2^32 - 1)"));
        }
        let wanted_inodes = params
            .inodes
            .map_or(blocks * u64::from(bs) / BYTES_PER_INODE, u64::from)
            .max(u64::from(LOST_FOUND_INO) + 1);
        let lost_found_blocks = LOST_FOUND_BYTES.div_ceil(bs).min(N_DIRECT as u32);
        loop {
            if blocks <= first_data_block {
                return Err(refuse("device too small for one block group and its metadata"));
            }
            let group_count = (blocks - first_data_block).div_ceil(blocks_per_group);
            let inodes_per_group = inodes_per_group(wanted_inodes, group_count, bs)?;
            let table_blocks = u64::from(inodes_per_group * INODE_SIZE / bs);
            let gdt_blocks = (group_count * DESC_SIZE as u64).div_ceil(u64::from(bs));
            // Group 0 is the fullest: superblock, descriptors, bitmaps, table, directories.
            let group0_use = 1 + gdt_blocks + 2 + table_blocks + 1 + u64::from(lost_found_blocks);
            if group0_use > blocks_per_group {
                return Err(refuse(
                    "inode tables and descriptors leave no room in a group (too many inodes, or \
                     too many groups for 1 KiB blocks)",
                ));
            }
            let last = group_count - 1;
            let short = (blocks - first_data_block) % blocks_per_group;
            let copy_blocks = if has_super_copy(last as u32, true) { 1 + gdt_blocks } else { 0 };
            if short != 0 && short < copy_blocks + 2 + table_blocks + MIN_LAST_GROUP_DATA {
                // Leave the short group out, and size again (the inode target stays).
                blocks -= short;
                continue;
            }
            if u64::from(inodes_per_group) * group_count > u64::from(u32::MAX) {
                return Err(refuse("inode count does not fit in 32 bits"));
            }
            return Ok(Plan {
                block_size: bs,
                blocks_count: blocks as u32,
                group_count: group_count as u32,
                inodes_per_group,
                lost_found_blocks,
            });
        }
    }

    /// Encodes the superblock, free counts left 0 (they come from the layout).
    fn superblock(&self, params: &FormatParams) -> [u8; SUPERBLOCK_SIZE] {
        let mut sb = [0u8; SUPERBLOCK_SIZE];
        let log_block_size = self.block_size.trailing_zeros() - 10;
        let blocks_per_group = self.block_size * 8;
        let reserved = u64::from(self.blocks_count) * u64::from(params.reserved_percent) / 100;
        put32(&mut sb, sbf::INODES_COUNT, self.inodes_per_group * self.group_count);
        put32(&mut sb, sbf::BLOCKS_COUNT, self.blocks_count);
        put32(&mut sb, sbf::R_BLOCKS_COUNT, reserved as u32);
        put32(&mut sb, sbf::FIRST_DATA_BLOCK, u32::from(self.block_size == 1024));
        put32(&mut sb, sbf::LOG_BLOCK_SIZE, log_block_size);
        put32(&mut sb, sbf::LOG_FRAG_SIZE, log_block_size);
        put32(&mut sb, sbf::BLOCKS_PER_GROUP, blocks_per_group);
        put32(&mut sb, sbf::FRAGS_PER_GROUP, blocks_per_group);
        put32(&mut sb, sbf::INODES_PER_GROUP, self.inodes_per_group);
        put32(&mut sb, sbf::WTIME, params.time);
        put16(&mut sb, sbf::MAX_MNT_COUNT, value::NO_MAX_MNT_COUNT);
        put16(&mut sb, sbf::MAGIC, EXT2_MAGIC);
        put16(&mut sb, sbf::STATE, value::STATE_CLEAN);
        put16(&mut sb, sbf::ERRORS, value::ERRORS_CONTINUE);
        put32(&mut sb, sbf::LASTCHECK, params.time);
        put32(&mut sb, sbf::CREATOR_OS, value::OS_LINUX);
        put32(&mut sb, sbf::REV_LEVEL, value::DYNAMIC_REV);
        put32(&mut sb, sbf::FIRST_INO, LOST_FOUND_INO);
        put16(&mut sb, sbf::INODE_SIZE, INODE_SIZE as u16);
        put32(&mut sb, sbf::FEATURE_INCOMPAT, incompat::FILETYPE);
        put32(&mut sb, sbf::FEATURE_RO_COMPAT, ro_compat::SPARSE_SUPER | ro_compat::LARGE_FILE);
        sb[sbf::UUID..sbf::UUID + 16].copy_from_slice(&params.uuid);
        sb[sbf::VOLUME_NAME..sbf::VOLUME_NAME + 16].copy_from_slice(&params.label);
        put32(&mut sb, sbf::MKFS_TIME, params.time);
        put32(&mut sb, sbf::FLAGS, value::FLAGS_SIGNED_HASH);
        sb
    }
}

/// Returns the inodes per group for at least `wanted` inodes over `groups` groups: rounded
/// up to fill the inode table's last block (a multiple of 8, as the bitmap code of e2fsprogs
/// wants: `bs / 128` is 8, 16 or 32).
fn inodes_per_group(wanted: u64, groups: u64, bs: u32) -> Result<u32, Error> {
    let per_block = u64::from(bs / INODE_SIZE);
    let ipg = wanted.div_ceil(groups).div_ceil(per_block) * per_block;
    // One bitmap block per group; 8 * bs is a multiple of per_block, so rounding up to
    // whole table blocks cannot cross it.
    if ipg > u64::from(bs) * 8 {
        return Err(refuse("inode count needs more than 8 * block size inodes per group"));
    }
    Ok(ipg as u32)
}

/// Returns a bitmap block with bits `0..used` set (in use) and `valid..` set (padding past
/// the end of the group, which e2fsck expects set), the rest clear.
fn bitmap_block(block_size: u32, used: u32, valid: u32) -> Vec<u8> {
    let mut bitmap = vec![0u8; block_size as usize];
    for bit in (0..used).chain(valid..block_size * 8) {
        bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
    }
    bitmap
}

/// Returns how many of group `g`'s inodes are in use (the reserved ones and `lost+found`,
/// which come first) and how many of those are directories.
fn inodes_in_use(geo: &Geometry, g: u32) -> (u32, u16) {
    let first = g * geo.inodes_per_group + 1;
    let used = (LOST_FOUND_INO + 1).saturating_sub(first).min(geo.inodes_per_group);
    let dirs = [ROOT_INO, LOST_FOUND_INO].iter().filter(|&&i| i >= first && i < first + used);
    (used, dirs.count() as u16)
}

/// Returns the descriptors of the new groups. Every block in use is at the start of its
/// group: the superblock copy and descriptors, the bitmaps, the inode table and, in group 0,
/// the directories' `dir_blocks`.
fn descriptors(geo: &Geometry, dir_blocks: u32) -> Result<Vec<GroupDesc>, Error> {
    let too_big = |_| refuse("group counts do not fit in 16 bits");
    (0..geo.group_count)
        .map(|g| {
            let (start, len) = geo.group_blocks(g);
            let block_bitmap = start + Layout::super_blocks(geo, g);
            let data = if g == 0 { dir_blocks } else { 0 };
            let used_blocks = block_bitmap - start + 2 + geo.inode_table_blocks + data;
            let (used_inodes, dirs) = inodes_in_use(geo, g);
            Ok(GroupDesc::new(
                block_bitmap,
                block_bitmap + 1,
                block_bitmap + 2,
                u16::try_from(len - used_blocks).map_err(too_big)?,
                u16::try_from(geo.inodes_per_group - used_inodes).map_err(too_big)?,
                dirs,
            ))
        })
        .collect()
}

/// Returns a directory inode owned by root, stamped `time`, whose data is `blocks`.
fn dir_inode(perm: u16, links: u16, blocks: &[u32], geo: &Geometry, time: u32) -> Inode {
    let mut block = [0u32; N_BLOCKS];
    block[..blocks.len()].copy_from_slice(blocks);
    let len = blocks.len() as u32;
    Inode {
        mode: mode::S_IFDIR | perm,
        uid: 0,
        gid: 0,
        size: u64::from(len * geo.block_size),
        atime: time,
        ctime: time,
        mtime: time,
        dtime: 0,
        links,
        blocks: len * (geo.block_size / 512),
        flags: 0,
        block,
        file_acl: 0,
        generation: 0,
    }
}

/// Writes `len` zero bytes at `offset`, a bounded buffer at a time.
fn write_zeros<D: BlockDevice>(dev: &mut D, offset: u64, len: u64) -> Result<(), Error> {
    let zeros = vec![0u8; len.min(64 * 1024) as usize];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(zeros.len() as u64);
        dev.write(offset + done, &zeros[..n as usize])?;
        done += n;
    }
    Ok(())
}

/// Writes group `g`'s metadata: the superblock copy and descriptor `table` if it has them,
/// its bitmaps, and its inode table (zeroed).
fn write_group<D: BlockDevice>(
    dev: &mut D,
    geo: &Geometry,
    g: u32,
    d: &GroupDesc,
    sb: &mut [u8; SUPERBLOCK_SIZE],
    table: &[u8],
) -> Result<(), Error> {
    let (start, len) = geo.group_blocks(g);
    if geo.group_has_super(g) {
        // Each copy records its group, truncated to 16 bits as e2fsprogs does.
        put16(sb, sbf::BLOCK_GROUP_NR, g as u16);
        // The copy's block is zeroed around it; for the primary that is from byte 0, which
        // clears a stale boot sector too, as mke2fs does.
        let at = if g == 0 { SUPERBLOCK_OFFSET } else { geo.block_offset(start) };
        let from = if g == 0 { 0 } else { at };
        let end = geo.block_offset(start + 1).max(at + SUPERBLOCK_SIZE as u64);
        let mut buf = vec![0u8; (end - from) as usize];
        let sb_at = (at - from) as usize;
        buf[sb_at..sb_at + SUPERBLOCK_SIZE].copy_from_slice(sb);
        dev.write(from, &buf)?;
        dev.write(geo.block_offset(start + 1), table)?;
    }
    let bs = geo.block_size;
    let used_blocks = len - u32::from(d.free_blocks);
    dev.write(geo.block_offset(d.block_bitmap), &bitmap_block(bs, used_blocks, len))?;
    let (ipg, used_inodes) =
        (geo.inodes_per_group, geo.inodes_per_group - u32::from(d.free_inodes));
    dev.write(geo.block_offset(d.inode_bitmap), &bitmap_block(bs, used_inodes, ipg))?;
    write_zeros(dev, geo.block_offset(d.inode_table), geo.block_offset(geo.inode_table_blocks))
}

/// Writes the root directory's block (`.`, `..`, `lost+found`) and lost+found's blocks
/// (`.` and `..`, then blocks holding one unused entry each, as e2fsprogs'
/// `ext2fs_expand_dir` writes them).
fn write_directories<D: BlockDevice>(
    dev: &mut D,
    geo: &Geometry,
    root_block: u32,
    lost_found: &[u32],
) -> Result<(), Error> {
    let (bs, filetype) = (geo.block_size as usize, geo.has_filetype());
    let dot = rec_len_for(1);
    let dir = FileType::Directory;
    let entry = |off, child, rec_len, name| Entry { off, child, rec_len, name, ty: dir };
    let mut block = vec![0u8; bs];
    emit_entry(&mut block, entry(0, ROOT_INO, dot, b"."), filetype);
    emit_entry(&mut block, entry(dot, ROOT_INO, dot, b".."), filetype);
    emit_entry(&mut block, entry(2 * dot, LOST_FOUND_INO, bs - 2 * dot, b"lost+found"), filetype);
    dev.write(geo.block_offset(root_block), &block)?;
    for (i, &b) in lost_found.iter().enumerate() {
        block.fill(0);
        if i == 0 {
            emit_entry(&mut block, entry(0, LOST_FOUND_INO, dot, b"."), filetype);
            emit_entry(&mut block, entry(dot, ROOT_INO, bs - dot, b".."), filetype);
        } else {
            let unused = Entry { ty: FileType::Unknown, ..entry(0, 0, bs, b"") };
            emit_entry(&mut block, unused, filetype);
        }
        dev.write(geo.block_offset(b), &block)?;
    }
    Ok(())
}

impl<D: BlockDevice> Filesystem<D> {
    /// Makes a new, empty ext2 filesystem on `dev` and mounts it read-write, its clock set
    /// to `params.time`. The device's size decides the block count (whole blocks; a short
    /// last group that could hold fewer than 50 data blocks is left out, as mke2fs does).
    /// See the [module doc](crate::format) for the layout and which bytes are written.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a block size other than 1024, 2048 or 4096, a reserved
    /// percentage above 50, a device too small for one group with its metadata and
    /// directories or with more than 2^32 - 1 blocks, or an inode count that does not fit
    /// (more than `8 * block_size` per group, or inode tables that leave no room in a
    /// group). Nothing is written in those cases. [`Error::Io`] if the device fails.
    pub fn format(mut dev: D, params: &FormatParams) -> Result<Self, Error> {
        let plan = Plan::new(params, dev.size())?;
        let mut sb = plan.superblock(params);
        // Our own encoding goes through the mount-time checks before anything is written.
        let geo = Geometry::parse(&sb, dev.size())?;
        let dir_blocks = 1 + plan.lost_found_blocks;
        let groups = descriptors(&geo, dir_blocks)?;
        let free_blocks: u32 = groups.iter().map(|d| u32::from(d.free_blocks)).sum();
        let free_inodes: u32 = groups.iter().map(|d| u32::from(d.free_inodes)).sum();
        put32(&mut sb, sbf::FREE_BLOCKS, free_blocks);
        put32(&mut sb, sbf::FREE_INODES, free_inodes);

        let mut table = vec![0u8; geo.gdt_blocks as usize * geo.block_size as usize];
        for (d, raw) in groups.iter().zip(table.chunks_exact_mut(DESC_SIZE)) {
            raw.copy_from_slice(&d.to_bytes());
        }
        for (g, d) in (0..).zip(&groups) {
            write_group(&mut dev, &geo, g, d, &mut sb, &table)?;
        }
        // The directories' blocks follow group 0's inode table: the root's, then lost+found's.
        let root_block = groups[0].inode_table + geo.inode_table_blocks;
        let lost_found: Vec<u32> = (root_block + 1..root_block + dir_blocks).collect();
        write_directories(&mut dev, &geo, root_block, &lost_found)?;
        // Root: `.`, `..` and lost+found's `..` make three links.
        let inodes = [
            (ROOT_INO, dir_inode(0o755, 3, &[root_block], &geo, params.time)),
            (LOST_FOUND_INO, dir_inode(0o700, 2, &lost_found, &geo, params.time)),
        ];
        for (ino, inode) in inodes {
            let (g, index) = InodeNo::new(ino, &geo)?.group_index(&geo);
            let at = geo.block_offset(groups[g as usize].inode_table)
                + u64::from(index) * u64::from(geo.inode_size);
            let mut raw = [0u8; INODE_RECORD];
            inode.emit(&mut raw);
            dev.write(at, &raw)?;
        }

        let mut fs = Filesystem::open(dev)?;
        fs.set_time(params.time);
        Ok(fs)
    }
}
