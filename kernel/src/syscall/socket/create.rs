//! socket(2) and socketpair(2): the domain, the type and its descriptor flags.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::net::addr::Family;
use crate::net::socket::{SockType, Socket};

const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
/// The bits of socket(2)'s type argument that hold the type.
const SOCK_TYPE_MASK: u64 = 0xf;

/// The flags a new socket descriptor gets, which socket(2)'s type argument and accept4(2)'s
/// flags carry.
#[derive(Clone, Copy)]
pub(super) struct NewFdFlags {
    /// SOCK_NONBLOCK: the file is O_NONBLOCK.
    pub(super) nonblocking: bool,
    /// SOCK_CLOEXEC: the descriptor is FD_CLOEXEC.
    pub(super) cloexec: bool,
}

impl NewFdFlags {
    /// Decodes the flags from `raw`, in which only they and the bits of `others` may be set
    /// (EINVAL otherwise).
    pub(super) fn decode(raw: u64, others: u64) -> SysResult<Self> {
        if raw & !(SOCK_NONBLOCK | SOCK_CLOEXEC | others) != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(Self { nonblocking: raw & SOCK_NONBLOCK != 0, cloexec: raw & SOCK_CLOEXEC != 0 })
    }
}

/// Splits socket(2)'s type argument into the type and the new descriptor's flags.
fn type_and_flags(raw: u64) -> SysResult<(SockType, NewFdFlags)> {
    let flags = NewFdFlags::decode(raw, SOCK_TYPE_MASK)?;
    Ok((SockType::from_raw(raw & SOCK_TYPE_MASK)?, flags))
}

/// Decodes socket(2)'s domain argument (EAFNOSUPPORT for a family without sockets).
fn family_arg(raw: u64) -> SysResult<Family> {
    u16::try_from(raw).ok().and_then(Family::from_raw).ok_or(Errno::EAFNOSUPPORT)
}

/// socket(2).
pub fn sys_socket(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (kind, flags) = type_and_flags(a[1])?;
    let socket = Socket::new(family_arg(a[0])?, kind, a[2], flags.nonblocking, ctx)?;
    ctx.process.install_file(socket.into_file(), flags.cloexec).map(|fd| fd as u64)
}

/// socketpair(2).
pub fn sys_socketpair(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (kind, flags) = type_and_flags(a[1])?;
    let (x, y) = Socket::pair(family_arg(a[0])?, kind, a[2], flags.nonblocking, ctx)?;
    let (fx, fy) = ctx.process.install_file_pair(x.into_file(), y.into_file(), flags.cloexec)?;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&fx.to_le_bytes());
    out[4..].copy_from_slice(&fy.to_le_bytes());
    if let Err(e) = ctx.mem().write(a[3], &out) {
        ctx.process.with_files(|files| {
            let _ = files.remove(fx);
            let _ = files.remove(fy);
        });
        return Err(e);
    }
    Ok(0)
}
