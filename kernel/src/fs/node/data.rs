//! A node's file data: reads and writes (through the page cache, or a disk's own path for
//! O_DIRECT), holes, truncation, and the page frames mappings share.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::{Content, MAX_FILE_SIZE, Node, NodeKind};
use crate::block::{ReadTarget, WriteData};
use crate::error::{Errno, SysResult};
use crate::fs::disk::DiskInode;
use crate::fs::page_cache::new_file_page;

impl Node {
    /// Reads file data at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        match &self.content {
            Content::File(f) => {
                let size = f.len.load(Ordering::Acquire);
                let n = buf.len().min(size.saturating_sub(offset) as usize);
                // A page never written is a hole.
                self.pages.read(offset, &mut buf[..n], |_, hole| {
                    hole.fill(0);
                    Ok(())
                })?;
                Ok(n)
            }
            Content::Generated(g) if self.kind == NodeKind::File => g.read_at(offset, buf),
            Content::Disk(d) if self.kind == NodeKind::File => {
                let n = buf.len().min(d.size().saturating_sub(offset) as usize);
                self.pages.read(offset, &mut buf[..n], |at, out| disk_read_exact(d, at, out))?;
                Ok(n)
            }
            Content::Dir(_) => Err(Errno::EISDIR),
            Content::Generated(_) | Content::Disk(_) if self.kind == NodeKind::Dir => {
                Err(Errno::EISDIR)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Reads file data at `offset` for a file opened O_DIRECT: a disk file's bytes come
    /// straight from the device and stay in no cache, unless pages of the file are mapped
    /// (their page cache may hold bytes newer than the disk), in which case, and for every
    /// other kind of file, this is [`Node::read_at`].
    pub fn read_direct_at(&self, offset: u64, target: &mut ReadTarget<'_>) -> SysResult<usize> {
        match &self.content {
            Content::Disk(d) if self.kind == NodeKind::File && self.pages.is_empty() => {
                let n = target.len().min(d.size().saturating_sub(offset) as usize);
                let mut within = target.prefix(n);
                let got = d.mount().fs().read_direct(d.ino(), offset, &mut within)?.min(n);
                within.zero(got, n - got)?;
                Ok(n)
            }
            _ => {
                let len = target.len();
                target.fill_with(0, len, |buf| self.read_at(offset, buf))
            }
        }
    }

    /// Writes file data at `offset`, growing the file (with a hole) as needed.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.write_at_with(offset, buf, false)
    }

    /// Zeroes `len` bytes from `offset`, within the file (its size stays): fallocate's
    /// FALLOC_FL_PUNCH_HOLE and madvise's MADV_REMOVE on an in-memory file. The pages stay
    /// allocated, since a mapping elsewhere may hold them and there is no reverse map to
    /// take them back from it; they read as zeros everywhere. EOPNOTSUPP for other nodes.
    pub fn punch_hole(&self, offset: u64, len: u64) -> SysResult<()> {
        let Content::File(f) = &self.content else { return Err(Errno::ENOTSUP) };
        let order = f.order.lock();
        let end = offset.saturating_add(len).min(f.len.load(Ordering::Acquire));
        let zeros = [0u8; 4096];
        let mut at = offset;
        while at < end {
            let n = (end - at).min(zeros.len() as u64) as usize;
            self.pages.write_cached(at, &zeros[..n]);
            at += n as u64;
        }
        drop(order);
        self.touch_mtime();
        Ok(())
    }

    /// [`Node::write_at`] for a file opened O_DIRECT: a disk file's data is on the device
    /// when this returns.
    pub fn write_direct_at(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.write_at_with(offset, buf, true)
    }

    /// A buffer for a direct write of `len` bytes at the caller's user memory, to fill before
    /// [`Node::write_prepared_at`]: `None` unless this is a disk file with no mapped pages
    /// and its filesystem has a path that copies the bytes once.
    pub fn prepare_direct_write(&self, len: usize) -> Option<SysResult<WriteData>> {
        match &self.content {
            Content::Disk(d) if self.kind == NodeKind::File && self.pages.is_empty() => {
                d.mount().fs().prepare_write(len)
            }
            _ => None,
        }
    }

    /// Writes `data` (from [`Node::prepare_direct_write`]) at `offset`, straight to the
    /// device; `None` if the filesystem leaves this range to [`Node::write_direct_at`] (a
    /// hole inside the file). Pages mapped meanwhile are read again where the write covers
    /// them.
    pub fn write_prepared_at(&self, offset: u64, data: &WriteData) -> SysResult<Option<usize>> {
        let Content::Disk(d) = &self.content else { return Err(Errno::EINVAL) };
        let written = d.mount().fs().write_prepared(d.ino(), offset, data);
        // Even a failed write may have allocated blocks or changed the size.
        self.refresh()?;
        let Some(n) = written? else { return Ok(None) };
        self.pages.reload_cached(offset, n, |at, out| disk_read_exact(d, at, out))?;
        Ok(Some(n))
    }

    fn write_at_with(&self, offset: u64, buf: &[u8], direct: bool) -> SysResult<usize> {
        match &self.content {
            Content::File(f) => {
                let end = offset
                    .checked_add(buf.len() as u64)
                    .filter(|&e| e <= MAX_FILE_SIZE)
                    .ok_or(Errno::EFBIG)?;
                let order = f.order.lock();
                let (buf, end) = match self.tmpfs.get() {
                    Some(fs) => {
                        let fits = fs.fitting_len(&self.pages, offset, buf.len())?;
                        (&buf[..fits], offset + fits as u64)
                    }
                    None => (buf, end),
                };
                let before = self.pages.len();
                let written = self.pages.write_allocating(offset, buf, new_file_page);
                if let Some(fs) = self.tmpfs.get() {
                    fs.count_blocks(before, self.pages.len());
                }
                written?;
                f.len.fetch_max(end, Ordering::Release);
                drop(order);
                self.touch_mtime();
                Ok(buf.len())
            }
            Content::Disk(d) if self.kind == NodeKind::File => {
                let fs = d.mount().fs();
                let written = if direct {
                    fs.write_direct(d.ino(), offset, buf)
                } else {
                    fs.write(d.ino(), offset, buf)
                };
                if let Ok(n) = written {
                    self.pages.write_cached(offset, &buf[..n]);
                }
                // Even a failed write may have allocated blocks or changed the size.
                self.refresh()?;
                written
            }
            Content::Disk(_) if self.kind == NodeKind::Dir => Err(Errno::EISDIR),
            Content::Dir(_) => Err(Errno::EISDIR),
            Content::Generated(g) if self.kind == NodeKind::File => g.write(offset, buf),
            Content::Generated(_) => Err(Errno::EACCES),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Sets the file length. Growing leaves a hole; shrinking drops the pages past the end
    /// and zeroes the rest of the last one (mappings of them keep their frames).
    pub fn truncate(&self, len: u64) -> SysResult<()> {
        match &self.content {
            Content::File(f) => {
                if len > MAX_FILE_SIZE {
                    return Err(Errno::EFBIG);
                }
                let order = f.order.lock();
                let before = self.pages.len();
                self.pages.truncate(len.min(f.len.load(Ordering::Acquire)));
                if let Some(fs) = self.tmpfs.get() {
                    fs.count_blocks(before, self.pages.len());
                }
                f.len.store(len, Ordering::Release);
                drop(order);
                self.touch_mtime();
                crate::fs::notify::vfs::truncated(self);
                Ok(())
            }
            Content::Disk(d) if self.kind == NodeKind::File => {
                let old = d.size();
                let result = d.mount().fs().truncate(d.ino(), len);
                if result.is_ok() {
                    self.pages.truncate(len.min(old));
                    crate::fs::notify::vfs::truncated(self);
                }
                self.refresh()?;
                result
            }
            Content::Disk(_) if self.kind == NodeKind::Dir => Err(Errno::EISDIR),
            Content::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Returns whether the file's data goes through its page cache (an in-memory or disk
    /// regular file; not a generated one), so [`Node::page`] works.
    pub fn has_page_cache(&self) -> bool {
        match &self.content {
            Content::File(_) => true,
            Content::Disk(_) => self.kind == NodeKind::File,
            _ => false,
        }
    }

    /// Returns page `index` of a regular file from its page cache, reading it (disk) or
    /// making it (a hole in memory) if needed: the frame a shared mapping maps.
    pub fn page(&self, index: u64) -> SysResult<ostd::mm::Frame> {
        match &self.content {
            Content::File(_) => self.pages.get_or_fill(index, new_file_page),
            Content::Disk(d) if self.kind == NodeKind::File => {
                self.pages.get_or_fill(index, || read_disk_page(d, index))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Returns page `index` of an in-memory file for the page-fault handler of a shared
    /// mapping: `None` for a disk file (its pages are mapped at mmap time, since reading
    /// them may sleep) or a page past the end of the file. Never sleeps.
    pub fn in_memory_page(&self, index: u64) -> Option<SysResult<ostd::mm::Frame>> {
        let Content::File(f) = &self.content else { return None };
        let pages = f.len.load(Ordering::Acquire).div_ceil(ostd::mm::PAGE_SIZE as u64);
        (index < pages).then(|| self.pages.get_or_fill(index, new_file_page))
    }

    /// Returns the file's contents as frames of its page cache, one per page (the last
    /// zero-padded past the end).
    ///
    /// The frames are the file's own: map them read-only, copy-on-write for private
    /// writable mappings (the cache's reference keeps the count above one).
    pub fn page_frames(&self) -> SysResult<Arc<Vec<ostd::mm::Frame>>> {
        let pages = self.size().div_ceil(ostd::mm::PAGE_SIZE as u64);
        let frames = match &self.content {
            Content::File(_) => self.pages.pages(pages, |_| new_file_page())?,
            Content::Disk(d) if self.kind == NodeKind::File => {
                if !crate::memory::user_may_take(pages as usize * ostd::mm::PAGE_SIZE) {
                    return Err(Errno::ENOMEM);
                }
                self.pages.pages(pages, |i| read_disk_page(d, i))?
            }
            _ => return Err(Errno::EINVAL),
        };
        Ok(Arc::new(frames))
    }
}

/// Fills `out` with a disk file's bytes at `offset` (zeros past its end).
fn disk_read_exact(d: &DiskInode, offset: u64, out: &mut [u8]) -> SysResult<()> {
    let n = d.mount().fs().read(d.ino(), offset, out)?;
    out[n..].fill(0);
    Ok(())
}

/// Reads page `index` of a disk file into a new frame.
fn read_disk_page(d: &DiskInode, index: u64) -> SysResult<ostd::mm::Frame> {
    let mut buf = alloc::vec![0u8; ostd::mm::PAGE_SIZE];
    disk_read_exact(d, index * ostd::mm::PAGE_SIZE as u64, &mut buf)?;
    let frame = crate::memory::alloc_user_frame().ok_or(Errno::ENOMEM)?;
    frame.write_bytes(0, &buf);
    Ok(frame)
}
