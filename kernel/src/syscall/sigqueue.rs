//! Queued signals with a sender's own siginfo: rt_sigqueueinfo (what sigqueue(3) calls)
//! and rt_tgsigqueueinfo, as Linux's kernel/signal.c checks them.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::sigframe::{SENT_FIELDS_SIZE, SigInfo};
use crate::process::signal::{self, NSIG, SI_KERNEL, SI_TKILL, SI_USER};
use crate::process::{Process, Thread, registry};

/// The part of a siginfo the kernel keeps (Linux's `struct kernel_siginfo`): signo, errno,
/// code, padding, then the union.
const KERNEL_SIGINFO_SIZE: usize = 16 + SENT_FIELDS_SIZE;
/// The whole `siginfo_t` user space passes.
const SIGINFO_SIZE: usize = 128;

/// rt_sigqueueinfo(2): a signal with the caller's siginfo to process `pid` (or the process of
/// thread `pid`).
pub fn sys_rt_sigqueueinfo(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (pid, sig) = (a[0] as i32, a[1] as i32);
    let info = read_siginfo(ctx, sig, a[2])?;
    forbid_impersonation(ctx, &info, pid)?;
    let global = ctx.process.global_for(pid).ok_or(Errno::ESRCH)?;
    let process = registry::get(global)
        .or_else(|| registry::find_thread(global).map(|(p, _)| p))
        .ok_or(Errno::ESRCH)?;
    let sig = valid_signal(sig)?;
    check_permission(ctx, &process, &info)?;
    if sig != 0 {
        signal::queue_to(&process, None, info)?;
    }
    Ok(0)
}

/// rt_tgsigqueueinfo(2): the same, to thread `tid` of process `tgid` alone.
pub fn sys_rt_tgsigqueueinfo(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (tgid, tid, sig) = (a[0] as i32, a[1] as i32, a[2] as i32);
    let info = read_siginfo(ctx, sig, a[3])?;
    if tid <= 0 || tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    forbid_impersonation(ctx, &info, tid)?;
    let me = ctx.process;
    let (process, thread): (_, alloc::sync::Arc<Thread>) = me
        .global_for(tid)
        .and_then(registry::find_thread)
        .filter(|(p, _)| Some(p.pid()) == me.global_for(tgid) && !p.is_zombie())
        .ok_or(Errno::ESRCH)?;
    let sig = valid_signal(sig)?;
    check_permission(ctx, &process, &info)?;
    if sig != 0 {
        signal::queue_to(&process, Some(&thread), info)?;
    }
    Ok(0)
}

/// Copies the caller's siginfo, with `sig` as its number (Linux's __copy_siginfo_from_user).
///
/// # Errors
/// EFAULT if it cannot be read; E2BIG if its code is one Linux does not know the layout of
/// and anything past the kernel's part is not zero (it could not be reported back as sent).
fn read_siginfo(ctx: &SyscallCtx, sig: i32, addr: u64) -> SysResult<SigInfo> {
    let mem = ctx.mem();
    let mut kernel_part = [0u8; KERNEL_SIGINFO_SIZE];
    mem.read(addr, &mut kernel_part)?;
    let word = |at: usize| i32::from_le_bytes(kernel_part[at..at + 4].try_into().unwrap_or([0; 4]));
    let (errno, code) = (word(4), word(8));
    if !known_layout(sig as u32, code) {
        let mut rest = [0u8; SIGINFO_SIZE - KERNEL_SIGINFO_SIZE];
        mem.read(addr.checked_add(KERNEL_SIGINFO_SIZE as u64).ok_or(Errno::EFAULT)?, &mut rest)?;
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let mut fields = [0u8; SENT_FIELDS_SIZE];
    fields.copy_from_slice(&kernel_part[16..]);
    let pid = word(16);
    Ok(SigInfo {
        signo: sig as u32,
        errno,
        code,
        pid,
        uid: word(20) as u32,
        sent_fields: Some(fields),
        ..SigInfo::default()
    })
}

/// Returns whether Linux knows what the union of a siginfo with `sig` and `code` holds
/// (its known_siginfo_layout).
fn known_layout(sig: u32, code: i32) -> bool {
    const SI_DETHREAD: i32 = -7;
    const SI_ASYNCNL: i32 = -60;
    const NSIGPOLL: i32 = 6;
    if code == SI_KERNEL {
        return true;
    }
    if code > SI_USER {
        // The signals with codes of their own, and how many they have.
        let limit = match sig {
            4 => 11, // SIGILL
            5 => 6,  // SIGTRAP
            7 => 5,  // SIGBUS
            8 => 15, // SIGFPE
            11 => 9, // SIGSEGV
            17 => 6, // SIGCHLD
            29 => 6, // SIGPOLL
            31 => 2, // SIGSYS
            _ => NSIGPOLL,
        };
        return code <= limit;
    }
    code >= SI_DETHREAD || code == SI_ASYNCNL
}

/// Not even root may pretend a signal came from the kernel (a code >= 0) or from tkill,
/// which carry source details the kernel vouches for, unless it signals itself.
fn forbid_impersonation(ctx: &SyscallCtx, info: &SigInfo, target: i32) -> SysResult<()> {
    let forged = info.code >= 0 || info.code == SI_TKILL;
    if forged && ctx.process.nr_for(ctx.thread.tid()) != target {
        Err(Errno::EPERM)
    } else {
        Ok(())
    }
}

/// Returns `sig` if it is 0 (a probe) or a signal number (EINVAL otherwise).
fn valid_signal(sig: i32) -> SysResult<u32> {
    u32::try_from(sig).ok().filter(|&s| s <= NSIG).ok_or(Errno::EINVAL)
}

/// kill(2)'s permission check, for a siginfo that says it came from a user (code <= 0).
fn check_permission(ctx: &SyscallCtx, target: &Process, info: &SigInfo) -> SysResult<()> {
    let from_user = info.code <= 0;
    if from_user && !signal::may_send(ctx.process, target, info.signo) {
        return Err(Errno::EPERM);
    }
    Ok(())
}
