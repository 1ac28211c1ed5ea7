//! eventfd: a 64-bit counter as a file (eventfd(2)).

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::error::{Errno, SysResult};
use crate::fs::epoll_ready::ReadyList;
use crate::fs::poll::FileWaitQueue;

/// EFD_SEMAPHORE: each read takes 1.
pub const EFD_SEMAPHORE: u32 = 1;
const MAX: u64 = u64::MAX - 1;

/// An eventfd.
pub struct EventFd {
    count: SpinLock<u64>,
    semaphore: bool,
    flags: SpinLock<OpenFlags>,
    changed: FileWaitQueue,
}

impl EventFd {
    /// Creates one with `initval`.
    pub fn new(initval: u32, semaphore: bool, flags: OpenFlags) -> Arc<Self> {
        Arc::new(Self {
            count: SpinLock::new(u64::from(initval)),
            semaphore,
            flags: SpinLock::new(flags | OpenFlags::RDWR),
            changed: FileWaitQueue::new(),
        })
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }
}

impl FileLike for EventFd {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let nonblocking = self.nonblocking();
        let value = self.changed.wait_until(|| {
            let mut c = self.count.lock();
            if *c == 0 {
                return crate::wait::not_ready(nonblocking);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(Ok(v))
        })?;
        self.changed.wake_all();
        buf[..8].copy_from_slice(&value.to_le_bytes());
        Ok(8)
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        let bytes: [u8; 8] = buf.get(..8).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?;
        let add = u64::from_le_bytes(bytes);
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let nonblocking = self.nonblocking();
        self.changed.wait_until(|| {
            let mut c = self.count.lock();
            if MAX - *c >= add {
                *c += add;
                return Some(Ok(()));
            }
            crate::wait::not_ready(nonblocking)
        })?;
        self.changed.wake_all();
        Ok(8)
    }

    fn stat(&self) -> Stat {
        Stat { mode: 0o600, nlink: 1, blksize: 4096, dev: 13, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges::both(self.changed.wakes()))
    }

    fn watch_readiness(&self, list: &Arc<ReadyList>, key: i32) -> bool {
        self.changed.watch(list, key);
        true
    }

    fn unwatch_readiness(&self, list: &ReadyList, key: i32) {
        self.changed.unwatch(list, key);
    }

    fn readiness(&self) -> Readiness {
        let c = *self.count.lock();
        Readiness {
            readable: c > 0,
            writable: c < MAX,
            hangup: false,
            plain: true,
            ..Readiness::default()
        }
    }
}
