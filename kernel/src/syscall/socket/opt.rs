//! getsockopt(2), setsockopt(2): the SOL_SOCKET options.

use alloc::vec::Vec;

use super::{SyscallCtx, socket_arg, socklen_arg};
use crate::error::{Errno, SysResult};
use crate::net::socket::Credentials;

pub(super) const SOL_SOCKET: u64 = 1;
const SO_REUSEADDR: u64 = 2;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_KEEPALIVE: u64 = 9;
const SO_PASSCRED: u64 = 16;
const SO_PEERCRED: u64 = 17;
const SO_ACCEPTCONN: u64 = 30;
const SO_PROTOCOL: u64 = 38;
const SO_DOMAIN: u64 = 39;

/// setsockopt(2): the SOL_SOCKET options that mean something for Unix sockets.
pub fn sys_setsockopt(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    if a[1] != SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    if (a[4] as i32) < 4 {
        return Err(Errno::EINVAL);
    }
    let value = ctx.mem().read_u32(a[3])?;
    match a[2] {
        SO_PASSCRED => socket.set_pass_cred(value != 0),
        SO_SNDBUF => socket.set_buffer(true, value),
        SO_RCVBUF => socket.set_buffer(false, value),
        SO_REUSEADDR | SO_KEEPALIVE => {}
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

/// getsockopt(2).
pub fn sys_getsockopt(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    if a[1] != SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    }
    let mem = ctx.mem();
    let room = socklen_arg(&mem, a[4])?;
    let value: Vec<u8> = match a[2] {
        SO_TYPE => socket.kind().raw().to_le_bytes().to_vec(),
        SO_ERROR | SO_REUSEADDR | SO_KEEPALIVE => 0u32.to_le_bytes().to_vec(),
        SO_SNDBUF => (socket.buffer(true) as u32).to_le_bytes().to_vec(),
        SO_RCVBUF => (socket.buffer(false) as u32).to_le_bytes().to_vec(),
        SO_PASSCRED => u32::from(socket.pass_cred()).to_le_bytes().to_vec(),
        SO_ACCEPTCONN => u32::from(socket.is_listening()).to_le_bytes().to_vec(),
        SO_DOMAIN => u32::from(socket.family().raw()).to_le_bytes().to_vec(),
        SO_PROTOCOL => socket.protocol().to_le_bytes().to_vec(),
        SO_PEERCRED => {
            // Linux reports pid 0 and the overflow IDs when there is no peer.
            let c =
                socket.peer_credentials().unwrap_or(Credentials { pid: 0, uid: 65534, gid: 65534 });
            let mut v = Vec::from(c.pid.to_le_bytes());
            v.extend_from_slice(&c.uid.to_le_bytes());
            v.extend_from_slice(&c.gid.to_le_bytes());
            v
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let n = value.len().min(room);
    mem.write(a[3], &value[..n])?;
    mem.write_u32(a[4], n as u32)?;
    Ok(0)
}
