//! sendto(2), recvfrom(2), sendmsg(2), recvmsg(2): the MSG_* flags, `struct msghdr`, and
//! SIGPIPE for every family.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::addr::{read_address, write_source};
use super::cmsg::{deliver_rights, read_rights};
use super::{SyscallCtx, socket_arg};
use crate::error::{Errno, SysResult};
use crate::fs::file::FileLike;
use crate::net::addr::SockAddr;
use crate::net::socket::{IoFlags, Received, Socket};

const MSG_PEEK: u64 = 0x2;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_EOR: u64 = 0x80;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;

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
    let iov = crate::syscall::fs::iovecs(ctx, iov_addr, iov_len)?;
    Ok(MsgHdr { name, name_len, iov, control, control_len })
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
    let control_used = deliver_rights(
        ctx,
        msg.control,
        msg.control_len,
        got.rights,
        a[2] & MSG_CMSG_CLOEXEC != 0,
        &mut msg_flags,
    )?;
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
