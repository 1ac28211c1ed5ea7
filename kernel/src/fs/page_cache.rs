//! A file's pages in memory: what `read`, `write`, shared `mmap` and `exec` all see.
//!
//! For an in-memory file (ramfs/tmpfs) the cache *is* the file: every byte lives in one of
//! its frames, and a page never written is a hole that reads as zeros. For a file on a disk
//! the cache holds the pages someone mapped (shared mappings and executables) and nothing
//! else: reads of other pages go to the filesystem (whose block cache keeps them), and writes
//! go to the filesystem *and* into any cached page, so that a mapping and `read` always agree.
//!
//! Mapping a file shared maps these very frames, so a store through one mapping is seen at
//! once by `read`, by every other shared mapping of the file, and (for disk files, at msync,
//! munmap, fsync or exit) by the disk.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};
use crate::page_span::page_pieces;

/// The cached pages of one file, by page index.
pub struct PageCache {
    pages: SpinLock<BTreeMap<u64, Frame>>,
}

impl PageCache {
    /// An empty cache.
    pub const fn new() -> Self {
        Self { pages: SpinLock::new(BTreeMap::new()) }
    }

    /// Returns whether no page is cached.
    pub fn is_empty(&self) -> bool {
        self.pages.lock().is_empty()
    }

    /// Returns how many pages are cached.
    pub fn len(&self) -> usize {
        self.pages.lock().len()
    }

    /// Returns page `index` if it is cached.
    pub fn get(&self, index: u64) -> Option<Frame> {
        self.pages.lock().get(&index).cloned()
    }

    /// Returns page `index`, calling `fill` to make it if it is not cached. If another task
    /// cached the page meanwhile, its frame wins (it may have been written since).
    pub fn get_or_fill(
        &self,
        index: u64,
        fill: impl FnOnce() -> SysResult<Frame>,
    ) -> SysResult<Frame> {
        if let Some(frame) = self.get(index) {
            return Ok(frame);
        }
        let frame = fill()?;
        Ok(self.pages.lock().entry(index).or_insert(frame).clone())
    }

    /// Copies `buf.len()` bytes at `offset` out of the cache; bytes of pages not cached come
    /// from `miss(offset, buf)` (a disk file reads them, an in-memory file's holes are zeros).
    pub fn read(
        &self,
        offset: u64,
        buf: &mut [u8],
        mut miss: impl FnMut(u64, &mut [u8]) -> SysResult<()>,
    ) -> SysResult<()> {
        if self.is_empty() {
            return miss(offset, buf);
        }
        for p in page_pieces(offset, buf.len()) {
            let out = &mut buf[p.range.clone()];
            match self.get(p.index) {
                Some(frame) => frame.read_bytes(p.within, out),
                None => miss(offset + p.range.start as u64, out)?,
            }
        }
        Ok(())
    }

    /// Writes `data` at `offset` into the cache, making missing pages (zeroed) with
    /// `new_page`: an in-memory file's write.
    pub fn write_allocating(
        &self,
        offset: u64,
        data: &[u8],
        mut new_page: impl FnMut() -> SysResult<Frame>,
    ) -> SysResult<()> {
        for p in page_pieces(offset, data.len()) {
            let frame = self.get_or_fill(p.index, &mut new_page)?;
            frame.write_bytes(p.within, &data[p.range]);
        }
        Ok(())
    }

    /// Writes `data` at `offset` into the pages that are cached, leaving the others alone:
    /// a disk file's write, which the filesystem has already stored.
    pub fn write_cached(&self, offset: u64, data: &[u8]) {
        if self.is_empty() {
            return;
        }
        for p in page_pieces(offset, data.len()) {
            if let Some(frame) = self.get(p.index) {
                frame.write_bytes(p.within, &data[p.range]);
            }
        }
    }

    /// Reads bytes `offset..offset + len` of the pages that are cached again with `read`,
    /// leaving the others alone: a disk file's direct write, whose bytes went to the device
    /// without passing through memory the kernel may read.
    pub fn reload_cached(
        &self,
        offset: u64,
        len: usize,
        mut read: impl FnMut(u64, &mut [u8]) -> SysResult<()>,
    ) -> SysResult<()> {
        if self.is_empty() {
            return Ok(());
        }
        let mut bytes = [0u8; PAGE_SIZE];
        for p in page_pieces(offset, len) {
            if let Some(frame) = self.get(p.index) {
                let out = &mut bytes[..p.range.len()];
                read(offset + p.range.start as u64, out)?;
                frame.write_bytes(p.within, out);
            }
        }
        Ok(())
    }

    /// Makes the cache match a file of `size` bytes: pages wholly past the end go, and the
    /// part of the last page past the end is zeroed (so growing the file again reads zeros).
    pub fn truncate(&self, size: u64) {
        let keep = size.div_ceil(PAGE_SIZE as u64);
        let mut pages = self.pages.lock();
        let gone: Vec<Frame> = pages.split_off(&keep).into_values().collect();
        let tail = (size % PAGE_SIZE as u64) as usize;
        if tail != 0
            && let Some(frame) = pages.get(&(size / PAGE_SIZE as u64))
        {
            frame.write_bytes(tail, &[0u8; PAGE_SIZE][tail..]);
        }
        drop(pages);
        drop(gone);
    }

    /// Returns the pages `0..count`, making missing ones with `fill(index)`.
    pub fn pages(
        &self,
        count: u64,
        mut fill: impl FnMut(u64) -> SysResult<Frame>,
    ) -> SysResult<Vec<Frame>> {
        (0..count).map(|i| self.get_or_fill(i, || fill(i))).collect()
    }
}

/// A zeroed frame for file data, within the users' memory budget (ENOSPC past it, as a full
/// tmpfs answers).
pub fn new_file_page() -> SysResult<Frame> {
    crate::memory::alloc_user_frame().ok_or(Errno::ENOSPC)
}

ostd::ktest! {
    fn the_page_cache_reads_what_was_written_and_truncates_to_zeros() {
        let cache = PageCache::new();
        let data: Vec<u8> = (0..3 * PAGE_SIZE).map(|i| (i % 251) as u8).collect();
        cache.write_allocating(100, &data, new_file_page).unwrap();
        assert_eq!(cache.len(), 4);
        let mut got = alloc::vec![0u8; data.len()];
        cache.read(100, &mut got, |_, _| Err(Errno::EIO)).unwrap();
        assert!(got == data);
        // A miss is asked for exactly the bytes of the pages not cached.
        let mut asked = Vec::new();
        let mut far = [0u8; 10];
        cache
            .read((5 * PAGE_SIZE - 5) as u64, &mut far, |off, b| {
                asked.push((off, b.len()));
                b.fill(7);
                Ok(())
            })
            .unwrap();
        assert_eq!(asked, [((5 * PAGE_SIZE - 5) as u64, 5), ((5 * PAGE_SIZE) as u64, 5)]);
        // Truncating mid-page zeroes the tail; growing back reads zeros there.
        cache.truncate(PAGE_SIZE as u64 + 10);
        assert_eq!(cache.len(), 2);
        let mut tail = [1u8; 20];
        cache.read(PAGE_SIZE as u64, &mut tail, |_, _| Err(Errno::EIO)).unwrap();
        assert_eq!(&tail[..10], &data[PAGE_SIZE - 100..PAGE_SIZE - 90]);
        assert_eq!(&tail[10..], &[0u8; 10]);
        // write_cached touches only cached pages.
        cache.write_cached((2 * PAGE_SIZE - 2) as u64, b"abcd");
        assert_eq!(cache.len(), 2);
        let frame = cache.get(1).unwrap();
        let mut end = [0u8; 2];
        frame.read_bytes(PAGE_SIZE - 2, &mut end);
        assert_eq!(&end, b"ab");
    }
}
