//! seccomp(2), prctl's PR_SET_SECCOMP, and what a verdict does to the call it judged
//! (`crate::seccomp` holds the filters and judges).

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::user::UserMode;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::run::AfterSyscall;
use crate::process::sigframe::SigInfo;
use crate::process::{ExitStatus, Process, Thread, registry, signal};
use crate::seccomp::{self, Call, Verdict, bpf};

const SECCOMP_SET_MODE_STRICT: u64 = 0;
const SECCOMP_SET_MODE_FILTER: u64 = 1;
const SECCOMP_GET_ACTION_AVAIL: u64 = 2;
const SECCOMP_GET_NOTIF_SIZES: u64 = 3;

const FLAG_TSYNC: u64 = 1;
const FLAG_LOG: u64 = 2;
const FLAG_SPEC_ALLOW: u64 = 4;
const FLAG_NEW_LISTENER: u64 = 8;
const FLAG_TSYNC_ESRCH: u64 = 16;
const FLAG_WAIT_KILLABLE_RECV: u64 = 32;
const KNOWN_FLAGS: u64 = FLAG_TSYNC
    | FLAG_LOG
    | FLAG_SPEC_ALLOW
    | FLAG_NEW_LISTENER
    | FLAG_TSYNC_ESRCH
    | FLAG_WAIT_KILLABLE_RECV;

/// si_code of seccomp's SIGSYS.
const SYS_SECCOMP: i32 = 1;

/// seccomp(2).
pub fn sys_seccomp(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (op, flags, args) = (a[0], a[1], a[2]);
    match op {
        SECCOMP_SET_MODE_STRICT => {
            if flags != 0 || args != 0 {
                return Err(Errno::EINVAL);
            }
            ctx.thread.update_seccomp(|s| s.set_strict()).map(|()| 0)
        }
        SECCOMP_SET_MODE_FILTER => set_filter(ctx, flags, args),
        SECCOMP_GET_ACTION_AVAIL => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            let action = ctx.mem().read_u32(args)?;
            if seccomp::action_available(action) { Ok(0) } else { Err(Errno::ENOTSUP) }
        }
        SECCOMP_GET_NOTIF_SIZES => {
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            // struct seccomp_notif (80 bytes), seccomp_notif_resp (24), seccomp_data (64).
            let sizes: Vec<u8> = [80u16, 24, 64].iter().flat_map(|s| s.to_le_bytes()).collect();
            ctx.mem().write(args, &sizes)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prctl(PR_SET_SECCOMP, mode, filter): strict mode ignores `filter`.
pub fn prctl_set(ctx: &mut SyscallCtx, mode: u64, filter: u64) -> SysResult<u64> {
    match mode {
        1 => ctx.thread.update_seccomp(|s| s.set_strict()).map(|()| 0),
        2 => set_filter(ctx, 0, filter),
        _ => Err(Errno::EINVAL),
    }
}

/// SECCOMP_SET_MODE_FILTER, checked in Linux's order: flags, then the program's length,
/// then the privilege, then the program.
fn set_filter(ctx: &mut SyscallCtx, flags: u64, fprog: u64) -> SysResult<u64> {
    if flags & !KNOWN_FLAGS != 0
        || (flags & FLAG_TSYNC != 0
            && flags & FLAG_NEW_LISTENER != 0
            && flags & FLAG_TSYNC_ESRCH == 0)
        || (flags & FLAG_WAIT_KILLABLE_RECV != 0 && flags & FLAG_NEW_LISTENER == 0)
    {
        return Err(Errno::EINVAL);
    }
    // No notification listener here: refused rather than a filter whose USER_NOTIF verdicts
    // nobody would answer.
    if flags & FLAG_NEW_LISTENER != 0 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    let mut len = [0u8; 2];
    mem.read(fprog, &mut len)?;
    let len = usize::from(u16::from_le_bytes(len));
    let insns_addr = mem.read_u64(fprog + 8)?;
    if len == 0 || len > bpf::MAX_INSNS {
        return Err(Errno::EINVAL);
    }
    if !ctx.process.attrs().no_new_privs && ctx.process.creds().euid != 0 {
        return Err(Errno::EACCES);
    }
    let mut raw = alloc::vec![0u8; len * 8];
    mem.read(insns_addr, &mut raw)?;
    let insns = raw
        .chunks_exact(8)
        .map(|c| bpf::Insn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    let program = bpf::Program::new(insns)?;
    let log = flags & FLAG_LOG != 0;
    if flags & FLAG_TSYNC == 0 {
        return ctx.thread.update_seccomp(|s| s.add_filter(program, log)).map(|()| 0);
    }
    install_on_all_threads(ctx.process, ctx.thread, program, log, flags & FLAG_TSYNC_ESRCH != 0)
}

/// SECCOMP_FILTER_FLAG_TSYNC: the new filter goes on every thread of the process, provided
/// each one's filters are the caller's or an ancestor of them; otherwise nothing changes
/// and the answer is the first other thread's ID (ESRCH with TSYNC_ESRCH).
fn install_on_all_threads(
    process: &Arc<Process>,
    caller: &Arc<Thread>,
    program: bpf::Program,
    log: bool,
    esrch: bool,
) -> SysResult<u64> {
    let mut state = caller.seccomp();
    state.add_filter(program, log)?;
    let threads = registry::threads_of(process.pid());
    if let Some(other) = threads.iter().find(|t| !state.descends_from(&t.seccomp())) {
        return if esrch { Err(Errno::ESRCH) } else { Ok(other.tid() as u64) };
    }
    for thread in &threads {
        thread.set_seccomp(state.clone());
    }
    caller.set_seccomp(state);
    Ok(0)
}

/// Judges the call in `user`'s registers for `thread`, and carries out a verdict that
/// stops it: `None` lets it run.
pub fn judge(
    process: &Arc<Process>,
    thread: &Arc<Thread>,
    user: &mut UserMode,
    call: &Call,
) -> Option<AfterSyscall> {
    let state = thread.seccomp();
    match seccomp::check(&state, call) {
        Verdict::Allow => None,
        Verdict::Fail(errno) => {
            user.context_mut().set_syscall_return((-i64::from(errno)) as u64);
            Some(AfterSyscall::Return)
        }
        Verdict::Trace(data) => {
            // The tracer may let the call run, change it (checked again by the filters) or
            // skip it (number -1, rax as it left it).
            let Some(nr) = crate::process::ptrace::stop::seccomp_stop(process, thread, user, data)
            else {
                return Some(AfterSyscall::Return);
            };
            let again = Call {
                nr: nr as i32,
                arch: call.arch,
                instruction_pointer: call.instruction_pointer,
                args: user.context().syscall_args(),
            };
            // Linux's recheck_after_trace: TRACE again lets it run (no second stop).
            match seccomp::check(&state, &again) {
                Verdict::Allow | Verdict::Trace(_) => {
                    user.context_mut().rax = nr;
                    None
                }
                Verdict::Fail(errno) => {
                    user.context_mut().set_syscall_return((-i64::from(errno)) as u64);
                    Some(AfterSyscall::Return)
                }
                _ => Some(AfterSyscall::Return),
            }
        }
        Verdict::Trap(reason) => {
            // The call does not run; rax keeps its number (Linux's syscall_rollback).
            let info = SigInfo {
                signo: signal::SIGSYS,
                code: SYS_SECCOMP,
                errno: reason as i32,
                addr: call.instruction_pointer,
                syscall: Some((call.nr, call.arch)),
                ..SigInfo::default()
            };
            crate::process::run::synchronous(process, thread, info);
            Some(AfterSyscall::Return)
        }
        Verdict::KillThread if process.thread_count() > 1 => {
            Some(AfterSyscall::ExitThread(ExitStatus::Signaled(signal::SIGSYS, false)))
        }
        // A core-dumping signal, with no core written (see `run::deliver`).
        Verdict::KillThread | Verdict::KillProcess => {
            Some(AfterSyscall::ExitGroup(ExitStatus::Signaled(signal::SIGSYS, false)))
        }
        // Linux's do_exit(SIGKILL): this thread ends; the process with it if it was the last.
        Verdict::StrictKill => {
            Some(AfterSyscall::ExitThread(ExitStatus::Signaled(signal::SIGKILL, false)))
        }
    }
}
