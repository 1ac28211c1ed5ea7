//! Linux error numbers, as syscalls return them.

/// A Linux errno. Syscalls return `-(errno as isize)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
#[allow(clippy::upper_case_acronyms, missing_docs, dead_code)] // the full table, used or not yet
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    ERANGE = 34,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOTSUP = 95,
    ETIMEDOUT = 110,
}

/// What every syscall helper returns.
pub type SysResult<T> = Result<T, Errno>;

impl From<ostd::mm::VmError> for Errno {
    fn from(e: ostd::mm::VmError) -> Self {
        match e {
            ostd::mm::VmError::OutOfMemory => Errno::ENOMEM,
            ostd::mm::VmError::AlreadyMapped(_) => Errno::EEXIST,
            ostd::mm::VmError::BadAddress(_) | ostd::mm::VmError::Fault(_) | ostd::mm::VmError::NotMapped(_) => Errno::EFAULT,
            ostd::mm::VmError::NotActive => Errno::EFAULT,
        }
    }
}
