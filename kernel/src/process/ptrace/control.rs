//! The tracer's side: attaching and detaching, resuming a stopped tracee, and what wait
//! and exit need to know about tracing.
//!
//! Lock rule: a tracee's `Trace` and a tracer's tracee list are never held together.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::state::{self, Event, Resume};
use crate::error::{Errno, SysResult};
use crate::process::sigframe::SigInfo;
use crate::process::{ExitStatus, Pid, Process, registry, signal};

/// Returns the PID of `process`'s tracer (0: none), for /proc/PID/status.
pub fn tracer_pid(process: &Process) -> Pid {
    process.trace.lock().tracer().map_or(0, |t| t.pid())
}

/// Returns whether `process` is in a ptrace stop (/proc's "tracing stop").
pub fn in_stop(process: &Process) -> bool {
    process.trace.is_traced() && process.trace.lock().stop.is_some()
}

/// Returns the processes `tracer` traces.
pub fn tracees(tracer: &Process) -> Vec<Arc<Process>> {
    tracer.trace.tracees.lock().clone()
}

/// Links `tracee` to `tracer`.
///
/// # Errors
/// EPERM if it is traced already (checked and linked in one step: two tracers racing to
/// attach cannot both win).
fn link(tracer: &Arc<Process>, tracee: &Arc<Process>, seized: bool, options: u32) -> SysResult<()> {
    {
        let mut t = tracee.trace.lock();
        if t.tracer().is_some() {
            return Err(Errno::EPERM);
        }
        t.clear();
        t.tracer = Arc::downgrade(tracer);
        t.seized = seized;
        t.options = options;
        tracee.trace.set_traced(true);
    }
    tracer.trace.tracees.lock().push(tracee.clone());
    Ok(())
}

/// Unlinks `tracee` from whoever traces it.
fn unlink(tracee: &Process) {
    let tracer = {
        let mut t = tracee.trace.lock();
        let tracer = t.tracer();
        t.clear();
        tracee.trace.set_traced(false);
        tracer
    };
    if let Some(tracer) = tracer {
        tracer.trace.tracees.lock().retain(|p| p.pid() != tracee.pid());
    }
}

/// PTRACE_TRACEME: the caller's parent becomes its tracer.
///
/// # Errors
/// EPERM if it is traced already (or has no parent).
pub fn trace_me(me: &Arc<Process>) -> SysResult<()> {
    let parent = me.parent().ok_or(Errno::EPERM)?;
    link(&parent, me, false, 0)
}

/// Returns whether `tracer` may trace `target` (Linux's __ptrace_may_access, as
/// PTRACE_MODE_ATTACH_REALCREDS): root may; others only a dumpable process whose user and
/// group IDs are all the caller's real ones.
pub fn may_access(tracer: &Process, target: &Process) -> bool {
    let (me, them) = (tracer.creds(), target.creds());
    if me.euid == 0 {
        return true;
    }
    let same_user = [them.ruid, them.euid, them.suid].iter().all(|&u| u == me.ruid);
    let same_group = [them.rgid, them.egid, them.sgid].iter().all(|&g| g == me.rgid);
    same_user && same_group && target.attrs().dumpable
}

/// PTRACE_ATTACH (`seize` false: the tracee is sent SIGSTOP) and PTRACE_SEIZE (it runs on,
/// with `options`).
///
/// # Errors
/// ESRCH if there is no such process; EPERM for the caller itself, a process it may not
/// trace, one traced already, or one that has exited.
pub fn attach(tracer: &Arc<Process>, pid: Pid, seize: bool, options: u32) -> SysResult<()> {
    let target =
        tracer.global_for(pid).filter(|_| pid > 0).and_then(registry::get).ok_or(Errno::ESRCH)?;
    if target.pid() == tracer.pid() || !may_access(tracer, &target) || target.is_zombie() {
        return Err(Errno::EPERM);
    }
    link(tracer, &target, seize, options)?;
    if !seize {
        // Linux's send_sig_info(SIGSTOP, SEND_SIG_PRIV): from the kernel.
        signal::send_info(
            &target,
            SigInfo { signo: signal::SIGSTOP, code: signal::SI_KERNEL, ..SigInfo::default() },
        );
    }
    if target.is_stopped() {
        // Job-stopped: it stops again as the tracer's, which then hears of it.
        target.trace.lock().trap_requested = true;
        target.interrupt_sleep();
    }
    Ok(())
}

/// Returns `tracer`'s tracee `pid`, which must be stopped unless `running_ok`.
///
/// # Errors
/// ESRCH if `pid` is not its tracee, or is not stopped.
pub fn tracee(tracer: &Process, pid: Pid, running_ok: bool) -> SysResult<Arc<Process>> {
    let tracee = tracees(tracer).into_iter().find(|p| p.pid() == pid).ok_or(Errno::ESRCH)?;
    let stopped = {
        let t = tracee.trace.lock();
        t.stop.is_some() && t.resume.is_none()
    };
    if !running_ok && (!stopped || tracee.is_zombie()) {
        return Err(Errno::ESRCH);
    }
    Ok(tracee)
}

/// Runs `f` on the stopped tracee's stop record.
///
/// # Errors
/// ESRCH if it is not stopped (any more).
pub fn with_stop<R>(
    tracee: &Process,
    f: impl FnOnce(&mut state::Stop, &mut state::Trace) -> R,
) -> SysResult<R> {
    let mut guard = tracee.trace.lock();
    let t = &mut *guard;
    let mut stop = t.stop.take().ok_or(Errno::ESRCH)?;
    let result = f(&mut stop, t);
    t.stop = Some(stop);
    Ok(result)
}

/// Lets a stopped tracee go on as `resume` says.
pub fn resume(tracee: &Process, resume: Resume) {
    tracee.trace.lock().resume = Some(resume);
    tracee.interrupt_sleep();
}

/// PTRACE_DETACH: the tracee is no longer traced and runs on (with `sig` if it was in a
/// signal-delivery stop).
pub fn detach(tracee: &Process, sig: u32) {
    {
        let mut t = tracee.trace.lock();
        if t.stop.is_some() {
            t.resume = Some(Resume { sig, ..Resume::default() });
        }
    }
    unlink(tracee);
    tracee.interrupt_sleep();
}

/// Returns whether `tracee` was attached by PTRACE_SEIZE.
pub fn is_seized(tracee: &Process) -> bool {
    tracee.trace.lock().seized
}

/// PTRACE_INTERRUPT: stop the (seized) tracee at its next chance.
pub fn interrupt(tracee: &Process) {
    tracee.trace.lock().trap_requested = true;
    tracee.interrupt_sleep();
}

/// Links a new child to its parent's tracer if the parent asked to trace children made
/// this way (`event`), and records the event for the parent to report as the call returns.
pub fn on_fork(parent: &Arc<Process>, child: &Arc<Process>, event: Event) {
    if !parent.trace.is_traced() {
        return;
    }
    let option = match event {
        Event::Fork => state::O_TRACEFORK,
        Event::Vfork => state::O_TRACEVFORK,
        _ => state::O_TRACECLONE,
    };
    let (tracer, seized, options) = {
        let t = parent.trace.lock();
        (t.tracer(), t.seized, t.options)
    };
    let Some(tracer) = tracer.filter(|_| options & option != 0) else { return };
    if link(&tracer, child, seized, options).is_err() {
        return; // A new child is nobody's tracee yet.
    }
    if seized {
        child.trace.lock().trap_requested = true;
    } else {
        // Linux adds SIGSTOP to the child's pending set directly: no sender.
        child.with_signals(|s| {
            s.shared.add(SigInfo { signo: signal::SIGSTOP, ..SigInfo::default() });
        });
    }
    parent.trace.lock().pending_event = Some((event, child.pid() as u64));
}

/// PTRACE_KILL.
pub fn kill(tracee: &Process) {
    signal::send_info(tracee, SigInfo { signo: signal::SIGKILL, ..SigInfo::default() });
}

/// The reportable stop of `tracee`, if `tracer` traces it and wait has not reported it:
/// Linux's exit_code (the status is `code << 8 | 0x7f`). Marked reported unless `keep`.
pub fn take_stop_report(tracer: &Process, tracee: &Process, keep: bool) -> Option<u32> {
    let mut t = tracee.trace.lock();
    if t.tracer().is_none_or(|tr| tr.pid() != tracer.pid()) || t.resume.is_some() {
        return None;
    }
    let stop = t.stop.as_mut().filter(|s| !s.reported)?;
    if !keep {
        stop.reported = true;
    }
    Some(stop.code)
}

/// Whether `waiter` may collect `process`'s exit: its tracer, or its parent once no other
/// tracer holds it.
pub fn may_reap(waiter: &Process, process: &Process) -> bool {
    let holder = {
        let t = process.trace.lock();
        t.tracer().filter(|_| t.exit_held)
    };
    match holder {
        Some(tracer) => tracer.pid() == waiter.pid(),
        None => process.parent().is_some_and(|p| p.pid() == waiter.pid()),
    }
}

/// Called as `process` becomes a zombie: returns true if its parent must not hear of it
/// yet (its tracer is someone else, and is told instead).
pub fn hold_exit(process: &Process, status: ExitStatus) -> bool {
    let parent = process.parent().map_or(0, |p| p.pid());
    let tracer = {
        let mut t = process.trace.lock();
        let Some(tracer) = t.tracer() else { return false };
        if parent == tracer.pid() {
            return false;
        }
        t.exit_held = true;
        tracer
    };
    let (code, status) = match status {
        ExitStatus::Exited(c) => (1, i32::from(c)),
        ExitStatus::Signaled(s, false) => (2, s as i32),
        ExitStatus::Signaled(s, true) => (3, s as i32),
    };
    signal::send_info(
        &tracer,
        SigInfo {
            signo: signal::SIGCHLD,
            code,
            pid: process.pid(),
            uid: process.creds().ruid,
            status,
            ..SigInfo::default()
        },
    );
    tracer.wake_child_waiters();
    true
}

/// After `waiter` collected `process`'s exit: a tracee that is not its child goes back to
/// its parent, who now hears of its end; a traced child is simply forgotten.
pub fn exit_collected(waiter: &Process, process: &Process) {
    let held = {
        let mut t = process.trace.lock();
        core::mem::replace(&mut t.exit_held, false)
    };
    unlink(process);
    if held
        && process.parent().is_none_or(|p| p.pid() != waiter.pid())
        && let (Some(parent), Some(status)) = (process.parent(), process.exit_status())
    {
        process.tell_parent(&parent, status);
    }
}

/// As `tracer` exits: its tracees are let go (killed if they asked for PTRACE_O_EXITKILL);
/// the exits it held go to their parents.
pub fn tracer_exited(tracer: &Process) {
    for tracee in tracees(tracer) {
        let (exitkill, held) = {
            let t = tracee.trace.lock();
            (t.options & state::O_EXITKILL != 0, t.exit_held)
        };
        if held {
            exit_collected(tracer, &tracee);
            continue;
        }
        unlink(&tracee);
        if exitkill {
            kill(&tracee);
        }
        tracee.interrupt_sleep();
    }
}
