//! Semaphore syscalls (semget, semop, semtimedop, semctl): `struct sembuf`, the timeout,
//! `struct semid64_ds`, `struct seminfo` and semctl's argument (a value or an array of
//! unsigned shorts), checked in Linux 6.1's order. The sets are `crate::ipc::sem`'s.

use alloc::vec::Vec;

use super::perm::{PERM_SIZE, put_u64, read_owner, write_perm};
use crate::error::{Errno, SysResult};
use crate::ipc::limits::{self, SEMVMX};
use crate::ipc::sem::{self, Query, SemOp, SetStat};
use crate::syscall::SyscallCtx;

/// semctl commands.
const IPC_RMID: i32 = 0;
const IPC_SET: i32 = 1;
const IPC_STAT: i32 = 2;
const IPC_INFO: i32 = 3;
const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;
/// `struct semid64_ds`, `struct seminfo` and `struct sembuf` sizes.
const SEMID_DS_SIZE: usize = 104;
const SEMINFO_SIZE: usize = 40;
const SEMBUF_SIZE: usize = 6;
/// seminfo's fixed figures (Linux's SEMMAP, SEMMNU, SEMUME, SEMUSZ, SEMAEM).
const SEMMAP: i32 = 1_024_000_000;
const SEMMNU: i32 = 1_024_000_000;
const SEMUME: i32 = 500;
const SEMUSZ: i32 = 20;
const SEMAEM: i32 = SEMVMX;

/// semget(2).
pub fn sys_semget(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (key, nsems, flags) = (a[0] as i32, a[1] as i32, a[2] as u32);
    sem::get(key, nsems, flags, &ctx.process.identity()).map(|id| id as u64)
}

/// semop(2): semtimedop without a timeout.
pub fn sys_semop(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    semtimedop(ctx, a[0] as i32, a[1], a[2], None)
}

/// semtimedop(2): the timeout is read first (EFAULT), but checked (EINVAL) only after the
/// operations, as Linux's ksys_semtimedop and do_semtimedop do.
pub fn sys_semtimedop(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let timeout = if a[3] != 0 {
        let mem = ctx.mem();
        Some((mem.read_u64(a[3])? as i64, mem.read_u64(a[3] + 8)? as i64))
    } else {
        None
    };
    semtimedop(ctx, a[0] as i32, a[1], a[2], timeout)
}

fn semtimedop(
    ctx: &mut SyscallCtx,
    id: i32,
    sops: u64,
    nsops: u64,
    timeout: Option<(i64, i64)>,
) -> SysResult<u64> {
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > limits::semopm().max(0) as u64 {
        return Err(Errno::E2BIG);
    }
    // SEMOPM bounds the count, but root may raise it to INT_MAX: ENOMEM, as Linux's
    // kvmalloc, rather than failing the kernel's allocator.
    let len = nsops as usize * SEMBUF_SIZE;
    let mut raw = Vec::new();
    raw.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    raw.resize(len, 0);
    ctx.mem().read(sops, &mut raw)?;
    let timeout_ns = match timeout {
        Some((sec, nsec)) if sec < 0 || !(0..1_000_000_000).contains(&nsec) => {
            return Err(Errno::EINVAL);
        }
        Some((sec, nsec)) => {
            Some((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
        }
        None => None,
    };
    let ops: Vec<SemOp> = raw
        .chunks_exact(SEMBUF_SIZE)
        .map(|b| SemOp {
            num: u16::from_le_bytes([b[0], b[1]]),
            op: i16::from_le_bytes([b[2], b[3]]),
            flags: i16::from_le_bytes([b[4], b[5]]),
        })
        .collect();
    let who = ctx.process.identity();
    sem::semop(id, ops, timeout_ns, &who, ctx.process.pid())?;
    Ok(0)
}

/// semctl(2).
pub fn sys_semctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, semnum, cmd, arg) = (a[0] as i32, a[1] as i32, a[2] as i32, a[3]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let who = ctx.process.identity();
    let pid = ctx.process.pid();
    let mem = ctx.mem();
    let query = |what| sem::query(id, semnum, what, &who).map(|v| v as u64);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let usage = sem::usage();
            let (usz, aem) =
                if cmd == SEM_INFO { (usage.sets, usage.sems) } else { (SEMUSZ, SEMAEM) };
            let words = [
                SEMMAP,
                limits::semmni(),
                limits::semmns(),
                SEMMNU,
                limits::semmsl(),
                limits::semopm(),
                SEMUME,
                usz,
                SEMVMX,
                aem,
            ];
            let mut b = [0u8; SEMINFO_SIZE];
            for (i, v) in words.into_iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
            mem.write(arg, &b)?;
            Ok(usage.max_index as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let s = sem::stat(id, by_index, cmd != SEM_STAT_ANY, &who)?;
            mem.write(arg, &semid_ds_bytes(&s))?;
            Ok(if by_index { s.perm.id as u64 } else { 0 })
        }
        GETVAL => query(Query::Value),
        GETPID => query(Query::Pid),
        GETNCNT => query(Query::WaitingToTake),
        GETZCNT => query(Query::WaitingForZero),
        GETALL => {
            let values = sem::values(id, &who)?;
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            mem.write(arg, &bytes)?;
            Ok(0)
        }
        SETALL => {
            let nsems = sem::size_for(id, true, &who)?;
            let mut raw = alloc::vec![0u8; nsems * 2];
            mem.read(arg, &mut raw)?;
            let values: Vec<u16> =
                raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
            sem::set_all(id, &values, &who, pid).map(|()| 0)
        }
        // The value is the argument's low 32 bits (a union's int on little-endian).
        SETVAL => sem::set_value(id, semnum, arg as i32, &who, pid).map(|()| 0),
        IPC_SET => {
            let (uid, gid, mode, _) = read_owner(&mem, arg, SEMID_DS_SIZE)?;
            sem::set(id, uid, gid, mode, &who).map(|()| 0)
        }
        IPC_RMID => sem::remove(id, &who).map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// `struct semid64_ds`: the permissions, then otime, an unused long, ctime, an unused long,
/// nsems, two unused longs.
fn semid_ds_bytes(s: &SetStat) -> [u8; SEMID_DS_SIZE] {
    let mut b = [0u8; SEMID_DS_SIZE];
    write_perm(&mut b, &s.perm);
    put_u64(&mut b, PERM_SIZE, s.otime as u64);
    put_u64(&mut b, PERM_SIZE + 16, s.ctime as u64);
    put_u64(&mut b, PERM_SIZE + 32, s.nsems);
    b
}
