//! System V shared memory syscalls (shmget, shmat, shmdt, shmctl). The segments live in
//! `ipc::shm`; this file reads and writes the user's structures (`struct shmid_ds`,
//! `struct shminfo`, `struct shm_info`, x86-64 layouts) and maps attachments.

use ostd::mm::{PAGE_SIZE, USER_END};

use crate::error::{Errno, SysResult};
use crate::ipc::limits;
use crate::ipc::shm::{self, SegmentStat};
use crate::process::vm::{Area, MMAP_MIN, MapName, MappedFile, Prot};
use crate::syscall::SyscallCtx;

const PAGE: u64 = PAGE_SIZE as u64;
/// shmat flags.
const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;
/// SHMLBA on x86-64: one page.
const SHMLBA: u64 = PAGE;
/// shmctl commands.
const IPC_RMID: u64 = 0;
const IPC_SET: u64 = 1;
const IPC_STAT: u64 = 2;
const IPC_INFO: u64 = 3;
const SHM_LOCK: u64 = 11;
const SHM_UNLOCK: u64 = 12;
const SHM_STAT: u64 = 13;
const SHM_INFO: u64 = 14;
const SHM_STAT_ANY: u64 = 15;

/// shmget(2).
pub fn sys_shmget(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (key, size, flags) = (a[0] as i32, a[1], a[2] as u32);
    shm::get(key, size, flags, &ctx.process.identity()).map(|id| id as u64)
}

/// shmat(2): maps the segment shared, at `addr` (rounded down to SHMLBA with SHM_RND;
/// replacing what is there only with SHM_REMAP) or where there is room.
pub fn sys_shmat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, mut addr, flags) = (a[0] as i32, a[1], a[2]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    if addr != 0 {
        if addr % SHMLBA != 0 {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(SHMLBA - 1);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let write = flags & SHM_RDONLY == 0;
    let exec = flags & SHM_EXEC != 0;
    let target = shm::attach(id, write, exec, &ctx.process.identity())?;
    let len = target.len;
    let vm = ctx.process.vm();
    let start = if addr != 0 {
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let overlaps = vm.areas().overlaps(addr, end);
        if overlaps && flags & SHM_REMAP == 0 {
            return Err(Errno::EINVAL);
        }
        if end > USER_END || addr < MMAP_MIN {
            return Err(Errno::ENOMEM);
        }
        if overlaps {
            vm.unmap_range(addr, end);
        }
        addr
    } else {
        vm.areas().find_free(0, len).ok_or(Errno::ENOMEM)?
    };
    let mut prot = Prot::READ;
    if write {
        prot |= Prot::WRITE;
    }
    if exec {
        prot |= Prot::EXEC;
    }
    let (key, id) = target.attachment.key_and_id();
    let name = MapName::SysV { key, id };
    let mapped = Some(MappedFile { node: target.node.clone(), offset: 0, name });
    let area =
        Area { shared: true, file: true, mapped, ..Area::anonymous(start, start + len, prot) };
    vm.map_area(area, false)?;
    vm.add_shm(start, start + len, target.node, target.attachment);
    Ok(start)
}

/// shmdt(2).
pub fn sys_shmdt(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let addr = a[0];
    if !addr.is_multiple_of(PAGE) || !ctx.process.vm().detach_shm(addr) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// shmctl(2).
pub fn sys_shmctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (id, cmd, buf) = (a[0] as i32, a[1], a[2]);
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let who = ctx.process.identity();
    let mem = ctx.mem();
    match cmd {
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let s = shm::stat(id, by_index, cmd != SHM_STAT_ANY, &who)?;
            mem.write(buf, &shmid_ds_bytes(&s))?;
            Ok(if by_index { s.perm.id as u64 } else { 0 })
        }
        IPC_SET => {
            let uid = mem.read_u32(buf + 4)?;
            let gid = mem.read_u32(buf + 8)?;
            let mode = mem.read_u32(buf + 20)?;
            shm::set(id, uid, gid, mode, &who).map(|()| 0)
        }
        IPC_RMID => shm::remove(id, &who).map(|()| 0),
        SHM_LOCK | SHM_UNLOCK => shm::set_locked(id, cmd == SHM_LOCK, &who).map(|()| 0),
        IPC_INFO => {
            // struct shminfo: shmmax, shmmin, shmmni, shmseg, shmall, four unused words.
            let mut b = [0u8; 72];
            let mni = limits::shmmni() as u64;
            let fields = [limits::shmmax(), 1, mni, mni, limits::shmall()];
            for (i, v) in fields.into_iter().enumerate() {
                b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            mem.write(buf, &b)?;
            Ok(shm::usage().max_index)
        }
        SHM_INFO => {
            // struct shm_info: int used_ids; then shm_tot, shm_rss, shm_swp,
            // swap_attempts, swap_successes.
            let u = shm::usage();
            let mut b = [0u8; 48];
            b[..4].copy_from_slice(&u.used_ids.to_le_bytes());
            b[8..16].copy_from_slice(&u.total_pages.to_le_bytes());
            b[16..24].copy_from_slice(&u.resident_pages.to_le_bytes());
            mem.write(buf, &b)?;
            Ok(u.max_index)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `struct shmid_ds` (x86-64): `struct ipc64_perm` (key, uid, gid, cuid, cgid, mode, seq,
/// two unused words), then segsz, atime, dtime, ctime, cpid, lpid, nattch.
fn shmid_ds_bytes(s: &SegmentStat) -> [u8; 112] {
    let mut b = [0u8; 112];
    let p = &s.perm;
    let words32 = [p.key as u32, p.uid, p.gid, p.cuid, p.cgid, p.mode];
    for (i, v) in words32.into_iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    b[24..26].copy_from_slice(&p.seq().to_le_bytes());
    let words64 = [s.size, s.atime as u64, s.dtime as u64, s.ctime as u64];
    for (i, v) in words64.into_iter().enumerate() {
        b[48 + i * 8..56 + i * 8].copy_from_slice(&v.to_le_bytes());
    }
    b[80..84].copy_from_slice(&s.cpid.to_le_bytes());
    b[84..88].copy_from_slice(&s.lpid.to_le_bytes());
    b[88..96].copy_from_slice(&s.nattch.to_le_bytes());
    b
}
