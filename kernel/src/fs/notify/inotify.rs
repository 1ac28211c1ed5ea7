//! An inotify instance as an open file (inotify_init1), and the calls that manage its
//! watches (inotify_add_watch, inotify_rm_watch).
//!
//! Reading returns whole `struct inotify_event` records and blocks (interruptibly) while
//! none is queued; poll/select/epoll report it readable while one is; FIONREAD gives the
//! bytes queued. Closing it drops its watches without a word.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::event::{ALL_INOTIFY_BITS, IN_MASK_ADD, IN_MASK_CREATE};
use super::queue::EventQueue;
use super::{limits, watches};
use crate::error::{Errno, SysResult};
use crate::fs::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::fs::{Node, NodeKind};
use crate::user_mem::UserMem;

/// inotify_init1 flags: IN_NONBLOCK and IN_CLOEXEC (O_NONBLOCK and O_CLOEXEC's values).
pub const IN_NONBLOCK: u32 = 0o4000;
/// See [`IN_NONBLOCK`].
pub const IN_CLOEXEC: u32 = 0o2000000;

const FIONREAD: u32 = 0x541b;

/// An inotify instance.
pub struct Inotify {
    queue: Arc<EventQueue>,
    flags: SpinLock<OpenFlags>,
    owner: u32,
}

impl Inotify {
    /// Creates an instance for the user `euid` (inotify_init1's checks: EINVAL for flags
    /// other than IN_NONBLOCK and IN_CLOEXEC, EMFILE past max_user_instances). The caller
    /// installs it, close-on-exec under IN_CLOEXEC.
    pub fn new(flags: u32, euid: u32) -> SysResult<Arc<Self>> {
        if flags & !(IN_NONBLOCK | IN_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        limits::charge_instance(euid)?;
        let queue = Arc::new(EventQueue::new(limits::max_queued_events()));
        watches::add_instance(&queue, euid);
        let status =
            if flags & IN_NONBLOCK != 0 { OpenFlags::NONBLOCK } else { OpenFlags::empty() };
        Ok(Arc::new(Self { queue, flags: SpinLock::new(status), owner: euid }))
    }

    /// The instance behind `file`: EINVAL for any other file, as Linux answers.
    pub fn of(file: &dyn FileLike) -> SysResult<&Self> {
        file.as_any().and_then(|any| any.downcast_ref::<Self>()).ok_or(Errno::EINVAL)
    }

    /// Watches `node` for the events in `mask` (inotify_add_watch once its path resolved
    /// to `node`; [`check_watch_mask`] and the read permission checked). Returns the
    /// watch descriptor.
    pub fn add_watch(&self, node: &Arc<Node>, mask: u32) -> SysResult<i32> {
        watches::add(&self.queue, node, mask)
    }

    /// Removes watch `wd` (inotify_rm_watch): IN_IGNORED is queued; EINVAL if unknown.
    pub fn remove_watch(&self, wd: i32) -> SysResult<()> {
        watches::remove(&self.queue, wd)
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }
}

/// The checks inotify_add_watch makes on `mask` before it looks at the descriptor: EINVAL
/// for a bit inotify does not know, or for no bit at all.
pub fn check_watch_mask(mask: u32) -> SysResult<()> {
    if mask & !ALL_INOTIFY_BITS != 0 || mask & ALL_INOTIFY_BITS == 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// The checks inotify_add_watch makes on `mask` once the descriptor is known to be open:
/// IN_MASK_ADD and IN_MASK_CREATE together are EINVAL.
pub fn check_watch_mask_flags(mask: u32) -> SysResult<()> {
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        watches::remove_instance(&self.queue);
        limits::release_instance(self.owner);
    }
}

impl FileLike for Inotify {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let nonblocking = self.nonblocking();
        self.queue.readers.wait_until(|| {
            self.queue.take_into(buf).or_else(|| crate::wait::not_ready(nonblocking))
        })
    }

    /// The instance is open read-only, so writing is EBADF.
    fn write(&self, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::EBADF)
    }

    /// Linux's `noop_llseek`: succeeds and stays at 0.
    fn seek(&self, _offset: i64, _whence: u32) -> SysResult<u64> {
        Ok(0)
    }

    fn stat(&self) -> Stat {
        // An anonymous inode, as Linux gives inotify instances.
        Stat { mode: 0o600, nlink: 1, blksize: 4096, dev: 13, ..Stat::default() }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match cmd {
            FIONREAD => {
                let bytes = self.queue.queued_bytes().min(i32::MAX as usize) as u32;
                mem.write_u32(arg, bytes)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
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
        Readiness { readable: self.queue.has_events(), ..Readiness::default() }
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges::both(self.queue.readers.wakes()))
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// Whether a watch may be put on `node` as IN_ONLYDIR asks: ENOTDIR for anything but a
/// directory.
pub fn check_only_dir(node: &Node, mask: u32) -> SysResult<()> {
    if mask & super::event::IN_ONLYDIR != 0 && node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    Ok(())
}
