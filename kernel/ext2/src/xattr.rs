//! Extended-attribute blocks, only as far as deleting an inode needs.
//!
//! This crate does not read or write attributes. An inode's `i_file_acl` names a block of
//! attributes that several inodes may share, counted by `h_refcount` in the block's header.
//! Deleting an inode drops one reference, and frees the block with the last one.

use crate::bytes::{le32, put32};
use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::inode::InodeNo;

/// `h_magic` of an attribute block.
const XATTR_MAGIC: u32 = 0xEA02_0000;
const REFCOUNT: usize = 4;

impl<D: BlockDevice> Filesystem<D> {
    /// Drops inode `ino`'s reference to attribute block `b`.
    pub(crate) fn release_xattr_block(&mut self, ino: InodeNo, b: u32) -> Result<(), Error> {
        let b = self.check_block(b, ino)?;
        let mut block = self.block_buf();
        self.read_block(b, &mut block)?;
        if le32(&block, 0) != XATTR_MAGIC {
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
