//! socket(2) and socketpair(2): the domain, the type and its descriptor flags.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::net::addr::Family;
use crate::net::socket::{SockType, Socket};

pub(super) const SOCK_NONBLOCK: u64 = 0o4000;
pub(super) const SOCK_CLOEXEC: u64 = 0o2000000;

/// Splits socket(2)'s type argument into the type and its SOCK_NONBLOCK/SOCK_CLOEXEC flags.
fn type_and_flags(raw: u64) -> SysResult<(SockType, bool, bool)> {
    if raw & !(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((SockType::from_raw(raw & 0xf)?, raw & SOCK_NONBLOCK != 0, raw & SOCK_CLOEXEC != 0))
}

/// Decodes socket(2)'s domain argument (EAFNOSUPPORT for a family without sockets).
fn family_arg(raw: u64) -> SysResult<Family> {
    u16::try_from(raw).ok().and_then(Family::from_raw).ok_or(Errno::EAFNOSUPPORT)
}

/// socket(2).
pub fn sys_socket(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (kind, nonblocking, cloexec) = type_and_flags(a[1])?;
    let socket = Socket::new(family_arg(a[0])?, kind, a[2], nonblocking, ctx)?;
    ctx.process.install_file(socket.into_file(), cloexec).map(|fd| fd as u64)
}

/// socketpair(2).
pub fn sys_socketpair(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (kind, nonblocking, cloexec) = type_and_flags(a[1])?;
    let (x, y) = Socket::pair(family_arg(a[0])?, kind, a[2], nonblocking, ctx)?;
    let (fx, fy) = ctx.process.install_file_pair(x.into_file(), y.into_file(), cloexec)?;
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
