//! The files of one filesystem with O_DIRECT reads in flight.
//!
//! A direct read finds its file's blocks under the filesystem's lock and lets the lock go
//! before the device reads them, because its copies into user memory may fault in a page of
//! a file on the same filesystem. Until the device is done, the blocks must stay the file's:
//! freed and given to another file, they would show that file's bytes to the reader. An open
//! file's blocks are freed only by a truncate, so a truncate waits here for the reads.

use alloc::collections::BTreeMap;

use ostd::sync::{SpinLock, WaitQueue};

/// Direct reads in flight, counted by inode number.
pub struct DirectReads {
    counts: SpinLock<BTreeMap<u32, usize>>,
    /// Woken whenever a file's last direct read ends.
    idle: WaitQueue,
}

impl DirectReads {
    pub const fn new() -> Self {
        Self { counts: SpinLock::new(BTreeMap::new()), idle: WaitQueue::new() }
    }

    /// Counts a direct read of inode `ino` until the guard is dropped. Take it under the
    /// filesystem lock that the blocks were looked up under.
    pub fn enter(&self, ino: u32) -> DirectRead<'_> {
        *self.counts.lock().entry(ino).or_insert(0) += 1;
        DirectRead { reads: self, ino }
    }

    /// Whether a direct read of inode `ino` is in flight.
    pub fn busy(&self, ino: u32) -> bool {
        self.counts.lock().contains_key(&ino)
    }

    /// Sleeps until no direct read of inode `ino` is in flight (one may start right after:
    /// check [`DirectReads::busy`] again under the filesystem lock).
    pub fn wait_idle(&self, ino: u32) {
        self.idle.wait_until(|| (!self.busy(ino)).then_some(()));
    }
}

/// One direct read in flight, counted in its [`DirectReads`] while it lives.
pub struct DirectRead<'a> {
    reads: &'a DirectReads,
    ino: u32,
}

impl Drop for DirectRead<'_> {
    fn drop(&mut self) {
        let mut counts = self.reads.counts.lock();
        let last = match counts.get_mut(&self.ino) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => true,
        };
        if last {
            counts.remove(&self.ino);
            drop(counts);
            self.reads.idle.wake_all();
        }
    }
}
