//! Process file descriptors (pidfd_open): a descriptor that names one process for
//! pidfd_send_signal, and polls readable once that process has exited.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::Process;
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};

/// A pidfd.
pub struct PidFd {
    process: Arc<Process>,
    flags: SpinLock<OpenFlags>,
}

impl PidFd {
    /// A pidfd for `process`; `nonblocking` is PIDFD_NONBLOCK.
    pub fn new(process: Arc<Process>, nonblocking: bool) -> Arc<Self> {
        let flags =
            if nonblocking { OpenFlags::RDWR | OpenFlags::NONBLOCK } else { OpenFlags::RDWR };
        Arc::new(Self { process, flags: SpinLock::new(flags) })
    }
}

/// The process `file` names, if it is a pidfd.
pub fn process_of(file: &dyn FileLike) -> Option<Arc<Process>> {
    file.as_any()?.downcast_ref::<PidFd>().map(|pidfd| pidfd.process.clone())
}

impl FileLike for PidFd {
    fn stat(&self) -> Stat {
        // An anonymous inode, as Linux 6.1 gives pidfds.
        Stat {
            mode: 0o100600,
            nlink: 1,
            blksize: 4096,
            ino: 0x7000_0000 + self.process.pid() as u64,
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
        let exited = self.process.is_zombie();
        Readiness {
            readable: exited,
            writable: false,
            hangup: exited,
            plain: true,
            ..Readiness::default()
        }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
