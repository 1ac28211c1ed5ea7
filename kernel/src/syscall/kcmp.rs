//! kcmp(2): whether two processes share a kernel object (an open file, the address space,
//! the descriptor table, the filesystem context, the signal dispositions), checked in Linux
//! 6.1's order (kernel/kcmp.c).
//!
//! The answer orders the two objects as Linux's kcmp_ptr does: 0 for the same object, else
//! 1 or 2 by their addresses scrambled with a per-boot cookie of each kind, so that the
//! order is stable within a boot (CRIU sorts by it) and tells nothing about the addresses.
//! KCMP_IO and KCMP_SYSVSEM compare objects not modelled here: every process has none, so
//! they compare equal, as two Linux tasks without an I/O context or undo list do.
//! KCMP_EPOLL_TFD is EINVAL, as from a Linux built without epoll.

use alloc::sync::Arc;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::{Process, ptrace::control, registry};

const KCMP_FILE: u64 = 0;
const KCMP_VM: u64 = 1;
const KCMP_FILES: u64 = 2;
const KCMP_FS: u64 = 3;
const KCMP_SIGHAND: u64 = 4;
const KCMP_IO: u64 = 5;
const KCMP_SYSVSEM: u64 = 6;
const KCMP_TYPES: usize = 8;

/// Each kind's scrambling cookie (Linux's kcmp_cookies): a value to XOR and an odd factor.
static COOKIES: spin::Once<[[u64; 2]; KCMP_TYPES]> = spin::Once::new();

/// kcmp(2).
pub fn sys_kcmp(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (pid1, pid2, kind, idx1, idx2) = (a[0] as i32, a[1] as i32, a[2] as u32, a[3], a[4]);
    // A task: a process, or one of its threads by its TID (Linux's find_task_by_vpid).
    let find = |pid: i32| {
        let global = ctx.process.global_for(pid).filter(|_| pid > 0).ok_or(Errno::ESRCH)?;
        registry::get(global)
            .or_else(|| registry::find_thread(global).map(|(process, _)| process))
            .ok_or(Errno::ESRCH)
    };
    let (p1, p2) = (find(pid1)?, find(pid2)?);
    if !control::may_access(ctx.process, &p1) || !control::may_access(ctx.process, &p2) {
        return Err(Errno::EPERM);
    }
    let kind = u64::from(kind);
    let (id1, id2) = match kind {
        KCMP_FILE => {
            let file = |p: &Process, fd: u64| {
                i32::try_from(fd).ok().and_then(|fd| p.file(fd).ok()).ok_or(Errno::EBADF)
            };
            let (f1, f2) = (file(&p1, idx1)?, file(&p2, idx2)?);
            (Arc::as_ptr(&f1) as *const u8 as usize, Arc::as_ptr(&f2) as *const u8 as usize)
        }
        KCMP_VM => (Arc::as_ptr(&p1.vm()) as usize, Arc::as_ptr(&p2.vm()) as usize),
        KCMP_FILES => (p1.files_id(), p2.files_id()),
        KCMP_FS => (p1.fs_id(), p2.fs_id()),
        KCMP_SIGHAND => (p1.sighand_id(), p2.sighand_id()),
        KCMP_IO | KCMP_SYSVSEM => (0, 0),
        _ => return Err(Errno::EINVAL),
    };
    Ok(order(id1, id2, kind as usize))
}

/// Linux's kcmp_ptr: 0 if the same, else 1 or 2 as the scrambled identities compare.
fn order(id1: usize, id2: usize, kind: usize) -> u64 {
    let cookies = COOKIES.call_once(|| {
        let mut bytes = [0u8; KCMP_TYPES * 16];
        crate::random::fill(&mut bytes);
        core::array::from_fn(|i| {
            let word = |j: usize| {
                let at = (i * 2 + j) * 8;
                u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
            };
            [word(0), word(1) | 1]
        })
    });
    let [xor, factor] = cookies[kind];
    let scramble = |id: usize| ((id as u64 ^ xor).wrapping_mul(factor)) as i64;
    let (t1, t2) = (scramble(id1), scramble(id2));
    u64::from(t1 < t2) | (u64::from(t1 > t2) << 1)
}
