//! listen(2), accept(2), accept4(2), shutdown(2): connections.

use super::addr::write_address;
use super::create::NewFdFlags;
use super::{SyscallCtx, socket_arg};
use crate::error::{Errno, SysResult};

/// listen(2).
pub fn sys_listen(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    socket_arg(ctx, a[0])?.listen(a[1] as i32)?;
    Ok(0)
}

/// accept4(2).
pub fn sys_accept4(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = NewFdFlags::decode(a[3], 0)?;
    let socket = socket_arg(ctx, a[0])?;
    let (conn, peer) = socket.accept()?;
    let conn = conn.into_file();
    if flags.nonblocking {
        conn.set_status_flags(conn.flags() | crate::fs::OpenFlags::NONBLOCK);
    }
    let fd = ctx.process.install_file(conn, flags.cloexec)?;
    if let Err(e) = write_address(ctx, a[1], a[2], &peer) {
        let _ = ctx.process.remove_file(fd);
        return Err(e);
    }
    Ok(fd as u64)
}

/// accept(2).
pub fn sys_accept(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_accept4(ctx, [a[0], a[1], a[2], 0, 0, 0])
}

/// shutdown(2).
pub fn sys_shutdown(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let (read, write) = match a[1] {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    socket.shutdown(read, write)?;
    Ok(0)
}
