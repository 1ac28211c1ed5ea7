//! bind(2), connect(2), getsockname(2), getpeername(2), and the sockaddrs every socket call
//! reads and writes.

use super::{SyscallCtx, socket_arg, socklen_arg};
use crate::error::SysResult;
use crate::net::addr::{Family, SockAddr};

/// Reads the sockaddr of `len` bytes at `addr` for a socket of `family`.
pub(super) fn read_address(
    ctx: &SyscallCtx,
    family: Family,
    addr: u64,
    len: u64,
) -> SysResult<SockAddr> {
    let len = len as usize;
    SockAddr::check_len(family, len)?;
    let mut raw = alloc::vec![0u8; len];
    ctx.mem().read(addr, &mut raw)?;
    Ok(SockAddr::parse(family, &raw)?)
}

/// Writes a received message's source address; `None` writes length 0 (no address).
pub(super) fn write_source(
    ctx: &SyscallCtx,
    addr: u64,
    len_addr: u64,
    value: Option<&SockAddr>,
) -> SysResult<()> {
    match value {
        None if addr != 0 && len_addr != 0 => ctx.mem().write_u32(len_addr, 0),
        None => Ok(()),
        Some(value) => write_address(ctx, addr, len_addr, value),
    }
}

/// Writes `value` into a buffer of `*len_addr` bytes (truncating, as Linux does) and
/// stores the full length in `*len_addr`.
pub(super) fn write_address(
    ctx: &SyscallCtx,
    addr: u64,
    len_addr: u64,
    value: &SockAddr,
) -> SysResult<()> {
    if addr == 0 || len_addr == 0 {
        return Ok(());
    }
    let mem = ctx.mem();
    let room = socklen_arg(&mem, len_addr)?;
    let raw = value.to_bytes();
    let n = raw.len().min(room);
    mem.write(addr, &raw[..n])?;
    mem.write_u32(len_addr, raw.len() as u32)
}

/// bind(2).
pub fn sys_bind(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let addr = read_address(ctx, socket.family(), a[1], a[2])?;
    socket.bind(addr, ctx)?;
    Ok(0)
}

/// connect(2).
pub fn sys_connect(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let addr = read_address(ctx, socket.family(), a[1], a[2])?;
    socket.connect(addr, ctx)?;
    Ok(0)
}

/// getsockname(2).
pub fn sys_getsockname(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    write_address(ctx, a[1], a[2], &socket.local_addr())?;
    Ok(0)
}

/// getpeername(2).
pub fn sys_getpeername(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let peer = socket.peer_addr()?;
    write_address(ctx, a[1], a[2], &peer)?;
    Ok(0)
}
