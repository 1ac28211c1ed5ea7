//! File contents: read, write, truncate, and symlink targets.
//!
//! Reads go straight from the device into the caller's buffer, one access per run of
//! adjacent blocks (`runs.rs`); holes read as zeros. Writes allocate blocks as they go (a new block that is only partly written is
//! zeroed first, so no stale disk contents become readable), and truncation frees the blocks
//! past the new end and zeroes the tail of the last one, so that growing the file again
//! reads zeros there.

use alloc::vec::Vec;

use crate::dev::BlockDevice;
use crate::error::{Error, corrupt};
use crate::fs::Filesystem;
use crate::inode::{FAST_SYMLINK_MAX, FileType, Inode, InodeNo};
use crate::runs::DataRun;

impl<D: BlockDevice> Filesystem<D> {
    /// Reads a regular file's inode, or says why it is not one.
    fn regular(&self, ino: InodeNo) -> Result<Inode, Error> {
        let i = self.read_inode(ino)?;
        match i.file_type() {
            FileType::Regular => Ok(i),
            FileType::Directory => Err(Error::IsDir),
            _ => Err(Error::InvalidArgument("not a regular file")),
        }
    }

    /// Reads from regular file `ino` at `offset` into `buf`; returns the bytes read (0 at or
    /// past the end of the file).
    ///
    /// # Errors
    /// [`Error::IsDir`] for a directory, [`Error::InvalidArgument`] for other non-regular
    /// files, [`Error::Corrupt`] for a bad block pointer.
    pub fn read(&self, ino: InodeNo, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let inode = self.regular(ino)?;
        if offset >= inode.size {
            return Ok(0);
        }
        let n = (inode.size - offset).min(buf.len() as u64) as usize;
        for run in self.runs(ino, &inode, offset, n as u64)? {
            let start = (run.file_offset - offset) as usize;
            let out = &mut buf[start..start + run.len as usize];
            match run.disk_offset {
                None => out.fill(0),
                Some(at) => self.dev.read(at, out)?,
            }
        }
        Ok(n)
    }

    /// Returns where bytes `offset..offset + len` of regular file `ino` lie on the disk
    /// (cut at the end of the file), as runs in file order: what a caller needs to move the
    /// data itself (direct I/O).
    ///
    /// # Errors
    /// As [`Filesystem::read`].
    pub fn data_runs(&self, ino: InodeNo, offset: u64, len: u64) -> Result<Vec<DataRun>, Error> {
        let inode = self.regular(ino)?;
        let len = len.min(inode.size.saturating_sub(offset));
        self.runs(ino, &inode, offset, len)
    }

    /// Writes `data` to regular file `ino` at `offset`, allocating blocks (and indirect
    /// blocks) as needed and growing the file. Returns the bytes written, which is short
    /// only if the disk filled up after some bytes were written.
    ///
    /// # Errors
    /// [`Error::FileTooLarge`] past the largest file size, [`Error::NoSpace`] if not even
    /// one byte fits, [`Error::ReadOnly`], and the errors of [`Filesystem::read`].
    pub fn write(&mut self, ino: InodeNo, offset: u64, data: &[u8]) -> Result<usize, Error> {
        self.writable()?;
        let mut inode = self.regular(ino)?;
        let end = offset.checked_add(data.len() as u64).ok_or(Error::FileTooLarge)?;
        if end > self.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        let bs = u64::from(self.geo.block_size);
        let mut done = 0;
        let mut failed = None;
        while done < data.len() {
            let pos = offset + done as u64;
            let within = pos % bs;
            let chunk = ((bs - within) as usize).min(data.len() - done);
            let (b, fresh) = match self.bmap_alloc(ino, &mut inode, pos / bs) {
                Ok(v) => v,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            if fresh && chunk as u64 != bs {
                let zero = self.block_buf();
                self.write_block(b, &zero)?;
            }
            self.dev.write(self.geo.block_offset(b) + within, &data[done..done + chunk])?;
            done += chunk;
        }
        if done > 0 {
            inode.size = inode.size.max(offset + done as u64);
            inode.mtime = self.now;
            inode.ctime = self.now;
            self.note_file_size(inode.size);
        }
        // Written even on failure: blocks allocated before it hang off the inode.
        self.write_inode(ino, &inode)?;
        match failed {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// Makes room for a write of `len` bytes at `offset` in regular file `ino` whose data
    /// the caller puts on the device itself (direct I/O), and returns where the bytes go, in
    /// file order. Blocks are allocated only past the end of the file, as Linux's ext2 does
    /// for direct I/O: a hole inside the file gives `None`, and the caller writes through the
    /// cache instead (a new block there would show its old contents to readers if the write
    /// failed before filling it). A new block the write covers only in part is zeroed. The
    /// size and times wait for [`Filesystem::finish_direct_write`]. The runs cover less than
    /// `len` only if the disk filled up.
    ///
    /// # Errors
    /// As [`Filesystem::write`].
    pub fn direct_write_runs(
        &mut self,
        ino: InodeNo,
        offset: u64,
        len: u64,
    ) -> Result<Option<Vec<DataRun>>, Error> {
        self.writable()?;
        let mut inode = self.regular(ino)?;
        let end = offset.checked_add(len).ok_or(Error::FileTooLarge)?;
        if end > self.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        let inside = len.min(inode.size.saturating_sub(offset));
        if self.runs(ino, &inode, offset, inside)?.iter().any(|r| r.disk_offset.is_none()) {
            return Ok(None);
        }
        let bs = u64::from(self.geo.block_size);
        let mut done = 0;
        let mut failed = None;
        while done < len {
            let pos = offset + done;
            let chunk = (bs - pos % bs).min(len - done);
            match self.bmap_alloc(ino, &mut inode, pos / bs) {
                Ok((b, fresh)) => {
                    if fresh && chunk != bs {
                        let zero = self.block_buf();
                        if let Err(e) = self.write_block(b, &zero) {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            done += chunk;
        }
        // Written even on failure: blocks allocated before it hang off the inode.
        self.write_inode(ino, &inode)?;
        match failed {
            Some(e) if done == 0 => Err(e),
            _ => self.runs(ino, &inode, offset, done).map(Some),
        }
    }

    /// Ends a direct write of regular file `ino` that meant to fill up to byte `planned` and
    /// put its data on the device up to byte `end`: the file grows to `end` if it is shorter,
    /// its times are stamped, and if the write fell short, the blocks it allocated past the
    /// new end are freed (they hold whatever the disk held before).
    ///
    /// # Errors
    /// As [`Filesystem::write`].
    pub fn finish_direct_write(
        &mut self,
        ino: InodeNo,
        end: u64,
        planned: u64,
    ) -> Result<(), Error> {
        self.writable()?;
        let mut inode = self.regular(ino)?;
        inode.size = inode.size.max(end);
        let size = inode.size;
        if end < planned && planned > size {
            self.shrink(ino, &mut inode, size)?;
        }
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.note_file_size(inode.size);
        self.write_inode(ino, &inode)
    }

    /// Sets regular file `ino`'s size: shrinking frees the blocks past the end, growing
    /// leaves a hole.
    ///
    /// # Errors
    /// As [`Filesystem::write`].
    pub fn truncate(&mut self, ino: InodeNo, size: u64) -> Result<(), Error> {
        self.writable()?;
        let mut inode = self.regular(ino)?;
        if size > self.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        if size < inode.size {
            self.shrink(ino, &mut inode, size)?;
        }
        inode.size = size;
        inode.mtime = self.now;
        inode.ctime = self.now;
        self.note_file_size(size);
        self.write_inode(ino, &inode)
    }

    /// Frees `inode`'s blocks past `size` bytes and zeroes the rest of the last block.
    fn shrink(&mut self, ino: InodeNo, inode: &mut Inode, size: u64) -> Result<(), Error> {
        let bs = u64::from(self.geo.block_size);
        let freed = self.free_blocks_from(ino, inode, size.div_ceil(bs));
        if freed.is_err() {
            // Blocks freed before the failure are unlinked from `inode`: record that.
            self.write_inode(ino, inode)?;
            return freed;
        }
        let within = size % bs;
        if within != 0
            && let Some(b) = self.bmap(ino, inode, size / bs)?
        {
            let zero = self.block_buf();
            self.dev.write(self.geo.block_offset(b) + within, &zero[within as usize..])?;
        }
        Ok(())
    }

    /// Returns the target of symbolic link `ino`.
    ///
    /// # Errors
    /// [`Error::NotSymlink`], or [`Error::Corrupt`] if the stored length does not fit.
    pub fn readlink(&self, ino: InodeNo) -> Result<Vec<u8>, Error> {
        let inode = self.read_inode(ino)?;
        if inode.file_type() != FileType::Symlink {
            return Err(Error::NotSymlink);
        }
        let len = inode.size;
        if inode.is_fast_symlink(&self.geo) {
            if len >= FAST_SYMLINK_MAX as u64 {
                return Err(corrupt("fast symlink longer than i_block", ino.get(), 0));
            }
            return Ok(inode.block_bytes()[..len as usize].to_vec());
        }
        if len == 0 || len >= u64::from(self.geo.block_size) {
            return Err(corrupt(
                "slow symlink length is 0 or not below the block size",
                ino.get(),
                0,
            ));
        }
        let b = self.bmap(ino, &inode, 0)?.ok_or(corrupt(
            "slow symlink without a block",
            ino.get(),
            0,
        ))?;
        let mut block = self.block_buf();
        self.read_block(b, &mut block)?;
        block.truncate(len as usize);
        Ok(block)
    }

    /// Releases everything inode `ino` owns on disk (blocks, its extended-attribute block)
    /// and marks it free. Its `links` must already be 0.
    pub(crate) fn free_inode(&mut self, ino: InodeNo, mut inode: Inode) -> Result<(), Error> {
        let ty = inode.file_type();
        let has_map = matches!(ty, FileType::Regular | FileType::Directory)
            || (ty == FileType::Symlink && !inode.is_fast_symlink(&self.geo));
        if has_map {
            self.free_blocks_from(ino, &mut inode, 0)?;
        }
        if inode.file_acl != 0 {
            self.release_xattr_block(ino, inode.file_acl)?;
            inode.file_acl = 0;
        }
        inode.size = 0;
        inode.blocks = 0;
        inode.dtime = self.now.max(1);
        self.write_inode(ino, &inode)?;
        self.free_inode_bit(ino, ty == FileType::Directory)
    }
}
