//! POSIX message queue syscalls (mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
//! mq_notify, mq_getsetattr): `struct mq_attr` (eight longs: flags, maxmsg, msgsize,
//! curmsgs, four reserved), `struct sigevent` (value, signo, notify, then a union: 64
//! bytes) and absolute CLOCK_REALTIME timeouts, checked in Linux 6.1's order. The queues are
//! `crate::ipc::mqueue`'s.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::SyscallCtx;
use super::decode::read_timespec;
use super::fs::path_arg;
use crate::error::{Errno, SysResult};
use crate::fs::OpenFlags;
use crate::ipc::mqueue::file::MqFile;
use crate::ipc::mqueue::limits::MQ_PRIO_MAX;
use crate::ipc::mqueue::names::{self, OpenRequest};
use crate::ipc::mqueue::queue::{
    Capacity, Message, Notify, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD,
};
use crate::net::socket::Socket;
use crate::time::clock::realtime_to_monotonic_ns;
use crate::user_mem::UserMem;

const MQ_ATTR_SIZE: usize = 64;
const SIGEVENT_SIZE: usize = 64;
/// The bytes of the cookie a SIGEV_THREAD request hands over (NOTIFY_COOKIE_LEN).
const NOTIFY_COOKIE_LEN: usize = 32;

/// Reads a queue name: EFAULT, ENAMETOOLONG past PATH_MAX, ENOENT for an empty one (as
/// Linux's getname answers).
fn name_arg(ctx: &SyscallCtx, addr: u64) -> SysResult<alloc::string::String> {
    let name = path_arg(ctx, addr)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(name)
}

/// Reads a `struct mq_attr` as its four meaningful longs.
fn read_mq_attr(mem: &UserMem, addr: u64) -> SysResult<[i64; 4]> {
    let mut b = [0u8; MQ_ATTR_SIZE];
    mem.read(addr, &mut b)?;
    let long = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    Ok([long(0), long(1), long(2), long(3)])
}

/// The message queue behind descriptor `fd` (EBADF for another kind of file).
fn mq_file(ctx: &SyscallCtx, fd: u64) -> SysResult<Arc<dyn crate::fs::file::FileLike>> {
    let file = ctx.process.file(fd as i32)?;
    if file.as_any().and_then(|a| a.downcast_ref::<MqFile>()).is_none() {
        return Err(Errno::EBADF);
    }
    Ok(file)
}

fn as_mq(file: &Arc<dyn crate::fs::file::FileLike>) -> SysResult<&MqFile> {
    file.as_any().and_then(|a| a.downcast_ref::<MqFile>()).ok_or(Errno::EBADF)
}

/// An absolute CLOCK_REALTIME timeout as a monotonic deadline: EFAULT, or EINVAL for a
/// malformed timespec, even when the call would not wait (Linux's prepare_timeout).
fn deadline_arg(mem: &UserMem, addr: u64) -> SysResult<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    let t = read_timespec(mem, addr)?;
    let ns = i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec);
    Ok(Some(realtime_to_monotonic_ns(ns)))
}

/// mq_open(2): the attributes are read whenever given (EFAULT), used only to create.
pub fn sys_mq_open(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (oflag, mode, attr) = (a[1] as u32, a[2] as u32 & 0xffff, a[3]);
    let capacity = if attr != 0 {
        let [_, maxmsg, msgsize, _] = read_mq_attr(&ctx.mem(), attr)?;
        Some(Capacity { maxmsg, msgsize })
    } else {
        None
    };
    let name = name_arg(ctx, a[0])?;
    let budget = ctx.process.limit(crate::process::limits::MSGQUEUE).soft;
    let umask = ctx.process.fs_context().umask;
    let req = OpenRequest { oflag, mode, umask, capacity, budget };
    let queue = names::open(&name, &req, &ctx.process.identity())?;
    // Linux's do_mq_open always sets close-on-exec.
    let fd = ctx.process.install_file(MqFile::new(queue, oflag), true)?;
    Ok(fd as u64)
}

/// mq_unlink(2).
pub fn sys_mq_unlink(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let name = name_arg(ctx, a[0])?;
    names::unlink(&name, &ctx.process.identity()).map(|()| 0)
}

/// mq_timedsend(2): the timeout (EFAULT, EINVAL), EINVAL for a priority of MQ_PRIO_MAX or
/// more, EBADF for another file or one not open for writing, EMSGSIZE past the queue's
/// msgsize, then the message (EFAULT) before the queue is touched.
pub fn sys_mq_timedsend(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (buf, len, priority) = (a[1], a[2], a[3] as u32);
    let mem = ctx.mem();
    let deadline = deadline_arg(&mem, a[4])?;
    if priority >= MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let file = mq_file(ctx, a[0])?;
    let mq = as_mq(&file)?;
    if !mq.can_write() {
        return Err(Errno::EBADF);
    }
    if len > mq.queue().capacity().msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    // At most HARD_MSGSIZEMAX bytes, but a root-made queue may take that much: ENOMEM
    // rather than failing the kernel's allocator.
    let mut text = Vec::new();
    text.try_reserve_exact(len as usize).map_err(|_| Errno::ENOMEM)?;
    text.resize(len as usize, 0);
    mem.read(buf, &mut text)?;
    let msg = Message { priority, text };
    mq.queue().send(msg, mq.nonblocking(), deadline, ctx.process).map(|()| 0)
}

/// mq_timedreceive(2): the timeout (EFAULT, EINVAL), EBADF for another file or one not
/// open for reading, EMSGSIZE for a buffer smaller than the queue's msgsize; then the
/// priority and the message are written out (EFAULT loses the message, as on Linux).
pub fn sys_mq_timedreceive(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (buf, len, priority_at) = (a[1], a[2], a[3]);
    let mem = ctx.mem();
    let deadline = deadline_arg(&mem, a[4])?;
    let file = mq_file(ctx, a[0])?;
    let mq = as_mq(&file)?;
    if !mq.can_read() {
        return Err(Errno::EBADF);
    }
    if len < mq.queue().capacity().msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let msg = mq.queue().receive(mq.nonblocking(), deadline)?;
    if priority_at != 0 {
        mem.write_u32(priority_at, msg.priority)?;
    }
    mem.write(buf, &msg.text)?;
    Ok(msg.text.len() as u64)
}

/// mq_notify(2): with a `struct sigevent`, EINVAL for an unknown sigev_notify or a bad
/// signal; SIGEV_THREAD's cookie and netlink socket are checked (EFAULT, EBADF,
/// ENOTSOCK, EINVAL) but no netlink socket takes notifications here (ENOSYS); then
/// EBADF for another file and EBUSY if a process is registered. Without one, it ends the
/// caller's registration (and nothing else's).
pub fn sys_mq_notify(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mem = ctx.mem();
    let request = if a[1] != 0 {
        let mut b = [0u8; SIGEVENT_SIZE];
        mem.read(a[1], &mut b)?;
        let value = u64::from_le_bytes(b[0..8].try_into().unwrap_or([0; 8]));
        let signo = u32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
        let how = u32::from_le_bytes(b[12..16].try_into().unwrap_or([0; 4]));
        Some(match how {
            SIGEV_NONE => Notify::Nothing,
            SIGEV_SIGNAL if signo <= crate::process::signal::NSIG => {
                Notify::Signal { signo, value }
            }
            SIGEV_THREAD => return Err(thread_notification_refused(ctx, &mem, value, signo)),
            _ => return Err(Errno::EINVAL),
        })
    } else {
        None
    };
    let file = mq_file(ctx, a[0])?;
    let queue = as_mq(&file)?.queue();
    match request {
        Some(how) => queue.register(ctx.process, how)?,
        None => queue.unregister(ctx.process.pid()),
    }
    Ok(0)
}

/// Why a SIGEV_THREAD request fails, in Linux's order: the cookie (EFAULT), the socket
/// descriptor (EBADF), not a socket (ENOTSOCK), not a netlink socket (EINVAL); a netlink
/// socket would take the notification on Linux, which is not done here (ENOSYS).
fn thread_notification_refused(ctx: &SyscallCtx, mem: &UserMem, cookie: u64, fd: u32) -> Errno {
    let mut bytes = [0u8; NOTIFY_COOKIE_LEN];
    if let Err(e) = mem.read(cookie, &mut bytes) {
        return e;
    }
    let file = match ctx.process.file(fd as i32) {
        Ok(f) => f,
        Err(e) => return e,
    };
    match file.into_socket() {
        None => Errno::ENOTSOCK,
        Some(Socket::Netlink(_)) => Errno::ENOSYS,
        Some(_) => Errno::EINVAL,
    }
}

/// mq_getsetattr(2): EFAULT for the new attributes, EINVAL if their flags hold anything
/// but O_NONBLOCK, EBADF for another file; the old attributes are the queue's with the
/// descriptor's O_NONBLOCK, taken before the change.
pub fn sys_mq_getsetattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mem = ctx.mem();
    let new_flags = if a[1] != 0 { Some(read_mq_attr(&mem, a[1])?[0]) } else { None };
    if new_flags.is_some_and(|f| f & !(OpenFlags::NONBLOCK.bits() as i64) != 0) {
        return Err(Errno::EINVAL);
    }
    let file = mq_file(ctx, a[0])?;
    let mq = as_mq(&file)?;
    let capacity = mq.queue().capacity();
    let old_flags = if mq.nonblocking() { OpenFlags::NONBLOCK.bits() as i64 } else { 0 };
    let old = [old_flags, capacity.maxmsg, capacity.msgsize, mq.queue().count() as i64];
    if let Some(flags) = new_flags {
        mq.set_nonblocking(flags != 0);
    }
    if a[2] != 0 {
        let mut b = [0u8; MQ_ATTR_SIZE];
        for (i, v) in old.into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        mem.write(a[2], &b)?;
    }
    Ok(0)
}
