//! The socket calls: socket, socketpair, bind, listen, connect, accept, send*/recv*,
//! shutdown, get/setsockopt, getsockname/getpeername. AF_UNIX only for now; other families
//! answer EAFNOSUPPORT, which programs (and CPython's tests) treat as "no such network".

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::file::FileLike;
use crate::net::addr::{Family, SockAddr};
use crate::net::socket::{Credentials, IoFlags, Received, SockType, Socket, SocketCaller};
use crate::process::creds::FsCaller;

const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;

const MSG_PEEK: u64 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_EOR: u64 = 0x80;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;

const SOL_SOCKET: u64 = 1;
const SCM_RIGHTS: i32 = 1;
/// The most descriptors one SCM_RIGHTS message may carry (Linux's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

impl SocketCaller for SyscallCtx<'_> {
    fn credentials(&self) -> Credentials {
        let c = self.process.creds();
        Credentials { pid: self.process.pid(), uid: c.euid, gid: c.egid }
    }

    fn fs(&self) -> FsCaller {
        super::fs::caller(self)
    }
}

/// Returns the socket behind descriptor `fd` (EBADF, or ENOTSOCK for another file).
fn socket_arg(ctx: &SyscallCtx, fd: u64) -> SysResult<Socket> {
    let file = ctx.process.file(fd as i32)?;
    file.into_socket().ok_or(Errno::ENOTSOCK)
}

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

/// Reads the sockaddr of `len` bytes at `addr` for a socket of `family`.
fn read_address(ctx: &SyscallCtx, family: Family, addr: u64, len: u64) -> SysResult<SockAddr> {
    let len = len as usize;
    SockAddr::check_len(family, len)?;
    let mut raw = alloc::vec![0u8; len];
    ctx.mem().read(addr, &mut raw)?;
    Ok(SockAddr::parse(family, &raw)?)
}

/// Writes a received message's source address; `None` writes length 0 (no address).
fn write_source(
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
fn write_address(ctx: &SyscallCtx, addr: u64, len_addr: u64, value: &SockAddr) -> SysResult<()> {
    if addr == 0 || len_addr == 0 {
        return Ok(());
    }
    let mem = ctx.mem();
    let room = mem.read_u32(len_addr)? as i32;
    if room < 0 {
        return Err(Errno::EINVAL);
    }
    let raw = value.to_bytes();
    let n = raw.len().min(room as usize);
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

/// listen(2).
pub fn sys_listen(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    socket_arg(ctx, a[0])?.listen(a[1] as i32)?;
    Ok(0)
}

/// connect(2).
pub fn sys_connect(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let addr = read_address(ctx, socket.family(), a[1], a[2])?;
    socket.connect(addr, ctx)?;
    Ok(0)
}

/// accept4(2).
pub fn sys_accept4(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[3] & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let socket = socket_arg(ctx, a[0])?;
    let (conn, peer) = socket.accept()?;
    let conn = conn.into_file();
    if a[3] & SOCK_NONBLOCK != 0 {
        conn.set_status_flags(conn.flags() | crate::fs::OpenFlags::NONBLOCK);
    }
    let fd = ctx.process.install_file(conn, a[3] & SOCK_CLOEXEC != 0)?;
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

fn io_flags(flags: u64) -> IoFlags {
    IoFlags {
        nonblocking: flags & MSG_DONTWAIT != 0,
        peek: flags & MSG_PEEK != 0,
        wait_all: flags & MSG_WAITALL != 0,
    }
}

/// Sends, raising SIGPIPE on EPIPE unless MSG_NOSIGNAL.
fn send(
    ctx: &SyscallCtx,
    socket: &Socket,
    data: &[u8],
    rights: Vec<Arc<dyn FileLike>>,
    to: Option<SockAddr>,
    flags: u64,
) -> SysResult<u64> {
    if flags
        & !(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR | 0x4 /* MSG_DONTROUTE */ | 0x8000/* MSG_MORE */)
        != 0
    {
        return Err(Errno::ENOTSUP);
    }
    match socket.send(data, rights, to, io_flags(flags), ctx) {
        Err(Errno::EPIPE) if flags & MSG_NOSIGNAL == 0 => {
            crate::process::signal::send(ctx.process, crate::process::signal::SIGPIPE);
            Err(Errno::EPIPE)
        }
        other => other.map(|n| n as u64),
    }
}

/// sendto(2).
pub fn sys_sendto(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let mut data = crate::memory::user_sized_buffer(a[2] as usize)?;
    ctx.mem().read(a[1], &mut data)?;
    let to = if a[4] != 0 { Some(read_address(ctx, socket.family(), a[4], a[5])?) } else { None };
    send(ctx, &socket, &data, Vec::new(), to, a[3])
}

/// recvfrom(2).
pub fn sys_recvfrom(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    // Checked before anything is dequeued, as Linux's import_single_range does.
    crate::user_mem::range_ok(a[1], a[2])?;
    let got = receive(&socket, a[2] as usize, a[3])?;
    ctx.mem().write(a[1], &got.data)?;
    write_source(ctx, a[4], a[5], got.from.as_ref())?;
    Ok(if a[3] & MSG_TRUNC != 0 { got.full_len } else { got.data.len() } as u64)
}

fn receive(socket: &Socket, max: usize, flags: u64) -> SysResult<Received> {
    // 0x2000 is MSG_ERRQUEUE.
    if flags & !(MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC | 0x2000) != 0
    {
        return Err(Errno::ENOTSUP);
    }
    socket.receive(max, io_flags(flags))
}

/// The parts of a `struct msghdr`.
struct MsgHdr {
    name: u64,
    name_len: u64,
    iov: Vec<(u64, usize)>,
    control: u64,
    control_len: u64,
}

fn read_msghdr(ctx: &SyscallCtx, addr: u64) -> SysResult<MsgHdr> {
    let mem = ctx.mem();
    let name = mem.read_u64(addr)?;
    let name_len = u64::from(mem.read_u32(addr + 8)?);
    let iov_addr = mem.read_u64(addr + 16)?;
    let iov_len = mem.read_u64(addr + 24)?;
    let control = mem.read_u64(addr + 32)?;
    let control_len = mem.read_u64(addr + 40)?;
    let iov = super::fs::iovecs(ctx, iov_addr, iov_len)?;
    Ok(MsgHdr { name, name_len, iov, control, control_len })
}

/// Reads the SCM_RIGHTS descriptors of a control buffer as the files they name.
fn read_rights(ctx: &SyscallCtx, control: u64, len: u64) -> SysResult<Vec<Arc<dyn FileLike>>> {
    let mut rights = Vec::new();
    if control == 0 || len == 0 {
        return Ok(rights);
    }
    let mut raw = alloc::vec![0u8; (len as usize).min(64 * 1024)];
    ctx.mem().read(control, &mut raw)?;
    let mut at = 0;
    while at + 16 <= raw.len() {
        let cmsg_len = u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes")) as usize;
        let level = i32::from_le_bytes(raw[at + 8..at + 12].try_into().expect("4 bytes"));
        let kind = i32::from_le_bytes(raw[at + 12..at + 16].try_into().expect("4 bytes"));
        if cmsg_len < 16 || at + cmsg_len > raw.len() {
            return Err(Errno::EINVAL);
        }
        if level as u64 == SOL_SOCKET && kind == SCM_RIGHTS {
            let fds = &raw[at + 16..at + cmsg_len];
            ctx.process.with_files(|files| {
                for fd in fds.chunks_exact(4) {
                    rights.push(files.get(i32::from_le_bytes(fd.try_into().expect("4 bytes")))?);
                }
                SysResult::Ok(())
            })?;
            if rights.len() > SCM_MAX_FD {
                return Err(Errno::EINVAL);
            }
        } else if level as u64 != SOL_SOCKET || kind != 2 {
            return Err(Errno::EINVAL);
        }
        at += (cmsg_len + 7) & !7;
    }
    Ok(rights)
}

/// sendmsg(2).
pub fn sys_sendmsg(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let msg = read_msghdr(ctx, a[1])?;
    let total = msg
        .iov
        .iter()
        .try_fold(0usize, |sum, (_, len)| sum.checked_add(*len))
        .ok_or(Errno::EINVAL)?;
    let mut data = crate::memory::user_sized_buffer(total)?;
    let mut start = 0;
    for (base, len) in &msg.iov {
        ctx.mem().read(*base, &mut data[start..start + len])?;
        start += len;
    }
    let rights = read_rights(ctx, msg.control, msg.control_len)?;
    let to = if msg.name != 0 && msg.name_len != 0 {
        Some(read_address(ctx, socket.family(), msg.name, msg.name_len)?)
    } else {
        None
    };
    send(ctx, &socket, &data, rights, to, a[2])
}

/// recvmsg(2).
pub fn sys_recvmsg(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let msg = read_msghdr(ctx, a[1])?;
    let max: usize = msg.iov.iter().map(|(_, l)| l).sum();
    let got = receive(&socket, max, a[2])?;
    let mem = ctx.mem();
    let mut at = 0;
    for (base, len) in &msg.iov {
        let n = (*len).min(got.data.len() - at);
        mem.write(*base, &got.data[at..at + n])?;
        at += n;
    }
    let mut msg_flags = if got.truncated { MSG_TRUNC as u32 } else { 0 };
    let control_used =
        deliver_rights(ctx, &msg, got.rights, a[2] & MSG_CMSG_CLOEXEC != 0, &mut msg_flags)?;
    if msg.name != 0 {
        // msg_namelen is an in/out field inside the header.
        mem.write_u32(a[1] + 8, msg.name_len as u32)?;
        write_source(ctx, msg.name, a[1] + 8, got.from.as_ref())?;
    } else {
        mem.write_u32(a[1] + 8, 0)?;
    }
    mem.write_u64(a[1] + 40, control_used)?;
    mem.write_u32(a[1] + 48, msg_flags)?;
    Ok(if a[2] & MSG_TRUNC != 0 { got.full_len } else { got.data.len() } as u64)
}

/// Installs received files as descriptors and writes their SCM_RIGHTS message; what does not
/// fit the control buffer is dropped and MSG_CTRUNC set. Returns the control bytes used.
fn deliver_rights(
    ctx: &SyscallCtx,
    msg: &MsgHdr,
    rights: Vec<Arc<dyn FileLike>>,
    cloexec: bool,
    msg_flags: &mut u32,
) -> SysResult<u64> {
    if rights.is_empty() {
        return Ok(0);
    }
    let room = if msg.control == 0 { 0 } else { msg.control_len as usize };
    let fit = room.saturating_sub(16) / 4;
    if fit < rights.len() {
        *msg_flags |= MSG_CTRUNC;
    }
    let mut fds = Vec::new();
    ctx.process.with_files(|files| {
        for file in rights.into_iter().take(fit) {
            match files.insert(file, cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => {
                    *msg_flags |= MSG_CTRUNC;
                    break;
                }
            }
        }
    });
    if fds.is_empty() {
        return Ok(0);
    }
    let cmsg_len = 16 + 4 * fds.len();
    let mut raw = Vec::with_capacity(cmsg_len);
    raw.extend_from_slice(&(cmsg_len as u64).to_le_bytes());
    raw.extend_from_slice(&(SOL_SOCKET as i32).to_le_bytes());
    raw.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
    for fd in &fds {
        raw.extend_from_slice(&fd.to_le_bytes());
    }
    ctx.mem().write(msg.control, &raw)?;
    Ok(((cmsg_len + 7) & !7).min(room) as u64)
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
    let room = mem.read_u32(a[4])? as i32;
    if room < 0 {
        return Err(Errno::EINVAL);
    }
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
    let n = value.len().min(room as usize);
    mem.write(a[3], &value[..n])?;
    mem.write_u32(a[4], n as u32)?;
    Ok(0)
}
