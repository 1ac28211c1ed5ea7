//! A descriptor of a message queue (what mq_open returns): the queue, the access mode it
//! was opened with and its status flags (O_NONBLOCK decides whether send and receive
//! wait). Reading it gives the queue's status line, as Linux's mqueue files do; poll sees
//! a message (POLLIN) and room for one (POLLOUT).

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::queue::MessageQueue;
use crate::error::{Errno, SysResult};
use crate::fs::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::process::Pid;

/// What stat shows of a queue: a regular file of FILENT_SIZE bytes on the mqueue mount.
const S_IFREG: u32 = 0o100000;
const FILENT_SIZE: i64 = 80;
const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;
const SEEK_END: u32 = 2;

/// An open message queue.
pub struct MqFile {
    queue: Arc<MessageQueue>,
    /// Linux's FMODE_READ and FMODE_WRITE (access mode 3 gives neither).
    can_read: bool,
    can_write: bool,
    flags: SpinLock<OpenFlags>,
    /// Where reading the status line resumes.
    offset: SpinLock<u64>,
}

impl MqFile {
    /// A descriptor of `queue` opened with `oflag` (creation flags are dropped, as
    /// Linux's do_dentry_open drops them).
    pub fn new(queue: Arc<MessageQueue>, oflag: u32) -> Arc<Self> {
        let accmode = oflag & 3;
        let dropped = OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::NOCTTY | OpenFlags::TRUNC;
        Arc::new(Self {
            queue,
            can_read: accmode == 0 || accmode == 2,
            can_write: accmode == 1 || accmode == 2,
            flags: SpinLock::new(OpenFlags::from_bits_truncate(oflag) - dropped),
            offset: SpinLock::new(0),
        })
    }

    /// The queue.
    pub fn queue(&self) -> &Arc<MessageQueue> {
        &self.queue
    }

    /// Whether it was opened for receiving.
    pub fn can_read(&self) -> bool {
        self.can_read
    }

    /// Whether it was opened for sending.
    pub fn can_write(&self) -> bool {
        self.can_write
    }

    /// Whether send and receive return EAGAIN rather than wait.
    pub fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }

    /// mq_getsetattr's change: sets or clears O_NONBLOCK.
    pub fn set_nonblocking(&self, on: bool) {
        self.flags.lock().set(OpenFlags::NONBLOCK, on);
    }
}

impl FileLike for MqFile {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if !self.can_read {
            return Err(Errno::EBADF);
        }
        let line = self.queue.status_line();
        let mut offset = self.offset.lock();
        let start = (*offset).min(line.len() as u64) as usize;
        let n = buf.len().min(line.len() - start);
        buf[..n].copy_from_slice(&line.as_bytes()[start..start + n]);
        *offset += n as u64;
        Ok(n)
    }

    fn write(&self, _buf: &[u8]) -> SysResult<usize> {
        Err(if self.can_write { Errno::EINVAL } else { Errno::EBADF })
    }

    /// Linux's default_llseek over a file of FILENT_SIZE bytes.
    fn seek(&self, off: i64, whence: u32) -> SysResult<u64> {
        let mut offset = self.offset.lock();
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *offset as i64,
            SEEK_END => FILENT_SIZE,
            _ => return Err(Errno::EINVAL),
        };
        let to = base.checked_add(off).filter(|&to| to >= 0).ok_or(Errno::EINVAL)?;
        *offset = to as u64;
        Ok(to as u64)
    }

    fn stat(&self) -> Stat {
        let owner = self.queue.owner();
        Stat {
            ino: self.queue.ino(),
            nlink: if self.queue.unlinked() { 0 } else { 1 },
            mode: S_IFREG | owner.mode,
            uid: owner.uid,
            gid: owner.gid,
            size: FILENT_SIZE,
            blksize: 4096,
            ..Stat::default()
        }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness(&self) -> Readiness {
        let (readable, writable) = self.queue.readiness();
        Readiness { readable, writable, ..Readiness::default() }
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges::both(self.queue.wakes()))
    }

    /// A close by the process registered for notification ends its registration.
    fn flush(&self, closer: Pid) {
        self.queue.unregister(closer);
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
