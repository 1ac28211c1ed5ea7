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
    ENOTBLK = 15,
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
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ENODATA = 61,
    EOVERFLOW = 75,
    ELIBBAD = 80,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    /// Also EOPNOTSUPP: Linux gives both names the same number.
    ENOTSUP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EUCLEAN = 117,
}

/// What every syscall helper returns.
pub type SysResult<T> = Result<T, Errno>;

impl From<ostd::mm::VmError> for Errno {
    fn from(e: ostd::mm::VmError) -> Self {
        match e {
            ostd::mm::VmError::OutOfMemory => Errno::ENOMEM,
            ostd::mm::VmError::AlreadyMapped(_) => Errno::EEXIST,
            ostd::mm::VmError::BadAddress(_)
            | ostd::mm::VmError::Fault(_)
            | ostd::mm::VmError::NotMapped(_) => Errno::EFAULT,
            ostd::mm::VmError::NotActive => Errno::EFAULT,
        }
    }
}

impl From<crate::net::addr::AddrError> for Errno {
    /// The errno Linux gives for each way a sockaddr can be wrong.
    fn from(e: crate::net::addr::AddrError) -> Self {
        use crate::net::addr::{AddrError, Family};
        match e {
            AddrError::Length { .. } | AddrError::PathNotUtf8 => Errno::EINVAL,
            AddrError::WrongFamily { socket: Family::Unix | Family::Netlink, .. } => Errno::EINVAL,
            AddrError::WrongFamily { socket: Family::Inet | Family::Inet6, .. } => {
                Errno::EAFNOSUPPORT
            }
        }
    }
}
