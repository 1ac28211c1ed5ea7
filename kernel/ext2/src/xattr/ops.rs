//! The attribute operations of [`Filesystem`]: list, get, set, remove, and dropping an
//! inode's reference when it is deleted.
//!
//! Every change rebuilds the whole block from the parsed attributes (see `block.rs`), so
//! the result depends only on the attributes, not on the order they were set in. A block
//! this inode alone uses (`h_refcount` 1) is rewritten in place; a block Linux shares
//! between inodes with the same attributes is left to the others: this inode gets a
//! block of its own and the shared one loses a reference. This crate does not share
//! blocks itself.

use alloc::vec::Vec;

use super::block::{self, Attr, AttrBlock};
use super::{acl, name};
use crate::bytes::{le32, put32};
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::inode::{Inode, InodeNo};

/// Where `h_refcount` is in the block.
const REFCOUNT: usize = 4;

/// An inode's attribute block as read: where it is, and what it holds.
struct Stored {
    block: u32,
    parsed: AttrBlock,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Lists the names of inode `ino`'s extended attributes (`user.mime_type`,
    /// `system.posix_acl_access`, ...), in the order they are stored.
    ///
    /// Entries with a namespace index this crate has no prefix for are skipped, as
    /// Linux's ext2 skips them; they stay on the disk.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the attribute block pointer or the block is damaged.
    pub fn list_xattrs(&self, ino: InodeNo) -> Result<Vec<Vec<u8>>, Error> {
        let inode = self.read_inode(ino)?;
        let Some(stored) = self.read_xattr_block(ino, &inode)? else { return Ok(Vec::new()) };
        Ok(stored.parsed.attrs.iter().filter_map(|a| name::join(a.index, &a.name)).collect())
    }

    /// Returns the value of inode `ino`'s extended attribute `name`. A POSIX ACL comes in
    /// the form `getxattr` returns on Linux.
    ///
    /// # Errors
    /// [`Error::NoSuchAttribute`]; [`Error::UnknownAttributeNamespace`],
    /// [`Error::InvalidArgument`] or [`Error::NameTooLong`] for a name ext2 cannot hold;
    /// [`Error::Corrupt`] if the attribute block is damaged.
    pub fn get_xattr(&self, ino: InodeNo, name: &[u8]) -> Result<Vec<u8>, Error> {
        let (index, rest) = name::split(name)?;
        let inode = self.read_inode(ino)?;
        let stored = self.read_xattr_block(ino, &inode)?.ok_or(Error::NoSuchAttribute)?;
        let attr =
            stored.parsed.attrs.iter().find(|a| a.is(index, rest)).ok_or(Error::NoSuchAttribute)?;
        if name::is_acl(index) {
            return acl::from_disk(&attr.value, ino.get(), stored.block);
        }
        Ok(attr.value.clone())
    }

    /// Sets inode `ino`'s extended attribute `name` to `value`, adding it or replacing its
    /// value. A POSIX ACL is given in the form `setxattr` takes on Linux, and stored in
    /// ext2's. Sets the change time, and the filesystem's `ext_attr` feature with the
    /// first attribute block.
    ///
    /// # Errors
    /// [`Error::UnknownAttributeNamespace`], [`Error::InvalidArgument`] (also for a POSIX
    /// ACL that is not well formed) or [`Error::NameTooLong`] for the name;
    /// [`Error::AttributesTooLarge`] if the inode's attributes would not fit in one block;
    /// [`Error::NoSpace`] if a block is needed and none is free; [`Error::Unsupported`] on
    /// a revision 0 filesystem, which cannot record the feature; [`Error::ReadOnly`];
    /// [`Error::Corrupt`] if the present attribute block is damaged. Nothing is changed
    /// when an error is returned, except on a failing device.
    pub fn set_xattr(&mut self, ino: InodeNo, name: &[u8], value: &[u8]) -> Result<(), Error> {
        self.writable()?;
        let (index, rest) = name::split(name)?;
        let value = if name::is_acl(index) { acl::to_disk(value)? } else { value.to_vec() };
        let mut inode = self.read_inode(ino)?;
        let stored = self.read_xattr_block(ino, &inode)?;
        let mut attrs = stored.as_ref().map(|s| s.parsed.attrs.clone()).unwrap_or_default();
        attrs.retain(|a| !a.is(index, rest));
        attrs.push(Attr { index, name: rest.to_vec(), value });
        self.store_xattrs(ino, &mut inode, stored, attrs)
    }

    /// Removes inode `ino`'s extended attribute `name`; with the last one, the attribute
    /// block goes too. Sets the change time.
    ///
    /// # Errors
    /// [`Error::NoSuchAttribute`], [`Error::ReadOnly`], and the name and corruption errors
    /// of [`Filesystem::set_xattr`].
    pub fn remove_xattr(&mut self, ino: InodeNo, name: &[u8]) -> Result<(), Error> {
        self.writable()?;
        let (index, rest) = name::split(name)?;
        let mut inode = self.read_inode(ino)?;
        let stored = self.read_xattr_block(ino, &inode)?.ok_or(Error::NoSuchAttribute)?;
        let mut attrs = stored.parsed.attrs.clone();
        let before = attrs.len();
        attrs.retain(|a| !a.is(index, rest));
        if attrs.len() == before {
            return Err(Error::NoSuchAttribute);
        }
        self.store_xattrs(ino, &mut inode, Some(stored), attrs)
    }

    /// Reads and checks `inode`'s attribute block, if it has one.
    fn read_xattr_block(&self, ino: InodeNo, inode: &Inode) -> Result<Option<Stored>, Error> {
        if inode.file_acl == 0 {
            return Ok(None);
        }
        let block = self.check_block(inode.file_acl, ino)?;
        let mut buf = self.block_buf();
        self.read_block(block, &mut buf)?;
        let parsed = AttrBlock::parse(&buf, ino.get(), block)?;
        Ok(Some(Stored { block, parsed }))
    }

    /// Makes `attrs` the attributes of `inode` (number `ino`, whose block as read is
    /// `stored`), and writes the inode.
    fn store_xattrs(
        &mut self,
        ino: InodeNo,
        inode: &mut Inode,
        stored: Option<Stored>,
        mut attrs: Vec<Attr>,
    ) -> Result<(), Error> {
        let sectors = self.geo.block_size / 512;
        let mut release = None;
        if attrs.is_empty() {
            release = stored.map(|s| s.block);
            inode.file_acl = 0;
            inode.blocks = inode.blocks.saturating_sub(sectors);
        } else {
            block::sort(&mut attrs);
            let bytes = block::build(&attrs, self.geo.block_size as usize)?;
            match stored {
                Some(s) if s.parsed.refcount <= 1 => self.write_block(s.block, &bytes)?,
                shared_or_none => {
                    self.enable_ext_attr()?;
                    let goal = ino.group_index(&self.geo).0;
                    let new = self.alloc_block(goal, false)?;
                    if let Err(e) = self.write_block(new, &bytes) {
                        // Best effort: the write error is the one to report.
                        let _ = self.free_block(new);
                        return Err(e);
                    }
                    match shared_or_none {
                        Some(s) => release = Some(s.block),
                        None => inode.blocks = inode.blocks.saturating_add(sectors),
                    }
                    inode.file_acl = new;
                }
            }
        }
        inode.ctime = self.now;
        // The inode stops pointing at the old block before that block is released.
        self.write_inode(ino, inode)?;
        match release {
            Some(b) => self.release_xattr_block(ino, b),
            None => Ok(()),
        }
    }

    /// Drops inode `ino`'s reference to attribute block `b`, freeing the block with the
    /// last one.
    pub(crate) fn release_xattr_block(&mut self, ino: InodeNo, b: u32) -> Result<(), Error> {
        let b = self.check_block(b, ino)?;
        let mut block = self.block_buf();
        self.read_block(b, &mut block)?;
        if le32(&block, 0) != block::MAGIC {
            return Err(corrupt("attribute block has a bad magic", ino.get(), b.into()));
        }
        let refs = le32(&block, REFCOUNT);
        if refs <= 1 {
            self.free_block(b)
        } else {
            put32(&mut block, REFCOUNT, refs - 1);
            self.write_block(b, &block)
        }
    }
}
