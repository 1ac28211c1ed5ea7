//! Directories: a file of blocks, each a chain of variable-length entries.
//!
//! An entry is `inode: u32, rec_len: u16, name_len: u8, file_type: u8, name`, and `rec_len`
//! leads to the next entry; the chain of each block ends exactly at the block's end. An
//! entry with inode 0 is unused space. Without the `filetype` feature, `name_len` is 16 bits
//! and there is no type byte.
//!
//! [`parse_entry`] checks an entry against its block before anything reads it. Directories
//! with an htree index (`dir_index`) are read linearly: their index blocks look like one
//! unused entry spanning the block. Since this crate does not maintain the index, any change
//! to a directory clears `EXT2_INDEX_FL`, after which the index blocks are plain free space.

use alloc::vec::Vec;

use crate::bytes::{le16, le32, put16, put32};
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::inode::{FileType, INDEX_FL, Inode, InodeNo};

/// The header before the name.
const HEADER: usize = 8;
/// The longest name.
pub const NAME_MAX: usize = 255;

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The inode the name refers to.
    pub ino: InodeNo,
    /// The name (any bytes but `/` and NUL).
    pub name: Vec<u8>,
    /// The type recorded in the entry ([`FileType::Unknown`] without the filetype feature).
    pub file_type: FileType,
}

/// A checked entry header, at `off` in its block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry {
    pub off: usize,
    pub inode: u32,
    pub rec_len: usize,
    pub name_len: usize,
    pub file_type: u8,
}

impl RawEntry {
    /// Returns the name's bytes in `block` (in range: checked by `parse_entry`).
    pub fn name<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        &block[self.off + HEADER..self.off + HEADER + self.name_len]
    }

    /// Returns the bytes this entry needs; the rest of `rec_len` is free space.
    fn used(&self) -> usize {
        if self.inode == 0 { 0 } else { rec_len_for(self.name_len) }
    }
}

/// Returns the smallest `rec_len` for a name of `len` bytes (header + name, 4-aligned).
pub(crate) fn rec_len_for(len: usize) -> usize {
    (HEADER + len + 3) & !3
}

/// Reads and checks the entry at `off` in `block`.
pub(crate) fn parse_entry(
    block: &[u8],
    off: usize,
    filetype: bool,
    inodes_count: u32,
    ino: InodeNo,
    blk: u32,
) -> Result<RawEntry, Error> {
    let bad = |what| Err(corrupt(what, ino.get(), blk.into()));
    if off + HEADER > block.len() {
        return bad("directory entry header crosses the block end");
    }
    let rec_len = usize::from(le16(block, off + 4));
    let (name_len, file_type) = if filetype {
        (usize::from(block[off + 6]), block[off + 7])
    } else {
        (usize::from(le16(block, off + 6)), 0)
    };
    if rec_len < HEADER || rec_len % 4 != 0 {
        return bad("directory entry rec_len is too small or not 4-aligned");
    }
    if off + rec_len > block.len() {
        return bad("directory entry rec_len crosses the block end");
    }
    if name_len > NAME_MAX || rec_len_for(name_len) > rec_len {
        return bad("directory entry name is longer than its rec_len");
    }
    let inode = le32(block, off);
    if inode > inodes_count {
        return bad("directory entry inode number out of range");
    }
    if inode != 0 && name_len == 0 {
        return bad("directory entry has an empty name");
    }
    Ok(RawEntry { off, inode, rec_len, name_len, file_type })
}

/// An entry to write into a directory block.
pub(crate) struct Entry<'a> {
    /// Where in the block.
    pub off: usize,
    /// The inode it names (0 for unused space).
    pub child: u32,
    /// Its length, up to the next entry or the block end.
    pub rec_len: usize,
    /// The name (checked by the caller).
    pub name: &'a [u8],
    /// The type byte, written only with the `filetype` feature.
    pub ty: FileType,
}

/// Writes entry `e` into `block`, which must have room for it at `e.off`.
pub(crate) fn emit_entry(block: &mut [u8], e: Entry<'_>, filetype: bool) {
    let off = e.off;
    put32(block, off, e.child);
    put16(block, off + 4, e.rec_len as u16);
    if filetype {
        block[off + 6] = e.name.len() as u8;
        block[off + 7] = e.ty.dirent_type();
    } else {
        put16(block, off + 6, e.name.len() as u16);
    }
    block[off + HEADER..off + HEADER + e.name.len()].copy_from_slice(e.name);
}

/// Where an entry was found: its block, header, and the header before it in the block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub phys: u32,
    pub entry: RawEntry,
    pub prev_off: Option<usize>,
}

/// Checks a name for use in a new entry.
pub(crate) fn check_name(name: &[u8]) -> Result<(), Error> {
    if name.len() > NAME_MAX {
        return Err(Error::NameTooLong);
    }
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(Error::InvalidArgument("name is empty or contains '/' or NUL"));
    }
    if name == b"." || name == b".." {
        return Err(Error::InvalidArgument("name is . or .."));
    }
    Ok(())
}

impl<D: BlockDevice> Filesystem<D> {
    /// Reads directory `ino` and fails unless it is one.
    pub(crate) fn read_dir_inode(&self, ino: InodeNo) -> Result<Inode, Error> {
        let i = self.read_inode(ino)?;
        if i.file_type() != FileType::Directory {
            return Err(Error::NotDir);
        }
        Ok(i)
    }

    /// Calls `f` on every entry (used or not) of directory `ino`, block by block, until it
    /// returns `Some`. A directory's size must be whole blocks, and it may have no holes.
    pub(crate) fn scan_dir<T>(
        &self,
        ino: InodeNo,
        dir: &Inode,
        mut f: impl FnMut(u32, &[u8], &RawEntry, Option<usize>) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        let bs = u64::from(self.geo.block_size);
        if !dir.size.is_multiple_of(bs) {
            return Err(corrupt(
                "directory size is not a multiple of the block size",
                ino.get(),
                0,
            ));
        }
        // Without this, a 4 GiB directory whose pointers all name one block would take
        // millions of reads on a tiny disk: keep the work bounded by the device.
        if dir.size > self.geo.block_offset(self.geo.blocks_count) {
            return Err(corrupt("directory larger than the filesystem", ino.get(), 0));
        }
        let mut block = self.block_buf();
        for lblk in 0..dir.size / bs {
            let phys =
                self.bmap(ino, dir, lblk)?.ok_or(corrupt("hole in a directory", ino.get(), 0))?;
            self.read_block(phys, &mut block)?;
            let (mut off, mut prev) = (0, None);
            while off < block.len() {
                let e = parse_entry(
                    &block,
                    off,
                    self.geo.has_filetype(),
                    self.geo.inodes_count,
                    ino,
                    phys,
                )?;
                if let Some(t) = f(phys, &block, &e, prev) {
                    return Ok(Some(t));
                }
                prev = Some(off);
                off += e.rec_len;
            }
        }
        Ok(None)
    }

    /// Finds the entry called `name` in directory `ino`.
    pub(crate) fn find_entry(
        &self,
        ino: InodeNo,
        dir: &Inode,
        name: &[u8],
    ) -> Result<Found, Error> {
        self.scan_dir(ino, dir, |phys, block, e, prev_off| {
            (e.inode != 0 && e.name(block) == name).then_some(Found { phys, entry: *e, prev_off })
        })?
        .ok_or(Error::NotFound)
    }

    /// Lists directory `ino`, `.` and `..` included.
    pub(crate) fn list_dir(&self, ino: InodeNo) -> Result<Vec<DirEntry>, Error> {
        let dir = self.read_dir_inode(ino)?;
        let mut out = Vec::new();
        let mut bad = None;
        self.scan_dir(ino, &dir, |_, block, e, _| {
            if e.inode == 0 {
                return None;
            }
            match InodeNo::new(e.inode, &self.geo) {
                Ok(child) => out.push(DirEntry {
                    ino: child,
                    name: e.name(block).to_vec(),
                    file_type: FileType::from_dirent_type(e.file_type),
                }),
                Err(err) => bad = Some(err),
            }
            bad.map(|_| ())
        })?;
        match bad {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }

    /// Returns whether directory `ino` holds nothing but `.` and `..`.
    pub(crate) fn dir_is_empty(&self, ino: InodeNo, dir: &Inode) -> Result<bool, Error> {
        let other = self.scan_dir(ino, dir, |_, block, e, _| {
            (e.inode != 0 && e.name(block) != b"." && e.name(block) != b"..").then_some(())
        })?;
        Ok(other.is_none())
    }

    /// Writes an entry header and name at `off` in `block`.
    fn put_entry(
        &self,
        block: &mut [u8],
        off: usize,
        child: u32,
        rec_len: usize,
        name: &[u8],
        ty: FileType,
    ) {
        let filetype = self.geo.has_filetype();
        emit_entry(block, Entry { off, child, rec_len, name, ty }, filetype);
    }

    /// Stamps a directory as changed: times, and the htree flag cleared (see module doc).
    fn dir_changed(&self, dir: &mut Inode) {
        dir.mtime = self.now;
        dir.ctime = self.now;
        dir.flags &= !INDEX_FL;
    }

    /// Adds entry `name` → `child` to directory `ino`, growing it by a block if no block
    /// has room. The caller has checked the name and that it does not exist yet.
    pub(crate) fn add_entry(
        &mut self,
        ino: InodeNo,
        name: &[u8],
        child: InodeNo,
        ty: FileType,
    ) -> Result<(), Error> {
        let mut dir = self.read_dir_inode(ino)?;
        let need = rec_len_for(name.len());
        let spot = self.scan_dir(ino, &dir, |phys, _, e, _| {
            (e.rec_len - e.used() >= need).then_some((phys, *e))
        })?;
        let mut block = self.block_buf();
        match spot {
            Some((phys, e)) => {
                self.read_block(phys, &mut block)?;
                if e.inode == 0 {
                    self.put_entry(&mut block, e.off, child.get(), e.rec_len, name, ty);
                } else {
                    let used = e.used();
                    put16(&mut block, e.off + 4, used as u16);
                    self.put_entry(
                        &mut block,
                        e.off + used,
                        child.get(),
                        e.rec_len - used,
                        name,
                        ty,
                    );
                }
                self.write_block(phys, &block)?;
            }
            None => {
                let lblk = dir.size / u64::from(self.geo.block_size);
                let grown = self.bmap_alloc(ino, &mut dir, lblk);
                if let Ok((phys, _)) = grown {
                    let len = block.len();
                    self.put_entry(&mut block, 0, child.get(), len, name, ty);
                    self.write_block(phys, &block)?;
                    dir.size += u64::from(self.geo.block_size);
                }
                if let Err(e) = grown {
                    // Indirect blocks may have been linked before the failure: keep them
                    // counted, and report the failure.
                    self.write_inode(ino, &dir)?;
                    return Err(e);
                }
            }
        }
        self.dir_changed(&mut dir);
        self.write_inode(ino, &dir)
    }

    /// Removes entry `name` from directory `ino`, returning the inode it named. The space
    /// joins the previous entry in the block, or the entry becomes unused if it is first.
    pub(crate) fn remove_entry(&mut self, ino: InodeNo, name: &[u8]) -> Result<InodeNo, Error> {
        let mut dir = self.read_dir_inode(ino)?;
        let found = self.find_entry(ino, &dir, name)?;
        let child = InodeNo::new(found.entry.inode, &self.geo)?;
        let mut block = self.block_buf();
        self.read_block(found.phys, &mut block)?;
        match found.prev_off {
            Some(prev) => {
                let merged = usize::from(le16(&block, prev + 4)) + found.entry.rec_len;
                put16(&mut block, prev + 4, merged as u16);
            }
            None => put32(&mut block, found.entry.off, 0),
        }
        self.write_block(found.phys, &block)?;
        self.dir_changed(&mut dir);
        self.write_inode(ino, &dir)?;
        Ok(child)
    }

    /// Points existing entry `name` of directory `ino` at `child` (rename over a target,
    /// and `..` of a moved directory). Returns the inode it named before.
    pub(crate) fn retarget_entry(
        &mut self,
        ino: InodeNo,
        name: &[u8],
        child: InodeNo,
        ty: FileType,
    ) -> Result<InodeNo, Error> {
        let mut dir = self.read_dir_inode(ino)?;
        let found = self.find_entry(ino, &dir, name)?;
        let old = InodeNo::new(found.entry.inode, &self.geo)?;
        let mut block = self.block_buf();
        self.read_block(found.phys, &mut block)?;
        put32(&mut block, found.entry.off, child.get());
        if self.geo.has_filetype() {
            block[found.entry.off + 7] = ty.dirent_type();
        }
        self.write_block(found.phys, &block)?;
        self.dir_changed(&mut dir);
        self.write_inode(ino, &dir)?;
        Ok(old)
    }

    /// Writes the first block of a new directory: `.` → `ino` and `..` → `parent`.
    pub(crate) fn init_dir_block(
        &mut self,
        phys: u32,
        ino: InodeNo,
        parent: InodeNo,
    ) -> Result<(), Error> {
        let mut block = self.block_buf();
        let dot = rec_len_for(1);
        let len = block.len();
        self.put_entry(&mut block, 0, ino.get(), dot, b".", FileType::Directory);
        self.put_entry(&mut block, dot, parent.get(), len - dot, b"..", FileType::Directory);
        self.write_block(phys, &block)
    }
}
