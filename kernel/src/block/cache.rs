//! The block cache: a disk's contents in page-sized pieces, held in frames, written back on
//! sync.
//!
//! Filesystems read and write disks through this cache (ext2 through its byte-offset device
//! trait), so metadata that is read again and again (inode tables, bitmaps, indirect blocks,
//! directories) costs a copy, not a device request, and writes cost nothing until they are
//! written back.
//!
//! - Reads fill whole pages. A miss reads a run of pages in one request: the run (the
//!   readahead window) doubles while misses are sequential, up to [`READAHEAD_MAX`] pages,
//!   and falls back to [`READAHEAD_MIN`] when they are not.
//! - Writes change pages in memory and mark them dirty; a write of a whole page does not
//!   read it first.
//! - [`BlockCache::sync`] writes dirty pages back, adjacent ones in one request of up to
//!   [`WRITEBACK_RUN`] pages, all runs handed to the device together (it keeps several
//!   requests in flight), then flushes the device's own cache.
//! - The cache stays below a quarter of memory, and leaves the reserve of
//!   [`crate::memory`] alone: past either, it writes back and drops the least recently used
//!   quarter of its pages.
//!
//! Callers serialise their calls (a filesystem holds its own lock around each operation).
//! The spin lock here guards the page map and is never held across device I/O.

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use hashbrown::HashMap;
use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::{Mutex, SpinLock};

use super::{BlockDevice, ReadTarget, SECTOR_SIZE, WriteData};
use crate::error::{Errno, SysResult};

/// Pages read by a miss that does not continue the previous one.
pub const READAHEAD_MIN: usize = 4;
/// The largest readahead window, in pages (1 MiB: one virtio-blk request).
pub const READAHEAD_MAX: usize = 256;
/// The most pages written back in one request (1 MiB).
pub const WRITEBACK_RUN: usize = 256;

const SECTORS_PER_PAGE: u64 = (PAGE_SIZE / SECTOR_SIZE) as u64;

/// A disk seen through the cache.
pub struct BlockCache {
    device: Arc<dyn BlockDevice>,
    /// The disk's size in bytes (whole sectors).
    bytes: u64,
    state: SpinLock<State>,
    /// Held by a write-back from the moment it takes its pages' dirty marks until the device
    /// has them, and by a write that bypasses the cache around its write-back, transfer and
    /// drop of the pages: otherwise a write-back of older bytes (from a direct read's
    /// preparation, say, which runs without the filesystem's lock) could reach the device
    /// after a direct write of the same blocks.
    writeback: Mutex<()>,
}

struct State {
    pages: HashMap<u64, CachedPage, PageHash>,
    /// The indices of the dirty pages, in order: write-back sends adjacent ones together.
    dirty: BTreeSet<u64>,
    /// Counts accesses; each page remembers the count at its last use (for eviction).
    clock: u64,
    /// The page after the last run a miss read: a miss there is sequential.
    next_sequential: u64,
    window: usize,
}

struct CachedPage {
    frame: Frame,
    last_use: u64,
}

/// Hashes a page index for [`State::pages`]: splitmix64's finalizer, so that every bit of
/// the hash depends on every bit of the index (the table takes its slot from the low bits and
/// a tag from the high ones). Page indices come from the disk's block pointers, which the host
/// may choose: a crafted image can make lookups slow, never wrong.
#[derive(Clone, Copy, Default)]
struct PageHash;

/// The [`core::hash::Hasher`] of [`PageHash`]: it takes one `u64`.
#[derive(Default)]
struct PageHasher(u64);

impl core::hash::BuildHasher for PageHash {
    type Hasher = PageHasher;
    fn build_hasher(&self) -> PageHasher {
        PageHasher(0)
    }
}

impl core::hash::Hasher for PageHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, index: u64) {
        let mut z = index.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Counts for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Pages held.
    pub pages: usize,
    /// Pages changed since they were last written back.
    pub dirty: usize,
}

impl BlockCache {
    /// Puts a cache in front of `device`.
    pub fn new(device: Arc<dyn BlockDevice>) -> Self {
        let bytes = device.sectors() * SECTOR_SIZE as u64;
        Self {
            device,
            bytes,
            state: SpinLock::new(State {
                pages: HashMap::with_hasher(PageHash),
                dirty: BTreeSet::new(),
                clock: 0,
                next_sequential: u64::MAX,
                window: READAHEAD_MIN,
            }),
            writeback: Mutex::new(()),
        }
    }

    /// Returns the disk's size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes
    }

    /// Returns whether the disk refuses writes.
    pub fn read_only(&self) -> bool {
        self.device.read_only()
    }

    /// Returns how many pages are held, and how many of them are dirty.
    pub fn stats(&self) -> CacheStats {
        let state = self.state.lock();
        CacheStats { pages: state.pages.len(), dirty: state.dirty.len() }
    }

    /// Fills `buf` with the bytes at `offset`.
    ///
    /// # Errors
    /// EIO if the range leaves the disk or the disk fails; ENOMEM if no frame is left.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> SysResult<()> {
        self.each_piece(offset, buf.len(), |index, within, range| {
            self.load(index)?;
            let mut state = self.state.lock();
            let page = state.touch(index).ok_or(Errno::EIO)?;
            page.frame.read_bytes(within, &mut buf[range]);
            Ok(())
        })
    }

    /// Writes `buf` at `offset` into the cache; [`BlockCache::sync`] makes it durable.
    ///
    /// # Errors
    /// EIO if the range leaves the disk or a page to be partly overwritten cannot be read;
    /// EPERM if the disk is read-only; ENOMEM if no frame is left.
    pub fn write(&self, offset: u64, buf: &[u8]) -> SysResult<()> {
        if self.device.read_only() {
            return Err(Errno::EPERM);
        }
        self.each_piece(offset, buf.len(), |index, within, range| {
            let whole = within == 0 && range.len() == self.page_len(index);
            if whole && !self.state.lock().pages.contains_key(&index) {
                let frame = self.new_frame()?;
                self.state.lock().insert(index, frame, false);
            } else {
                self.load(index)?;
            }
            let mut state = self.state.lock();
            let page = state.touch(index).ok_or(Errno::EIO)?;
            page.frame.write_bytes(within, &buf[range]);
            state.dirty.insert(index);
            Ok(())
        })
    }

    /// Reads `len` bytes at `offset` straight from the device into `target` at `at`,
    /// bypassing the cache (direct I/O; a user target gets them with one copy, from the
    /// driver's bounce buffers): cached pages in the range that are dirty are written back
    /// first, so the device holds the newest bytes. A range that is not in whole sectors is
    /// read in the whole sectors around it, still from the device.
    ///
    /// # Errors
    /// As [`BlockCache::read`].
    pub fn read_uncached_to(
        &self,
        offset: u64,
        len: usize,
        target: &mut ReadTarget<'_>,
        at: usize,
    ) -> SysResult<()> {
        let sector = SECTOR_SIZE as u64;
        if offset.checked_add(len as u64).is_none_or(|end| end > self.bytes) {
            return Err(Errno::EIO);
        }
        self.write_back_dirty_bytes(offset, len)?;
        if !offset.is_multiple_of(sector) || !(len as u64).is_multiple_of(sector) {
            // Whole sectors around the range, still from the device: through the cache, a
            // readahead without the filesystem's lock could put back pages a direct write
            // has just replaced. The disk is whole sectors, so the rounded range fits.
            let start = offset - offset % sector;
            let end = (offset + len as u64).next_multiple_of(sector);
            let mut sectors = vec![0u8; (end - start) as usize];
            self.device.read(start / sector, &mut sectors)?;
            let from = (offset - start) as usize;
            return target.put(at, &sectors[from..from + len]);
        }
        self.device.read_to(offset / sector, len, target, at)
    }

    /// A buffer for a direct write of `len` bytes (see [`BlockDevice::prepare_write`]).
    pub fn prepare_write(&self, len: usize) -> SysResult<WriteData> {
        self.device.prepare_write(len)
    }

    /// Writes `len` bytes at `offset` from `data` at `from` straight to the device,
    /// bypassing the cache (a direct write, whose bytes were copied into `data` before the
    /// caller took its lock). Dirty cached pages in the range are written back first and the
    /// pages the range touches are dropped after, so the cache never holds bytes older than
    /// the device's; the caller's lock keeps anyone from changing them in between. A range
    /// not in whole sectors is written through the cache (private bytes only).
    ///
    /// # Errors
    /// As [`BlockCache::write_back_bytes`], and the device's.
    pub fn write_uncached_from(
        &self,
        offset: u64,
        len: usize,
        data: &WriteData,
        from: usize,
    ) -> SysResult<()> {
        let sector = SECTOR_SIZE as u64;
        if !offset.is_multiple_of(sector) || !(len as u64).is_multiple_of(sector) {
            return self.write(offset, data.memory(from, len)?);
        }
        if offset.checked_add(len as u64).is_none_or(|end| end > self.bytes) {
            return Err(Errno::EIO);
        }
        let (first, last) =
            (offset / PAGE_SIZE as u64, (offset + len as u64).div_ceil(PAGE_SIZE as u64));
        let _writeback = self.writeback.lock();
        self.write_back_runs(first, last)?;
        let written = self.device.write_prepared(offset / sector, len, data, from);
        // Dropped even after a failure: the device may hold some of the new bytes.
        // The range is at most one direct transfer (a megabyte): look each page up.
        let mut state = self.state.lock();
        let gone: Vec<CachedPage> = (first..last).filter_map(|i| state.pages.remove(&i)).collect();
        drop(state);
        drop(gone);
        written
    }

    /// Before a read that bypasses the cache: writes back the dirty cached pages holding
    /// bytes `offset..offset + len`, if there are any.
    fn write_back_dirty_bytes(&self, offset: u64, len: usize) -> SysResult<()> {
        let first = offset / PAGE_SIZE as u64;
        let last = (offset + len as u64).div_ceil(PAGE_SIZE as u64);
        if self.state.lock().dirty.range(first..last).next().is_some() {
            self.write_back_range(first, last)?;
        }
        Ok(())
    }

    /// Writes the dirty cached pages holding bytes `offset..offset + len` to the device (an
    /// O_DIRECT write's data, which must be on the device when the write returns), without
    /// flushing the device's own cache.
    ///
    /// # Errors
    /// EIO if the device fails; the pages that were not written stay dirty.
    pub fn write_back_bytes(&self, offset: u64, len: u64) -> SysResult<()> {
        let first = offset / PAGE_SIZE as u64;
        let last = offset.saturating_add(len).div_ceil(PAGE_SIZE as u64);
        self.write_back_range(first, last)
    }

    /// Writes every dirty page back and flushes the device.
    ///
    /// # Errors
    /// EIO if the device fails; the pages that were not written stay dirty.
    pub fn sync(&self) -> SysResult<()> {
        self.write_back()?;
        self.device.flush()
    }

    /// Calls `f(page index, offset within the page, range of the caller's buffer)` for each
    /// page that `offset..offset + len` touches, after checking the range against the disk.
    fn each_piece(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, usize, core::ops::Range<usize>) -> SysResult<()>,
    ) -> SysResult<()> {
        let end = offset.checked_add(len as u64).ok_or(Errno::EIO)?;
        if end > self.bytes {
            return Err(Errno::EIO);
        }
        for p in crate::page_span::page_pieces(offset, len) {
            f(p.index, p.within, p.range)?;
        }
        Ok(())
    }

    /// Returns the bytes of page `index` that lie on the disk (the last page may be short).
    fn page_len(&self, index: u64) -> usize {
        (self.bytes - index * PAGE_SIZE as u64).min(PAGE_SIZE as u64) as usize
    }

    /// Makes sure page `index` is cached, reading it (and the readahead window after it).
    fn load(&self, index: u64) -> SysResult<()> {
        let pages = self.bytes.div_ceil(PAGE_SIZE as u64);
        let run = {
            let mut state = self.state.lock();
            if state.pages.contains_key(&index) {
                return Ok(());
            }
            state.window = if index == state.next_sequential {
                (state.window * 2).min(READAHEAD_MAX)
            } else {
                READAHEAD_MIN
            };
            let mut run = 1;
            while run < state.window
                && index + (run as u64) < pages
                && !state.pages.contains_key(&(index + run as u64))
            {
                run += 1;
            }
            state.next_sequential = index + run as u64;
            run
        };
        let mut frames = self.new_frames(run)?;
        let bytes: usize = (0..run as u64).map(|i| self.page_len(index + i)).sum();
        if let Err(e) = self.device.read_frames(index * SECTORS_PER_PAGE, bytes, &frames) {
            if run == 1 {
                return Err(e);
            }
            // Readahead is a guess: a bad block further on (one a hash tree refused, say)
            // must not fail the page that was asked for, as on Linux. Read that one alone.
            frames.truncate(1);
            let len = self.page_len(index);
            self.device.read_frames(index * SECTORS_PER_PAGE, len, &frames)?;
            self.state.lock().window = READAHEAD_MIN;
        }
        let mut state = self.state.lock();
        for (i, frame) in frames.into_iter().enumerate() {
            let at = index + i as u64;
            // Another caller may have cached the page meanwhile; its copy wins (it may be dirty).
            if !state.pages.contains_key(&at) {
                state.insert(at, frame, false);
            }
        }
        Ok(())
    }

    fn new_frame(&self) -> SysResult<Frame> {
        Ok(self.new_frames(1)?.remove(0))
    }

    /// Allocates `count` frames for new pages, making room first if the cache is at its
    /// limit or users are short of memory.
    fn new_frames(&self, count: usize) -> SysResult<Vec<Frame>> {
        let over = self.state.lock().pages.len() + count > limit_pages();
        if over || !crate::memory::user_may_take(count * PAGE_SIZE) {
            self.shrink()?;
        }
        (0..count).map(|_| crate::memory::alloc_user_frame().ok_or(Errno::ENOMEM)).collect()
    }

    /// Writes back, then drops the least recently used quarter of the pages.
    fn shrink(&self) -> SysResult<()> {
        self.write_back()?;
        let mut state = self.state.lock();
        let dirty = &state.dirty;
        let mut ages: Vec<(u64, u64)> = state
            .pages
            .iter()
            .filter(|(i, _)| !dirty.contains(i))
            .map(|(&i, p)| (p.last_use, i))
            .collect();
        ages.sort_unstable();
        let drop_count = state.pages.len().div_ceil(4);
        for &(_, index) in ages.iter().take(drop_count) {
            state.pages.remove(&index);
        }
        Ok(())
    }

    /// Writes every dirty page to the disk, adjacent pages in one request.
    fn write_back(&self) -> SysResult<()> {
        self.write_back_range(0, u64::MAX)
    }

    /// Writes the dirty pages with indices in `first..last` to the disk.
    fn write_back_range(&self, first: u64, last: u64) -> SysResult<()> {
        let _writeback = self.writeback.lock();
        self.write_back_runs(first, last)
    }

    /// [`BlockCache::write_back_range`] for a caller that holds [`BlockCache::writeback`].
    fn write_back_runs(&self, first: u64, last: u64) -> SysResult<()> {
        let runs = self.state.lock().dirty_runs(first, last);
        if runs.is_empty() {
            return Ok(());
        }
        let requests: Vec<super::FrameRun<'_>> = runs
            .iter()
            .map(|(first, frames)| super::FrameRun {
                sector: first * SECTORS_PER_PAGE,
                bytes: (0..frames.len() as u64).map(|i| self.page_len(first + i)).sum(),
                frames,
            })
            .collect();
        if let Err(e) = self.device.write_frame_runs(&requests) {
            // Which runs reached the disk is not known: all of them stay dirty (writing one
            // again is harmless).
            let mut state = self.state.lock();
            for (first, frames) in &runs {
                for i in 0..frames.len() as u64 {
                    if state.pages.contains_key(&(first + i)) {
                        state.dirty.insert(first + i);
                    }
                }
            }
            return Err(e);
        }
        Ok(())
    }
}

impl State {
    fn insert(&mut self, index: u64, frame: Frame, dirty: bool) {
        self.clock += 1;
        self.pages.insert(index, CachedPage { frame, last_use: self.clock });
        if dirty {
            self.dirty.insert(index);
        } else {
            self.dirty.remove(&index);
        }
    }

    fn touch(&mut self, index: u64) -> Option<&mut CachedPage> {
        self.clock += 1;
        let clock = self.clock;
        let page = self.pages.get_mut(&index)?;
        page.last_use = clock;
        Some(page)
    }

    /// Takes the dirty pages with indices in `first..last` as runs of adjacent pages (each at
    /// most [`WRITEBACK_RUN`]), marking them clean: a write after this point dirties them
    /// again.
    fn dirty_runs(&mut self, first: u64, last: u64) -> Vec<(u64, Vec<Frame>)> {
        let mut runs: Vec<(u64, Vec<Frame>)> = Vec::new();
        let taken: Vec<u64> = self.dirty.range(first..last).copied().collect();
        for index in taken {
            self.dirty.remove(&index);
            let Some(page) = self.pages.get(&index) else { continue };
            match runs.last_mut() {
                Some((first, frames))
                    if *first + frames.len() as u64 == index && frames.len() < WRITEBACK_RUN =>
                {
                    frames.push(page.frame.clone());
                }
                _ => runs.push((index, vec![page.frame.clone()])),
            }
        }
        runs
    }
}

/// The most pages one cache holds: a quarter of memory.
fn limit_pages() -> usize {
    ostd::mm::frame_stats().total / 4
}

ostd::ktest! {
    fn the_block_cache_holds_writes_until_sync_and_reads_ahead() {
        use core::sync::atomic::Ordering::Relaxed;

        use super::mem::MemDisk;
        // 40 pages and 3 sectors: the last page is short.
        let len = 40 * PAGE_SIZE + 3 * SECTOR_SIZE;
        let pattern: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
        let disk = Arc::new(MemDisk::new(pattern.clone(), false));
        let cache = BlockCache::new(disk.clone());
        assert_eq!(cache.size(), len as u64);

        // Sequential reads: the window grows, so 40 pages take far fewer requests.
        let mut all = vec![0u8; len];
        for (i, chunk) in all.chunks_mut(1000).enumerate() {
            cache.read((i * 1000) as u64, chunk).unwrap();
        }
        assert!(all == pattern, "reads through the cache differ from the disk");
        let reads = disk.reads.load(Relaxed);
        assert!(reads <= 6, "{reads} requests for 41 sequential pages");

        // Writes stay in memory until sync; a partial page keeps the bytes around it.
        cache.write(5000, b"cached").unwrap();
        cache.write((len - 4) as u64, b"end!").unwrap();
        assert_eq!(cache.write((len - 3) as u64, b"over"), Err(Errno::EIO));
        assert_eq!(cache.read(len as u64, &mut [0u8; 1]), Err(Errno::EIO));
        assert_eq!(disk.writes.load(Relaxed), 0);
        assert_eq!(cache.stats().dirty, 2);
        let mut got = [0u8; 10];
        cache.read(4998, &mut got).unwrap();
        assert_eq!(&got, &[pattern[4998], pattern[4999], b'c', b'a', b'c', b'h', b'e', b'd', pattern[5006], pattern[5007]]);

        // A device that fails keeps the data dirty; a later sync writes it.
        disk.fail_writes.store(true, Relaxed);
        assert_eq!(cache.sync(), Err(Errno::EIO));
        assert_eq!(cache.stats().dirty, 2, "a failed write-back lost dirty pages");
        disk.fail_writes.store(false, Relaxed);
        cache.sync().unwrap();
        assert_eq!(cache.stats().dirty, 0);
        assert!(disk.flushes.load(Relaxed) >= 1);
        let mut expect = pattern.clone();
        expect[5000..5006].copy_from_slice(b"cached");
        expect[len - 4..].copy_from_slice(b"end!");
        assert!(*disk.bytes.lock() == expect, "sync wrote something other than what was cached");

        // A whole-page write of an uncached page does not read it first.
        let fresh = BlockCache::new(disk.clone());
        let before = disk.reads.load(Relaxed);
        fresh.write(PAGE_SIZE as u64, &[0xab; PAGE_SIZE]).unwrap();
        assert_eq!(disk.reads.load(Relaxed), before);
        fresh.sync().unwrap();
        assert!(disk.bytes.lock()[PAGE_SIZE..2 * PAGE_SIZE].iter().all(|&b| b == 0xab));
    }
}
