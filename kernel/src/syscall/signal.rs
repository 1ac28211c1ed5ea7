//! Signals: sending (kill, tgkill, tkill, pidfd_send_signal), dispositions and masks
//! (rt_sigaction, rt_sigprocmask, sigaltstack), waiting (pause, rt_sigsuspend,
//! rt_sigtimedwait, rt_sigpending) and rt_sigreturn.

use alloc::sync::Arc;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::sigframe::SigInfo;
use crate::process::signal::{self, NSIG, SI_TKILL, SI_USER, SIGKILL, SIGSTOP, SigAction};
use crate::process::{Process, registry, run};

/// kill(2).
pub fn sys_kill(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (pid, sig) = (a[0] as i32, a[1]);
    if sig > u64::from(NSIG) {
        return Err(Errno::EINVAL);
    }
    let sig = sig as u32;
    let me = ctx.process;
    // Numbers are the caller's PID namespace's: it reaches only what it can see.
    let visible = |p: &Arc<Process>| me.nr_for(p.pid()) != 0;
    let targets: alloc::vec::Vec<Arc<Process>> = match pid {
        // A zombie can still be named (Linux answers 0 until it is reaped); the signal is lost.
        p if p > 0 => {
            alloc::vec![me.global_for(p).and_then(registry::get).ok_or(Errno::ESRCH)?]
        }
        0 => registry::all().into_iter().filter(|p| p.pgid() == me.pgid() && visible(p)).collect(),
        -1 => registry::all()
            .into_iter()
            .filter(|p| visible(p) && me.nr_for(p.pid()) != 1 && p.pid() != me.pid())
            .collect(),
        p => match me.global_for(-p) {
            Some(pgid) => registry::all().into_iter().filter(|q| q.pgid() == pgid).collect(),
            None => alloc::vec::Vec::new(),
        },
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    // SI_USER, with the sender's PID and UID (what sigwaitinfo and SA_SIGINFO handlers see).
    // As on Linux, a signal to a group succeeds if it reached any member; kill(-1, sig)
    // succeeds whenever there was anyone to try.
    let mut reached_any = false;
    for t in targets {
        if signal::may_send(ctx.process, &t, sig) {
            reached_any = true;
            if sig != 0 {
                signal::send_info(&t, sender_info(ctx, sig, SI_USER, &t));
            }
        }
    }
    if reached_any || pid == -1 { Ok(0) } else { Err(Errno::EPERM) }
}

/// The siginfo of a signal the caller sends `target`: its PID as the target's namespace
/// sees it (0 from outside it).
fn sender_info(
    ctx: &SyscallCtx,
    sig: u32,
    code: i32,
    target: &Process,
) -> crate::process::sigframe::SigInfo {
    crate::process::sigframe::SigInfo {
        signo: sig,
        code,
        pid: target.nr_for(ctx.process.pid()),
        uid: ctx.process.creds().ruid,
        status: 0,
        ..Default::default()
    }
}

/// pidfd_send_signal(2): to the process a pidfd (or a /proc/PID directory) names. A
/// caller-supplied siginfo is not supported yet (EINVAL); without one it is SI_USER.
pub fn sys_pidfd_send_signal(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (fd, sig, info, flags) = (a[0] as i32, a[1], a[2], a[3]);
    if flags != 0 || sig > u64::from(NSIG) || info != 0 {
        return Err(Errno::EINVAL);
    }
    let file = ctx.process.file(fd)?;
    let process = match crate::process::pidfd::process_of(&*file) {
        Some(p) => p,
        None => {
            let pid = file
                .node()
                .and_then(|n| crate::process::procfs::pid_of_dir(n))
                .ok_or(Errno::EBADF)?;
            registry::get(pid).ok_or(Errno::ESRCH)?
        }
    };
    if process.is_zombie() {
        return Err(Errno::ESRCH);
    }
    if !signal::may_send(ctx.process, &process, sig as u32) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        signal::send_info(&process, sender_info(ctx, sig as u32, SI_USER, &process));
    }
    Ok(0)
}

/// tgkill(2): a signal for one thread, which only that thread takes.
pub fn sys_tgkill(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (tgid, tid, sig) = (a[0] as i32, a[1] as i32, a[2]);
    if tgid <= 0 || tid <= 0 || sig > u64::from(NSIG) {
        return Err(Errno::EINVAL);
    }
    signal_thread(ctx, Some(tgid), tid, sig as u32)
}

/// tkill(2): tgkill without the thread-group check.
pub fn sys_tkill(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (tid, sig) = (a[0] as i32, a[1]);
    if tid <= 0 || sig > u64::from(NSIG) {
        return Err(Errno::EINVAL);
    }
    signal_thread(ctx, None, tid, sig as u32)
}

fn signal_thread(ctx: &SyscallCtx, tgid: Option<i32>, tid: i32, sig: u32) -> SysResult<u64> {
    let me = ctx.process;
    let (process, thread) = me
        .global_for(tid)
        .and_then(registry::find_thread)
        .filter(|(p, _)| !p.is_zombie())
        .ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|tgid| me.global_for(tgid) != Some(process.pid())) {
        return Err(Errno::ESRCH);
    }
    if !signal::may_send(ctx.process, &process, sig) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        // A real-time signal past RLIMIT_SIGPENDING is EAGAIN, as from sigqueue.
        signal::queue_to(&process, Some(&thread), sender_info(ctx, sig, SI_TKILL, &process))?;
    }
    Ok(0)
}

/// rt_sigaction(2).
pub fn sys_rt_sigaction(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (sig, act, oact, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 || sig == 0 || sig > u64::from(NSIG) {
        return Err(Errno::EINVAL);
    }
    let sig = sig as u32;
    let mem = ctx.mem();
    let new = if act != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        Some(SigAction {
            handler: mem.read_u64(act)?,
            flags: mem.read_u64(act + 8)?,
            restorer: mem.read_u64(act + 16)?,
            mask: mem.read_u64(act + 24)?,
        })
    } else {
        None
    };
    let old = ctx.process.swap_sig_action(sig, new);
    if new.is_some_and(|n| n.handler == signal::SIG_IGN) {
        signal::discard_everywhere(ctx.process, 1u64 << (sig - 1));
    }
    if oact != 0 {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&old.handler.to_le_bytes());
        b[8..16].copy_from_slice(&old.flags.to_le_bytes());
        b[16..24].copy_from_slice(&old.restorer.to_le_bytes());
        b[24..32].copy_from_slice(&old.mask.to_le_bytes());
        mem.write(oact, &b)?;
    }
    Ok(0)
}

/// rt_sigprocmask(2).
pub fn sys_rt_sigprocmask(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (how, set, oset, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let new = if set != 0 { Some(mem.read_u64(set)?) } else { None };
    if new.is_some() && how > 2 {
        return Err(Errno::EINVAL);
    }
    let unblockable = signal::UNBLOCKABLE;
    let old = ctx.thread.with_signals(|s| {
        let old = s.blocked;
        if let Some(new) = new {
            s.blocked = match how {
                0 => old | new,
                1 => old & !new,
                _ => new,
            } & !unblockable;
        }
        old
    });
    if oset != 0 {
        mem.write_u64(oset, old)?;
    }
    Ok(0)
}

/// sigaltstack(2).
pub fn sys_sigaltstack(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const SS_ONSTACK: u32 = 1;
    const SS_DISABLE: u32 = 2;
    const MINSIGSTKSZ: u64 = 2048;
    let mem = ctx.mem();
    let rsp = ctx.user.context().rsp;
    let (on_stack, (base, size, disabled)) =
        ctx.thread.with_signals(|signals| (signals.on_altstack(rsp), signals.altstack));
    let old = {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&(if disabled { 0 } else { base }).to_le_bytes());
        let flags = if on_stack {
            SS_ONSTACK
        } else if disabled {
            SS_DISABLE
        } else {
            0
        };
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..24].copy_from_slice(&(if disabled { 0 } else { size }).to_le_bytes());
        b
    };
    if a[0] != 0 {
        let sp = mem.read_u64(a[0])?;
        let flags = mem.read_u32(a[0] + 8)?;
        let ss_size = mem.read_u64(a[0] + 16)?;
        if on_stack {
            return Err(Errno::EPERM);
        }
        match flags & !0x8000_0000 /* SS_AUTODISARM */ {
            SS_DISABLE => ctx.thread.with_signals(|s| s.altstack = (0, 0, true)),
            0 | SS_ONSTACK => {
                if ss_size < MINSIGSTKSZ {
                    return Err(Errno::ENOMEM);
                }
                ctx.thread.with_signals(|s| s.altstack = (sp, ss_size, false));
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    if a[1] != 0 {
        mem.write(a[1], &old)?;
    }
    Ok(0)
}

/// rt_sigreturn(2): back from a handler.
pub fn sys_rt_sigreturn(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let mem = ctx.mem();
    match crate::process::sigframe::restore(&mem, ctx.user.context_mut()) {
        Ok(restored) => {
            let unblockable = signal::UNBLOCKABLE;
            ctx.thread.set_blocked(restored.mask & !unblockable);
            if restored.bad_selectors {
                // Linux's IRET to these selectors takes #GP: SIGSEGV, with the restored
                // registers.
                log::info!("pid {}: rt_sigreturn to unusable selectors", ctx.process.pid());
                run::synchronous(
                    ctx.process,
                    ctx.thread,
                    SigInfo {
                        signo: signal::SIGSEGV,
                        code: 0x80,
                        trap: Some((13, 0)),
                        ..SigInfo::default()
                    },
                );
            }
            // rax is the interrupted code's, restored with the rest.
            Ok(ctx.user.context().rax)
        }
        Err(e) => {
            log::info!(
                "pid {}: rt_sigreturn with a bad frame at rsp {:#x}: {e:?}",
                ctx.process.pid(),
                ctx.user.context().rsp
            );
            // A corrupt frame: Linux forces SIGSEGV (signal_fault), which a handler may catch
            // if the stack can take its frame.
            run::synchronous(
                ctx.process,
                ctx.thread,
                SigInfo { signo: signal::SIGSEGV, code: 0x80, ..SigInfo::default() },
            );
            Ok(0)
        }
    }
}

/// rt_sigpending(2).
pub fn sys_rt_sigpending(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] > 8 {
        return Err(Errno::EINVAL);
    }
    let pending = ctx.process.with_signal_states(ctx.thread, |s, t| {
        (s.shared.pending() | t.private.pending()) & t.blocked
    });
    ctx.mem().write(a[0], &pending.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

/// pause(2).
pub fn sys_pause(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let process = ctx.process.clone();
    crate::wait::until_signal_or_deadline(|| process.has_pending_signal().then_some(()), None);
    Err(Errno::EINTR)
}

/// rt_sigsuspend(2): waits with a temporary mask; the handler frame saves the old one.
pub fn sys_rt_sigsuspend(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = ctx.mem().read_u64(a[0])?;
    let unblockable = signal::UNBLOCKABLE;
    let old = ctx.thread.with_signals(|s| core::mem::replace(&mut s.blocked, mask & !unblockable));
    let process = ctx.process.clone();
    crate::wait::until_signal_or_deadline(|| process.has_pending_signal().then_some(()), None);
    // The handler's frame must record the caller's own mask, not the temporary one.
    ctx.thread.with_signals(|s| s.saved_mask = Some(old));
    Err(Errno::EINTR)
}

/// rt_sigtimedwait(2): takes a pending signal from `set` without running its handler.
pub fn sys_rt_sigtimedwait(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (set_addr, info_addr, timeout_addr, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let set = mem.read_u64(set_addr)? & !signal::UNBLOCKABLE;
    let deadline = if timeout_addr != 0 {
        let t = super::decode::read_timespec(&mem, timeout_addr)?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    } else {
        None
    };
    let process = ctx.process.clone();
    let thread = ctx.thread.clone();
    let taken = crate::wait::until_signal_or_deadline(
        || {
            // The thread's own signals first, then the process's (as delivery takes them).
            let taken = process.with_signal_states(&thread, |s, t| {
                t.private.take_in(set).or_else(|| s.shared.take_in(set))
            });
            if let Some(info) = taken {
                if let Some(timer) = info.timer_id() {
                    crate::process::posix_timer::signal_taken(&process, timer);
                }
                return Some(Ok((info.signo, info)));
            }
            process.has_pending_signal().then_some(Err(Errno::EINTR))
        },
        deadline,
    )
    .unwrap_or(Err(Errno::EAGAIN))?;
    let (sig, info) = taken;
    if info_addr != 0 {
        mem.write(info_addr, &info.to_bytes())?;
    }
    Ok(u64::from(sig))
}
