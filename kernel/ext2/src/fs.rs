//! The mounted filesystem: the validated superblock and descriptors, and the device.
//!
//! [`Filesystem::open`] reads and checks the superblock and every group descriptor; after
//! that, the descriptors live in memory and [`Filesystem::sync`] writes them (and the free
//! counts in the superblock) back. Inodes, bitmaps, directories and data are read from the
//! device on every use: there is no cache here, because the kernel's page cache and block
//! cache sit above and below this crate.
//!
//! The operations are spread over the files that own them: `file.rs` (read, write,
//! truncate, readlink), `namespace.rs` (lookup, create, link, unlink, rename, ...),
//! `dir.rs` (directory blocks), `bmap.rs` (block maps), `bitmap.rs` (allocation) and
//! `xattr/` (extended attributes).

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::put32;
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::group::{DESC_SIZE, GroupDesc, Layout};
use crate::inode::{FileType, INODE_RECORD, Inode, InodeNo, Metadata, mode as imode};
use crate::superblock::{
    Geometry, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, compat, field as sbf, ro_compat,
};

/// A mounted ext2 filesystem on the device `D`.
///
/// Reading takes `&self`; anything that changes the disk takes `&mut self`, so a caller that
/// shares the filesystem between threads puts it behind one lock (or a reader-writer lock).
pub struct Filesystem<D: BlockDevice> {
    pub(crate) dev: D,
    pub(crate) geo: Geometry,
    /// The primary superblock as read, so unknown fields are written back unchanged.
    sb: [u8; SUPERBLOCK_SIZE],
    pub(crate) groups: Vec<GroupDesc>,
    read_only: bool,
    /// The time stamped on inodes this filesystem changes (see [`Filesystem::set_time`]).
    pub(crate) now: u32,
    /// Whether a non-directory that loses its last name is kept (links 0) for
    /// [`Filesystem::release_unlinked`] instead of freed (see [`Filesystem::keep_unlinked`]).
    pub(crate) keep_unlinked: bool,
    /// The block after the last data or indirect block allocated, and for which inode: the
    /// first place that inode's next block is looked for (see `Filesystem::alloc_block_for`).
    pub(crate) next_alloc: Option<(InodeNo, u32)>,
}

/// What `statfs` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFs {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks on the filesystem.
    pub blocks: u32,
    /// Free blocks.
    pub free_blocks: u64,
    /// Blocks that only root may take (`s_r_blocks_count`).
    pub reserved_blocks: u32,
    /// Blocks that hold metadata rather than files: the superblock copies and descriptor
    /// tables, the bitmaps and the inode tables (Linux's `df` leaves them out of the size).
    pub overhead_blocks: u32,
    /// Inodes on the filesystem.
    pub inodes: u32,
    /// Free inodes.
    pub free_inodes: u64,
    /// The longest file name.
    pub name_max: u32,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Mounts the filesystem on `dev`: read-write, unless it has RO_COMPAT features this
    /// crate does not know.
    ///
    /// # Errors
    /// [`Error::Corrupt`] or [`Error::Unsupported`] if the superblock or a descriptor fails
    /// validation; [`Error::Io`] if the device does.
    pub fn open(dev: D) -> Result<Self, Error> {
        let mut sb = [0u8; SUPERBLOCK_SIZE];
        dev.read(SUPERBLOCK_OFFSET, &mut sb)?;
        let geo = Geometry::parse(&sb, dev.size())?;
        let mut groups = Vec::with_capacity(geo.group_count as usize);
        let mut table = vec![0u8; geo.gdt_blocks as usize * geo.block_size as usize];
        dev.read(geo.block_offset(geo.first_data_block + 1), &mut table)?;
        for (g, raw) in table.chunks_exact(DESC_SIZE).take(geo.group_count as usize).enumerate() {
            let mut d = [0u8; DESC_SIZE];
            d.copy_from_slice(raw);
            groups.push(GroupDesc::parse(d, g as u32, &geo)?);
        }
        let read_only = geo.read_only;
        Ok(Filesystem {
            dev,
            geo,
            sb,
            groups,
            read_only,
            now: 0,
            keep_unlinked: false,
            next_alloc: None,
        })
    }

    /// Mounts the filesystem on `dev` for reading only.
    ///
    /// # Errors
    /// As [`Filesystem::open`].
    pub fn open_read_only(dev: D) -> Result<Self, Error> {
        let mut fs = Self::open(dev)?;
        fs.read_only = true;
        Ok(fs)
    }

    /// Switches between read-only and read-write (a remount). Call [`Filesystem::sync`]
    /// before going read-only to keep what was written.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] to go read-write on a filesystem with RO_COMPAT features this
    /// crate does not know.
    pub fn set_read_only(&mut self, read_only: bool) -> Result<(), Error> {
        if !read_only && self.geo.read_only {
            return Err(Error::ReadOnly);
        }
        self.read_only = read_only;
        Ok(())
    }

    /// Gives the device back (call [`Filesystem::sync`] first to keep changes).
    pub fn into_device(self) -> D {
        self.dev
    }

    /// Returns the validated geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Returns whether writes are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Sets the time (seconds since the epoch) stamped on inodes from now on.
    ///
    /// The crate has no clock of its own; the kernel sets this before each operation.
    pub fn set_time(&mut self, secs: u32) {
        self.now = secs;
    }

    /// Keeps the inode of a file whose last name goes away (unlink, or rename over it) with
    /// a link count of 0 instead of freeing it, so that a kernel can go on reading and
    /// writing it while it is open; the kernel calls [`Filesystem::release_unlinked`] at the
    /// last close. Until then the inode and its blocks stay allocated (after a crash,
    /// `e2fsck` finds and frees them, as it does for Linux's ext2).
    pub fn keep_unlinked(&mut self, keep: bool) {
        self.keep_unlinked = keep;
    }

    /// Returns the root directory.
    pub fn root(&self) -> InodeNo {
        InodeNo::ROOT
    }

    /// Checks an inode number supplied by the caller.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if it is 0 or above the inode count.
    pub fn inode_no(&self, n: u32) -> Result<InodeNo, Error> {
        InodeNo::new(n, &self.geo)
    }

    /// Returns the metadata of `ino`.
    ///
    /// # Errors
    /// [`Error::Io`] if the inode cannot be read.
    pub fn stat(&self, ino: InodeNo) -> Result<Metadata, Error> {
        let i = self.read_inode(ino)?;
        let file_type = i.file_type();
        let rdev = match file_type {
            FileType::CharDevice | FileType::BlockDevice => decode_dev(&i),
            _ => 0,
        };
        Ok(Metadata {
            ino: ino.get(),
            file_type,
            mode: i.mode,
            uid: i.uid,
            gid: i.gid,
            size: i.size,
            links: i.links,
            blocks: i.blocks,
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            rdev,
        })
    }

    /// Returns the generation number of `ino` (what NFS and file handles tell its
    /// incarnations apart by), or `None` if the inode is not in use: no links, and freed
    /// (a deletion time) or never used (mode 0), as Linux's `ext2_iget` refuses it.
    ///
    /// # Errors
    /// [`Error::Io`] if the inode cannot be read.
    pub fn generation(&self, ino: InodeNo) -> Result<Option<u32>, Error> {
        let i = self.read_inode(ino)?;
        let free = i.links == 0 && (i.mode == 0 || i.dtime != 0);
        Ok(if free { None } else { Some(i.generation) })
    }

    /// Returns the filesystem-wide counts.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: self.geo.block_size,
            blocks: self.geo.blocks_count,
            free_blocks: self.groups.iter().map(|g| u64::from(g.free_blocks)).sum(),
            reserved_blocks: crate::bytes::le32(&self.sb, sbf::R_BLOCKS_COUNT),
            overhead_blocks: self.overhead_blocks(),
            inodes: self.geo.inodes_count,
            free_inodes: self.groups.iter().map(|g| u64::from(g.free_inodes)).sum(),
            name_max: 255,
        }
    }

    /// Returns the blocks that are not for files: those before the first group, and in each
    /// group its superblock copy and descriptor tables (where it has them), its two bitmaps
    /// and its inode table. Each term is bounded by the validated geometry.
    fn overhead_blocks(&self) -> u32 {
        let per_group =
            |g: u32| Layout::super_blocks(&self.geo, g) + 2 + self.geo.inode_table_blocks;
        (0..self.geo.group_count)
            .map(per_group)
            .fold(self.geo.first_data_block, u32::saturating_add)
            .min(self.geo.blocks_count)
    }

    /// Writes the group descriptors and the superblock's free counts back to the device.
    ///
    /// Only the primary copies are written, as Linux does; `e2fsck` refreshes the backups.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] on a read-only mount; [`Error::Io`] if the device fails.
    pub fn sync(&mut self) -> Result<(), Error> {
        self.writable()?;
        let bs = self.geo.block_size as usize;
        let mut table = vec![0u8; self.geo.gdt_blocks as usize * bs];
        let table_at = self.geo.block_offset(self.geo.first_data_block + 1);
        // Read first, so the padding after the last descriptor is kept as it was.
        self.dev.read(table_at, &mut table)?;
        for (d, raw) in self.groups.iter().zip(table.chunks_exact_mut(DESC_SIZE)) {
            raw.copy_from_slice(&d.to_bytes());
        }
        self.dev.write(table_at, &table)?;
        let s = self.statfs();
        put32(&mut self.sb, sbf::FREE_BLOCKS, s.free_blocks as u32);
        put32(&mut self.sb, sbf::FREE_INODES, s.free_inodes as u32);
        self.dev.write(SUPERBLOCK_OFFSET, &self.sb)?;
        Ok(())
    }

    /// Fails with [`Error::ReadOnly`] unless writes are allowed.
    pub(crate) fn writable(&self) -> Result<(), Error> {
        if self.read_only { Err(Error::ReadOnly) } else { Ok(()) }
    }

    /// Records that a file of `size` bytes exists, setting the large_file feature if needed.
    pub(crate) fn note_file_size(&mut self, size: u64) {
        if size >= 1 << 31 && self.geo.ro_compat & ro_compat::LARGE_FILE == 0 {
            self.geo.ro_compat |= ro_compat::LARGE_FILE;
            put32(&mut self.sb, sbf::FEATURE_RO_COMPAT, self.geo.ro_compat);
        }
    }

    /// Records that an inode has an extended-attribute block, setting the `ext_attr`
    /// feature if needed (written by the next [`Filesystem::sync`]).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a revision 0 filesystem, which has no feature fields.
    pub(crate) fn enable_ext_attr(&mut self) -> Result<(), Error> {
        if self.geo.compat & compat::EXT_ATTR != 0 {
            return Ok(());
        }
        let rev = crate::bytes::le32(&self.sb, sbf::REV_LEVEL);
        if rev == 0 {
            return Err(Error::Unsupported { what: "extended attributes on revision", value: 0 });
        }
        self.geo.compat |= compat::EXT_ATTR;
        put32(&mut self.sb, sbf::FEATURE_COMPAT, self.geo.compat);
        Ok(())
    }

    /// Returns the byte offset of inode `ino`'s slot.
    fn inode_offset(&self, ino: InodeNo) -> Result<u64, Error> {
        let (g, index) = ino.group_index(&self.geo);
        let d = self.groups.get(g as usize).ok_or(corrupt("inode group", ino.get(), 0))?;
        Ok(self.geo.block_offset(d.inode_table) + u64::from(index) * u64::from(self.geo.inode_size))
    }

    /// Reads inode `ino`.
    pub(crate) fn read_inode(&self, ino: InodeNo) -> Result<Inode, Error> {
        let mut raw = [0u8; INODE_RECORD];
        self.dev.read(self.inode_offset(ino)?, &mut raw)?;
        Ok(Inode::parse(&raw))
    }

    /// Writes inode `ino`, keeping the on-disk bytes this crate does not interpret.
    pub(crate) fn write_inode(&mut self, ino: InodeNo, inode: &Inode) -> Result<(), Error> {
        let at = self.inode_offset(ino)?;
        let mut raw = [0u8; INODE_RECORD];
        self.dev.read(at, &mut raw)?;
        inode.emit(&mut raw);
        self.dev.write(at, &raw)?;
        Ok(())
    }

    /// Zeroes inode `ino`'s whole slot (a freshly allocated inode starts from nothing).
    pub(crate) fn clear_inode_slot(&mut self, ino: InodeNo) -> Result<(), Error> {
        let at = self.inode_offset(ino)?;
        self.dev.write(at, &vec![0u8; self.geo.inode_size as usize])?;
        Ok(())
    }

    /// Reads, changes and writes back inode `ino`.
    pub(crate) fn update_inode(
        &mut self,
        ino: InodeNo,
        f: impl FnOnce(&mut Inode) -> Result<(), Error>,
    ) -> Result<Inode, Error> {
        let mut i = self.read_inode(ino)?;
        f(&mut i)?;
        self.write_inode(ino, &i)?;
        Ok(i)
    }

    /// Checks a block pointer read from inode `ino`: in range and not metadata.
    pub(crate) fn check_block(&self, b: u32, ino: InodeNo) -> Result<u32, Error> {
        if b < self.geo.first_data_block || b >= self.geo.blocks_count {
            return Err(corrupt("block pointer outside the filesystem", ino.get(), b.into()));
        }
        if Layout::is_metadata(&self.geo, &self.groups, b) {
            return Err(corrupt("block pointer into metadata", ino.get(), b.into()));
        }
        Ok(b)
    }

    /// Reads block `b` (already checked) into `buf` (one block long).
    pub(crate) fn read_block(&self, b: u32, buf: &mut [u8]) -> Result<(), Error> {
        self.dev.read(self.geo.block_offset(b), buf)?;
        Ok(())
    }

    /// Writes `buf` (one block long) to block `b` (already checked).
    pub(crate) fn write_block(&mut self, b: u32, buf: &[u8]) -> Result<(), Error> {
        self.dev.write(self.geo.block_offset(b), buf)?;
        Ok(())
    }

    /// Returns a zeroed buffer of one block.
    pub(crate) fn block_buf(&self) -> Vec<u8> {
        vec![0u8; self.geo.block_size as usize]
    }

    /// Returns the mode bits for a new inode of type `ty` with permissions `perm`.
    pub(crate) fn mode_of(ty: u16, perm: u16) -> u16 {
        (ty & imode::S_IFMT) | (perm & 0o7777)
    }
}

/// Returns a device inode's number in Linux's `new_encode_dev` form: Linux's ext2 stores
/// numbers that fit the old 8:8 encoding in `i_block[0]` (where both encodings agree) and
/// the others in `i_block[1]`, with `i_block[0]` left 0.
fn decode_dev(i: &Inode) -> u32 {
    if i.block[0] != 0 { i.block[0] } else { i.block[1] }
}
