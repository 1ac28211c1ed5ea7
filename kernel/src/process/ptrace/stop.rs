//! The tracee's side: stopping where Linux reports to the tracer, and taking its answer.
//!
//! Every function here runs on the tracee's own task, from its return-to-user loop
//! (`process::run`), with its registers at hand.

use alloc::boxed::Box;

use ostd::user::UserMode;

use super::state::{self, Event, Resume, Step, Stop, SyscallStop};
use super::user_area::TF;
use crate::process::sigframe::SigInfo;
use crate::process::{ExitStatus, Process, Thread, signal};

/// si_code of SIGCHLD for a tracee that stopped (CLD_TRAPPED).
const CLD_TRAPPED: i32 = 4;
/// PTRACE_EVENTMSG_SYSCALL_ENTRY / _EXIT: the message of a syscall stop.
const MSG_SYSCALL_ENTRY: u64 = 1;
const MSG_SYSCALL_EXIT: u64 = 2;

/// How a stop ended.
pub enum Outcome {
    /// The tracer resumed it, with this answer and the siginfo as it left it.
    Resumed(Resume, Option<SigInfo>),
    /// Not traced, or the tracer went away without an answer.
    Untraced,
    /// SIGKILL (or the group exit) ended the stop.
    Killed,
}

/// What to publish about a stop.
pub struct StopKind {
    /// Linux's exit_code (the wait status is `code << 8 | 0x7f`).
    pub code: u32,
    /// The siginfo the tracer may read.
    pub siginfo: Option<SigInfo>,
    /// The event message to set, if any.
    pub message: Option<u64>,
    /// Whether it is a syscall stop.
    pub syscall: SyscallStop,
}

/// Returns whether `process` is traced (cheap: asked on every system call).
pub fn is_traced(process: &Process) -> bool {
    process.trace.is_traced()
}

/// Returns whether `thread` is the one that makes `process`'s stops: tracing is per
/// process, and its main thread is the tracee (the others run on untraced).
pub fn is_traced_thread(process: &Process, thread: &Thread) -> bool {
    thread.tid() == process.pid() && is_traced(process)
}

/// Returns whether SIGKILL (or a group exit) is waiting for `thread` of `process`.
fn killed(process: &Process, thread: &Thread) -> bool {
    let bit = 1u64 << (signal::SIGKILL - 1);
    process.group_exit_status().is_some()
        || process.shared_pending() & bit != 0
        || thread.with_signals(|s| s.private.pending()) & bit != 0
}

/// Stops the calling tracee as `kind` says, until the tracer answers.
///
/// The registers are published for the tracer and taken back (with its changes) when it
/// resumes the tracee; `orig_rax` likewise.
pub fn stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    kind: StopKind,
) -> Outcome {
    // One stop at a time per process: another thread's stop must end before this one is
    // published (tracing is per process).
    crate::wait::until_signal_or_deadline(
        || (killed(process, thread) || process.trace.lock().stop.is_none()).then_some(()),
        None,
    );
    if killed(process, thread) {
        return Outcome::Killed;
    }
    let tracer = {
        let mut t = process.trace.lock();
        let Some(tracer) = t.tracer() else { return Outcome::Untraced };
        let mut regs = Box::new(user.context().clone());
        if t.step == Step::Single {
            // The trap flag is the kernel's, not the program's: the tracer does not see it.
            regs.rflags &= !TF;
        }
        if let Some(message) = kind.message {
            t.message = message;
        }
        t.stop = Some(Stop {
            code: kind.code,
            reported: false,
            siginfo: kind.siginfo,
            regs,
            orig_rax: *orig_rax,
            syscall: kind.syscall,
        });
        t.resume = None;
        tracer
    };
    notify_tracer(&tracer, process, kind.code);
    let answer = crate::wait::until_signal_or_deadline(
        || {
            if killed(process, thread) {
                return Some(None);
            }
            let mut t = process.trace.lock();
            if let Some(resume) = t.resume.take() {
                return Some(Some(resume));
            }
            t.tracer().is_none().then_some(None)
        },
        None,
    )
    .flatten();
    let (siginfo, was_stepping) = {
        let mut t = process.trace.lock();
        let was_stepping = t.step == Step::Single;
        let siginfo = t.stop.take().map(|stop| {
            *user.context_mut() = *stop.regs;
            *orig_rax = stop.orig_rax;
            stop.siginfo
        });
        t.step = answer.map_or(Step::Continue, |r| r.step);
        (siginfo.flatten(), was_stepping)
    };
    if process.thread_count() > 1 {
        // Another thread may wait to publish its own stop (above).
        process.interrupt_sleep();
    }
    let ctx = user.context_mut();
    match answer {
        Some(r) if r.step == Step::Single => ctx.rflags |= TF,
        _ if was_stepping => ctx.rflags &= !TF,
        _ => {}
    }
    match answer {
        Some(resume) => Outcome::Resumed(resume, siginfo),
        None if killed(process, thread) => Outcome::Killed,
        None => Outcome::Untraced,
    }
}

/// Tells the tracer that `tracee` stopped: SIGCHLD with CLD_TRAPPED (unless it asked for
/// none with SA_NOCLDSTOP), and a wake-up for its wait.
fn notify_tracer(tracer: &Process, tracee: &Process, code: u32) {
    if tracer.sig_action(signal::SIGCHLD).flags & signal::SA_NOCLDSTOP == 0 {
        signal::send_info(
            tracer,
            SigInfo {
                signo: signal::SIGCHLD,
                code: CLD_TRAPPED,
                pid: tracee.pid(),
                uid: tracee.creds().ruid,
                status: (code & 0x7f) as i32,
                ..SigInfo::default()
            },
        );
    }
    tracer.wake_child_waiters();
}

/// The siginfo of a stop the kernel reports with SIGTRAP (a syscall or an event): Linux's
/// ptrace_do_notify.
fn trap_info(process: &Process, code: u32) -> SigInfo {
    SigInfo {
        signo: signal::SIGTRAP,
        code: code as i32,
        pid: process.pid(),
        uid: process.creds().ruid,
        ..SigInfo::default()
    }
}

/// Returns whether the tracer asked for syscall stops (PTRACE_SYSCALL).
pub fn wants_syscall_stops(process: &Process) -> bool {
    is_traced(process) && process.trace.lock().step == Step::Syscall
}

/// Returns whether option `option` (PTRACE_O_*) is set.
pub fn has_option(process: &Process, option: u32) -> bool {
    is_traced(process) && process.trace.lock().options & option != 0
}

/// Stops at a syscall entry or exit. Returns false if SIGKILL ended the stop (the call
/// is then skipped).
pub fn syscall_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    which: SyscallStop,
) -> bool {
    let sysgood = has_option(process, state::O_TRACESYSGOOD);
    let code = signal::SIGTRAP | if sysgood { 0x80 } else { 0 };
    let message = if which == SyscallStop::Entry { MSG_SYSCALL_ENTRY } else { MSG_SYSCALL_EXIT };
    let kind = StopKind {
        code,
        siginfo: Some(trap_info(process, code)),
        message: Some(message),
        syscall: which,
    };
    match stop(process, thread, user, orig_rax, kind) {
        Outcome::Killed => false,
        Outcome::Resumed(resume, _) if resume.sig != 0 => {
            // Linux sends the signal a tracer resumed a syscall stop with (from the kernel).
            signal::send_to(
                process,
                Some(thread),
                SigInfo { signo: resume.sig, code: signal::SI_KERNEL, ..SigInfo::default() },
            );
            true
        }
        _ => true,
    }
}

/// The stop for a seccomp filter's SECCOMP_RET_TRACE with `data` (the event message).
/// Returns the syscall number to run, as the tracer left it; `None` if the call does not
/// run: it was skipped (-1), SIGKILL came, or no tracer asked for the event (ENOSYS then,
/// as Linux answers).
pub fn seccomp_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    data: u32,
) -> Option<u64> {
    let enosys = (-(crate::error::Errno::ENOSYS as i64)) as u64;
    let nr = user.context().syscall_number();
    user.context_mut().rax = enosys;
    if !is_traced_thread(process, thread) || !has_option(process, state::O_TRACESECCOMP) {
        return None;
    }
    let code = signal::SIGTRAP | (Event::Seccomp as u32) << 8;
    let kind = StopKind {
        code,
        siginfo: Some(trap_info(process, code)),
        message: Some(u64::from(data)),
        syscall: SyscallStop::Seccomp,
    };
    let mut orig_rax = nr;
    match stop(process, thread, user, &mut orig_rax, kind) {
        Outcome::Killed => None,
        _ if orig_rax == u64::MAX => None,
        _ => Some(orig_rax),
    }
}

/// Stops for `event` with `message`; `sig` is SIGTRAP, or for a group stop's event stop
/// the stopping signal.
pub fn event_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    event: Event,
    sig: u32,
    message: Option<u64>,
) -> Outcome {
    let code = sig | (event as u32) << 8;
    let kind = StopKind {
        code,
        siginfo: Some(SigInfo { signo: sig, ..trap_info(process, code) }),
        message,
        syscall: SyscallStop::None,
    };
    stop(process, thread, user, orig_rax, kind)
}

/// The signal-delivery stop: shows `info` to the tracer before it is delivered. Returns
/// the signal to deliver instead (the tracer's choice), or `None` if it suppressed it (or
/// SIGKILL came).
pub fn signal_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    info: SigInfo,
) -> Option<SigInfo> {
    let kind = StopKind {
        code: info.signo,
        siginfo: Some(info),
        message: None,
        syscall: SyscallStop::None,
    };
    match stop(process, thread, user, orig_rax, kind) {
        Outcome::Untraced => Some(info),
        Outcome::Killed => None,
        Outcome::Resumed(resume, _) if resume.sig == 0 => None,
        Outcome::Resumed(resume, siginfo) => {
            let info = siginfo.unwrap_or(info);
            if resume.sig == info.signo {
                return Some(info);
            }
            // Another signal than the one stopped for: it reads as sent by the tracer.
            let tracer = process.trace.lock().tracer();
            Some(SigInfo {
                signo: resume.sig,
                code: signal::SI_USER,
                pid: tracer.as_ref().map_or(0, |t| t.pid()),
                uid: tracer.as_ref().map_or(0, |t| t.creds().ruid),
                ..SigInfo::default()
            })
        }
    }
}

/// A traced process's group stop (SIGSTOP and the like reached their default action): a
/// stop the tracer hears of and ends. With PTRACE_LISTEN it stays stopped until SIGCONT,
/// then stops again for the tracer (an event stop with SIGTRAP). A parent that is not the
/// tracer hears of the stop as of any other.
///
/// Returns true if the tracer let it go (detached, or exited) during the stop: it is then
/// still stopped, until SIGCONT.
pub fn group_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    sig: u32,
) -> bool {
    let parent = process.parent().map(|p| p.pid());
    let tracer = process.trace.lock().tracer().map(|t| t.pid());
    if parent.is_some() && parent != tracer {
        process.mark_stopped(sig);
        crate::process::run::tell_parent_stopped(process, sig);
    } else {
        process.mark_stopped_quietly(sig);
    }
    let seized = process.trace.lock().seized;
    let mut outcome = if seized {
        event_stop(process, thread, user, orig_rax, Event::Stop, sig, None)
    } else {
        let kind = StopKind { code: sig, siginfo: None, message: None, syscall: SyscallStop::None };
        stop(process, thread, user, orig_rax, kind)
    };
    while let Outcome::Resumed(Resume { listen: true, .. }, _) = outcome {
        crate::wait::until_signal_or_deadline(
            || {
                let continued = !process.is_stopped();
                let t = process.trace.lock();
                (continued || t.trap_requested || t.tracer().is_none()).then_some(())
            },
            None,
        );
        if killed(process, thread) {
            break;
        }
        process.trace.lock().trap_requested = false;
        let sig = if process.is_stopped() { sig } else { signal::SIGTRAP };
        outcome = event_stop(process, thread, user, orig_rax, Event::Stop, sig, None);
    }
    if !is_traced(process) && process.is_stopped() && !killed(process, thread) {
        return true;
    }
    process.mark_continued_quietly();
    if process.thread_count() > 1 {
        // Its other threads sleep in the job-control stop until they see it end.
        process.interrupt_sleep();
    }
    false
}

/// The stop PTRACE_INTERRUPT (or a seized new child, or attaching to a stopped process)
/// asked for, if one did.
pub fn requested_trap(process: &Process, thread: &Thread, user: &mut UserMode, orig_rax: &mut u64) {
    if !is_traced_thread(process, thread) {
        return;
    }
    {
        let mut t = process.trace.lock();
        if !t.trap_requested {
            return;
        }
        t.trap_requested = false;
    }
    if let Some(sig) = process.stopped_by() {
        // Attached while job-stopped: the stop goes on as a group stop the tracer sees.
        if group_stop(process, thread, user, orig_rax, sig) {
            // Let go again: back to the job-control stop it was in.
            crate::wait::until_signal_or_deadline(
                || (!process.is_stopped() || killed(process, thread)).then_some(()),
                None,
            );
        }
        return;
    }
    let mut outcome =
        event_stop(process, thread, user, orig_rax, Event::Stop, signal::SIGTRAP, None);
    // PTRACE_LISTEN: stay stopped until something is to report (a group stop, another
    // PTRACE_INTERRUPT), or the tracer goes.
    while let Outcome::Resumed(Resume { listen: true, .. }, _) = outcome {
        crate::wait::until_signal_or_deadline(
            || {
                let stopped = process.is_stopped();
                let t = process.trace.lock();
                (stopped || t.trap_requested || t.tracer().is_none()).then_some(())
            },
            None,
        );
        if killed(process, thread) || !is_traced(process) {
            return;
        }
        process.trace.lock().trap_requested = false;
        let sig = process.stopped_by().unwrap_or(signal::SIGTRAP);
        outcome = event_stop(process, thread, user, orig_rax, Event::Stop, sig, None);
    }
}

/// Takes a stop a tracer asked for in the middle of a sleep Linux would restart with the
/// time left (nanosleep), as if on the way out, so that the call can sleep on. Returns
/// false if there was none to take, or a signal is pending too (the call ends with EINTR).
pub fn trap_in_sleep(process: &Process, thread: &Thread, user: &mut UserMode, nr: u64) -> bool {
    if !is_traced_thread(process, thread)
        || !trap_requested(process)
        || process.has_real_signal_for(Some(thread))
    {
        return false;
    }
    let mut orig_rax = nr;
    requested_trap(process, thread, user, &mut orig_rax);
    true
}

/// Whether a stop was requested (a blocking call returns early so the stop can happen).
pub fn trap_requested(process: &Process) -> bool {
    is_traced(process) && process.trace.lock().trap_requested
}

/// The event a system call raised (fork, exec), reported as it returns.
pub fn pending_event(process: &Process, thread: &Thread, user: &mut UserMode, orig_rax: &mut u64) {
    if !is_traced_thread(process, thread) {
        return;
    }
    let Some((event, message)) = process.trace.lock().pending_event.take() else { return };
    event_stop(process, thread, user, orig_rax, event, signal::SIGTRAP, Some(message));
}

/// The stop before the process exits with `status` (PTRACE_O_TRACEEXIT), unless SIGKILL
/// ends it.
pub fn exit_stop(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    orig_rax: &mut u64,
    status: ExitStatus,
) {
    if status == ExitStatus::Signaled(signal::SIGKILL, false)
        || !has_option(process, state::O_TRACEEXIT)
    {
        return;
    }
    let message = u64::from(status.wait_status());
    event_stop(process, thread, user, orig_rax, Event::Exit, signal::SIGTRAP, Some(message));
}

/// After a successful execve: the exec event (PTRACE_O_TRACEEXEC, with the PID as its
/// message), or else the SIGTRAP Linux sends a tracee that did not ask for the event.
pub fn after_exec(process: &Process, thread: &Thread) {
    if !is_traced(process) {
        return;
    }
    let (event, seized) = {
        let t = process.trace.lock();
        (t.options & state::O_TRACEEXEC != 0, t.seized)
    };
    if event {
        process.trace.lock().pending_event = Some((Event::Exec, process.pid() as u64));
    } else if !seized {
        signal::send_to(
            process,
            Some(thread),
            SigInfo {
                signo: signal::SIGTRAP,
                code: signal::SI_USER,
                pid: process.pid(),
                uid: process.creds().ruid,
                ..SigInfo::default()
            },
        );
    }
}
