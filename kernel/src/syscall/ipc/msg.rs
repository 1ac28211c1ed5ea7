//! Message queue syscalls (msgget, msgsnd, msgrcv, msgctl): `struct msgbuf` (a long type,
//! then the text), `struct msqid64_ds` and `struct msginfo`, checked in Linux 6.1's order.
//! The queues are `crate::ipc::msg`'s.

use super::perm::{PERM_SIZE, put_u64, read_owner, u64_at, write_perm};
use crate::error::{Errno, SysResult};
use crate::ipc::limits;
use crate::ipc::msg::{self, IPC_NOWAIT, MSG_COPY, MSG_EXCEPT, Message, QueueStat, Receive};
use crate::syscall::SyscallCtx;

/// msgctl commands.
const IPC_RMID: i32 = 0;
const IPC_SET: i32 = 1;
const IPC_STAT: i32 = 2;
const IPC_INFO: i32 = 3;
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;
/// `struct msqid64_ds` and `struct msginfo` sizes.
const MSQID_DS_SIZE: usize = 120;
const MSGINFO_SIZE: usize = 32;
/// msginfo's fixed figures (Linux's MSGSSZ, MSGSEG, and the IPC_INFO stand-ins MSGPOOL,
/// MSGMAP, MSGTQL).
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;
const MSGPOOL: i32 = 32000 * 16384 / 1024;
const MSGMAP: i32 = 16384;
const MSGTQL: i32 = 16384;

/// msgget(2).
pub fn sys_msgget(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (key, flags) = (a[0] as i32, a[1] as u32);
    msg::get(key, flags, &ctx.process.identity()).map(|id| id as u64)
}

/// msgsnd(2): the type (EFAULT first, as Linux's ksys_msgsnd), EINVAL for a size over
/// msgmax, a negative ID or a type below 1, then the text.
pub fn sys_msgsnd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, buf, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32);
    let mem = ctx.mem();
    let mtype = mem.read_u64(buf)? as i64;
    if size > limits::msgmax() as u64 || (size as i64) < 0 || id < 0 || mtype < 1 {
        return Err(Errno::EINVAL);
    }
    // msgmax bounds the size, but root may raise it to INT_MAX: ENOMEM, as Linux's
    // load_msg, rather than failing the kernel's allocator.
    let mut text = alloc::vec::Vec::new();
    text.try_reserve_exact(size as usize).map_err(|_| Errno::ENOMEM)?;
    text.resize(size as usize, 0);
    mem.read(buf.wrapping_add(8), &mut text)?;
    let who = ctx.process.identity();
    msg::send(id, Message { mtype, text }, flags & IPC_NOWAIT != 0, &who, ctx.process.pid())?;
    Ok(0)
}

/// msgrcv(2): EINVAL for a negative ID or size, or MSG_COPY without IPC_NOWAIT or with
/// MSG_EXCEPT; then the message's type and as much of its text as fits. A message taken
/// from the queue and then not written out (EFAULT) is lost, as on Linux.
pub fn sys_msgrcv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, buf, size, msgtyp, flags) = (a[0] as i32, a[1], a[2], a[3] as i64, a[4] as u32);
    if id < 0 || (size as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let who = ctx.process.identity();
    let req = Receive { size: size as usize, msgtyp, flags };
    let message = msg::receive(id, &req, &who, ctx.process.pid())?;
    let mem = ctx.mem();
    mem.write_u64(buf, message.mtype as u64)?;
    let len = message.text.len().min(req.size);
    mem.write(buf.wrapping_add(8), &message.text[..len])?;
    Ok(len as u64)
}

/// msgctl(2).
pub fn sys_msgctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, cmd, buf) = (a[0] as i32, a[1] as i32, a[2]);
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let who = ctx.process.identity();
    let mem = ctx.mem();
    match cmd {
        IPC_INFO | MSG_INFO => {
            let usage = msg::usage();
            let (pool, map, tql) = if cmd == MSG_INFO {
                (usage.queues as i32, usage.messages as i32, usage.bytes as i32)
            } else {
                (MSGPOOL, MSGMAP, MSGTQL)
            };
            let words =
                [pool, map, limits::msgmax(), limits::msgmnb(), limits::msgmni(), MSGSSZ, tql];
            let mut b = [0u8; MSGINFO_SIZE];
            for (i, v) in words.into_iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
            b[28..30].copy_from_slice(&MSGSEG.to_le_bytes());
            mem.write(buf, &b)?;
            Ok(usage.max_index as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let s = msg::stat(id, by_index, cmd != MSG_STAT_ANY, &who)?;
            mem.write(buf, &msqid_ds_bytes(&s))?;
            Ok(if by_index { s.perm.id as u64 } else { 0 })
        }
        IPC_SET => {
            let (uid, gid, mode, raw) = read_owner(&mem, buf, MSQID_DS_SIZE)?;
            let qbytes = u64_at(&raw, 88);
            msg::set(id, uid, gid, mode, qbytes, &who).map(|()| 0)
        }
        IPC_RMID => msg::remove(id, &who).map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct msqid64_ds`: the permissions, then stime, rtime, ctime, cbytes, qnum, qbytes,
/// lspid and lrpid (32 bits each), two unused longs.
fn msqid_ds_bytes(s: &QueueStat) -> [u8; MSQID_DS_SIZE] {
    let mut b = [0u8; MSQID_DS_SIZE];
    write_perm(&mut b, &s.perm);
    let words = [s.stime as u64, s.rtime as u64, s.ctime as u64, s.cbytes, s.qnum, s.qbytes];
    for (i, v) in words.into_iter().enumerate() {
        put_u64(&mut b, PERM_SIZE + i * 8, v);
    }
    b[96..100].copy_from_slice(&s.lspid.to_le_bytes());
    b[100..104].copy_from_slice(&s.lrpid.to_le_bytes());
    b
}
