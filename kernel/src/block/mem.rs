//! A disk in memory, for the in-kernel tests of the block layer and the filesystems above
//! it: it counts its requests and can be told to fail writes.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::{BlockDevice, SECTOR_SIZE};
use crate::error::{Errno, SysResult};

/// A RAM disk. Requests must be whole sectors inside the disk (the trait's contract); a
/// request that breaks it fails the test that made it.
pub struct MemDisk {
    /// The contents.
    pub bytes: SpinLock<Vec<u8>>,
    read_only: bool,
    /// Requests seen: reads, writes, flushes.
    pub reads: AtomicUsize,
    /// See [`MemDisk::reads`].
    pub writes: AtomicUsize,
    /// See [`MemDisk::reads`].
    pub flushes: AtomicUsize,
    /// While set, writes fail with EIO (a failing device).
    pub fail_writes: AtomicBool,
}

impl MemDisk {
    /// A disk holding `bytes` (a whole number of sectors).
    pub fn new(bytes: Vec<u8>, read_only: bool) -> Self {
        assert_eq!(bytes.len() % SECTOR_SIZE, 0);
        Self {
            bytes: SpinLock::new(bytes),
            read_only,
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            flushes: AtomicUsize::new(0),
            fail_writes: AtomicBool::new(false),
        }
    }

    fn range(&self, sector: u64, len: usize) -> core::ops::Range<usize> {
        assert_eq!(len % SECTOR_SIZE, 0, "a partial sector reached the device");
        let at = sector as usize * SECTOR_SIZE;
        assert!(at + len <= self.bytes.lock().len(), "a request past the end reached the device");
        at..at + len
    }
}

impl BlockDevice for MemDisk {
    fn sectors(&self) -> u64 {
        (self.bytes.lock().len() / SECTOR_SIZE) as u64
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()> {
        let r = self.range(sector, buf.len());
        self.reads.fetch_add(1, Ordering::Relaxed);
        buf.copy_from_slice(&self.bytes.lock()[r]);
        Ok(())
    }

    fn write(&self, sector: u64, buf: &[u8]) -> SysResult<()> {
        let r = self.range(sector, buf.len());
        if self.fail_writes.load(Ordering::Relaxed) {
            return Err(Errno::EIO);
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.bytes.lock()[r].copy_from_slice(buf);
        Ok(())
    }

    fn flush(&self) -> SysResult<()> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
