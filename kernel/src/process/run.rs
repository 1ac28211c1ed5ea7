//! The loop every user process runs on its task.

use alloc::string::String;
use alloc::sync::Arc;

use ostd::user::{ReturnReason, UserContext, UserMode};

use super::creds::Credentials;
use super::ptrace::SyscallStop;
use super::ptrace::stop as ptrace_stop;
use super::sigframe::{self, SigInfo};
use super::signal::{self, DefaultAction};
use super::{ExitStatus, Process, Thread, registry};
use crate::error::Errno;
use crate::user_mem::UserMem;

/// What the thread loop does after a system call.
pub enum AfterSyscall {
    /// Return to user mode.
    Return,
    /// This thread ends (exit); the process too if it was the last.
    ExitThread(ExitStatus),
    /// The whole process ends (exit_group).
    ExitGroup(ExitStatus),
}

/// Runs one system call from the thread's registers and stores its result in them.
pub type SyscallHandler = fn(&Arc<Process>, &Arc<Thread>, &mut UserMode) -> AfterSyscall;

/// The system-call layer's two entry points: SYSCALL and `int 0x80`.
pub struct SyscallEntries {
    /// The 64-bit ABI (SYSCALL).
    pub native: SyscallHandler,
    /// The i386 ABI (`int 0x80`).
    pub legacy: SyscallHandler,
}

/// Set once at boot by `main`: the syscall layer sits above this loop, so the loop is told
/// where to send system calls rather than importing it.
static SYSCALL_ENTRIES: spin::Once<SyscallEntries> = spin::Once::new();

/// Registers the system-call layer. The first registration wins.
pub fn set_syscall_entries(entries: SyscallEntries) {
    SYSCALL_ENTRIES.call_once(|| entries);
}

/// si_code of a signal the kernel raised itself (a CPU exception without a finer code).
const SI_KERNEL: i32 = 0x80;

/// The si_code of a debug trap's SIGTRAP from what DR6 reported (Linux's get_si_code):
/// TRAP_TRACE (2) for a single step, TRAP_HWBKPT (4) for a hardware breakpoint, else
/// TRAP_BRKPT (1).
fn debug_trap_code(status: u64) -> i32 {
    if status & ostd::user::DR6_SINGLE_STEP != 0 {
        2
    } else if status & 0xf != 0 {
        4
    } else {
        1
    }
}
/// The end of the user address space as Linux 6.1 reports faults (TASK_SIZE_MAX: the last
/// canonical page is kept unmapped).
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;

/// Starts `thread` of `process` running `context` on a new task.
pub fn spawn(process: Arc<Process>, thread: Arc<Thread>, context: UserContext) {
    let name = alloc::format!("pid{}.{}", process.pid(), thread.tid());
    ostd::task::spawn(&name, move || run(process, thread, context));
}

/// Syscalls that Linux restarts after a handler with SA_RESTART (ERESTARTSYS), rather than
/// failing with EINTR: reads, writes, waits, opens (creat and open_by_handle_at too) and
/// truncate (waiting for a lease to break), waits for file locks (fcntl's F_SETLKW and
/// flock, the only commands of theirs that can be interrupted), and message queue sends and
/// receives.
fn restartable(nr: u64) -> bool {
    matches!(
        nr,
        0 | 1 | 2 | 17 | 18 | 19 | 20 | 61 | 72 | 73 | 76 | 85 | 257 | 304 | 247 | 242 | 243
    )
}

/// Calls that restart after a handler whether or not it asked (Linux's ERESTARTNOINTR):
/// futex's LOCK_PI and LOCK_PI2, whose caller cannot tell an interruption from a timeout,
/// and WAIT_REQUEUE_PI before its requeue (after it, the call ends with EAGAIN instead).
/// `ctx` still holds the call's arguments (the kernel changed only rax).
fn always_restarts(nr: u64, ctx: &UserContext) -> bool {
    const FUTEX: u64 = 202;
    const CMD_MASK: u64 = 0x7f; // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
    nr == FUTEX && matches!(ctx.rsi & CMD_MASK, 6 | 11 | 13)
}

/// Syscalls that never restart after any signal (they report EINTR): sleeps and polls,
/// semop and semtimedop (Linux's do_semtimedop returns EINTR itself), and rt_sigreturn,
/// whose "result" is the interrupted code's rax, EINTR or not.
fn never_restarts(nr: u64) -> bool {
    matches!(nr, 7 | 15 | 23 | 35 | 230 | 270 | 271 | 34 | 130 | 65 | 220)
}

fn run(process: Arc<Process>, thread: Arc<Thread>, context: UserContext) {
    let entries = SYSCALL_ENTRIES
        .get()
        .expect("a user thread started before the syscall layer was registered");
    registry::bind_current_task(process.clone(), thread.clone());
    let mut user = UserMode::new(process.vm().space().clone(), context);
    let mut interrupted: Option<u64> = None;
    // Whether the way back to user mode must look at the group exit and the signals. It is
    // cleared only when a look found no signal pending at all (blocked or not); from then
    // on, anything that could need a look reaches this loop by another road: a signal sent
    // or a group exit set by anyone interrupts the task (`Process::interrupt_sleep`), so
    // `execute` comes back with `Interrupted`; the thread's own faults come back as other
    // reasons; a call that ended with EINTR sets `interrupted`. A mask change alone cannot
    // make a signal deliverable when none is pending. So a plain system call returns to user
    // mode without taking the signal locks (Linux's TIF_SIGPENDING plays this part).
    let mut attention = true;
    // The syscall number as the last entry saw it (-1 after a fault or an interrupt): what
    // a tracer reads as orig_rax, and may change at a syscall-entry stop.
    let mut orig_rax = u64::MAX;
    let (status, whole_group) = loop {
        if attention || interrupted.is_some() {
            if let Some(status) = process.group_exit_status() {
                break (status, true);
            }
            match deliver_signals(&process, &thread, &mut user, interrupted.take(), &mut orig_rax) {
                Delivered::Exit(status) => break (status, true),
                Delivered::NothingPending => attention = false,
                Delivered::MayHaveMore => attention = true,
            }
            ptrace_stop::requested_trap(&process, &thread, &mut user, &mut orig_rax);
        }
        let reason = user.execute();
        if !matches!(reason, ReturnReason::Syscall) {
            attention = true;
            orig_rax = u64::MAX;
        }
        match reason {
            ReturnReason::Syscall => {
                let mut nr = user.context().syscall_number();
                orig_rax = nr;
                let traced = ptrace_stop::is_traced_thread(&process, &thread);
                // The tracer sees the call before it runs, and may change or skip it: -1 as
                // the number skips it, leaving rax as the tracer set it (-ENOSYS first).
                let mut skip = false;
                if traced && ptrace_stop::wants_syscall_stops(&process) {
                    user.context_mut().rax = (-(Errno::ENOSYS as i64)) as u64;
                    let alive = ptrace_stop::syscall_stop(
                        &process,
                        &thread,
                        &mut user,
                        &mut orig_rax,
                        SyscallStop::Entry,
                    );
                    nr = orig_rax;
                    skip = !alive || nr == u64::MAX;
                    if !skip {
                        user.context_mut().rax = nr;
                    }
                }
                if !skip {
                    match (entries.native)(&process, &thread, &mut user) {
                        AfterSyscall::Return => {}
                        AfterSyscall::ExitThread(status) => break (status, false),
                        AfterSyscall::ExitGroup(status) => break (status, true),
                    }
                }
                if traced {
                    attention = true;
                    ptrace_stop::pending_event(&process, &thread, &mut user, &mut orig_rax);
                    if ptrace_stop::wants_syscall_stops(&process) {
                        ptrace_stop::syscall_stop(
                            &process,
                            &thread,
                            &mut user,
                            &mut orig_rax,
                            SyscallStop::Exit,
                        );
                    }
                }
                // A user copy inside the call found no frame (it answered EFAULT): make room
                // before the program goes on.
                if process.vm().take_starved() {
                    let _ = super::oom::out_of_memory(&process);
                    attention = true;
                }
                // pause() woken only for a tracer's stop (PTRACE_INTERRUPT) goes back to
                // sleep once the tracer lets it go, as Linux's ERESTARTNOHAND does when no
                // handler ran.
                let paused_for_tracer = nr == 34
                    && ptrace_stop::is_traced_thread(&process, &thread)
                    && ptrace_stop::trap_requested(&process);
                if user.context().rax == (-(Errno::EINTR as i64)) as u64
                    && (!never_restarts(nr) || paused_for_tracer)
                {
                    interrupted = Some(nr);
                }
            }
            ReturnReason::LegacySyscall => match (entries.legacy)(&process, &thread, &mut user) {
                AfterSyscall::Return => {}
                AfterSyscall::ExitThread(status) => break (status, false),
                AfterSyscall::ExitGroup(status) => break (status, true),
            },
            ReturnReason::PageFault(info) => {
                // The access was allowed, but no frame was free: make room, then retry it
                // (or die, if this process was chosen). With nothing left to kill, the
                // access fails like any other the kernel cannot resolve.
                if process.vm().take_starved() && super::oom::out_of_memory(&process) {
                    continue;
                }
                log::info!(
                    "pid {}: page fault at {:#x} ({:?}, present={}) rip {:#x}",
                    process.pid(),
                    info.addr,
                    info.access,
                    info.present,
                    user.context().rip
                );
                // The frame's err: the CPU's error code, with the protection bit set for
                // kernel addresses so that the kernel's page-table layout does not show
                // (Linux's set_signal_archinfo).
                let mut err = user.context().error_code | 4; // X86_PF_USER
                if info.addr >= TASK_SIZE_MAX {
                    err |= 1; // X86_PF_PROT
                }
                let trap = Some((14, err));
                if process.vm().is_beyond_eof(info.addr) {
                    // A file mapping's page past the end of the file.
                    synchronous(
                        &process,
                        &thread,
                        SigInfo {
                            signo: signal::SIGBUS,
                            code: 2,
                            addr: info.addr,
                            trap,
                            ..SigInfo::default()
                        },
                    ); // BUS_ADRERR
                } else {
                    let code = if info.present { 2 } else { 1 }; // SEGV_ACCERR / SEGV_MAPERR
                    synchronous(
                        &process,
                        &thread,
                        SigInfo {
                            signo: signal::SIGSEGV,
                            code,
                            addr: info.addr.max(1),
                            trap,
                            ..SigInfo::default()
                        },
                    );
                }
            }
            ReturnReason::Exception { vector, error_code } => {
                log::info!(
                    "pid {}: {} (error {error_code:#x}) at rip {:#x}",
                    process.pid(),
                    ReturnReason::exception_name(vector),
                    user.context().rip
                );
                // As Linux's arch/x86/kernel/traps.c reports them: a signal, its si_code,
                // and whether si_addr is the faulting rip (else 0).
                let (sig, code, at_rip) = match vector {
                    0 => (signal::SIGFPE, 1, true), // FPE_INTDIV
                    16 | 19 => (signal::SIGFPE, 0, true),
                    // A debug trap, as Linux's get_si_code reads DR6: single-step is
                    // TRAP_TRACE, a hardware breakpoint TRAP_HWBKPT, else (int1) TRAP_BRKPT.
                    1 => (signal::SIGTRAP, debug_trap_code(user.context().debug_status), true),
                    // int3 (do_int3_user): a plain force_sig, SI_KERNEL.
                    3 => (signal::SIGTRAP, SI_KERNEL, false),
                    6 => (signal::SIGILL, 2, true),   // ILL_ILLOPN
                    17 => (signal::SIGBUS, 1, false), // BUS_ADRALN, si_addr NULL
                    // Segment not present, stack segment (a non-canonical rsp): SIGBUS.
                    11 | 12 => (signal::SIGBUS, SI_KERNEL, false),
                    _ => (signal::SIGSEGV, SI_KERNEL, false), // #GP, #OF, #NP, #SS ...
                };
                let addr = if at_rip { user.context().rip } else { 0 };
                synchronous(
                    &process,
                    &thread,
                    SigInfo {
                        signo: sig,
                        code,
                        addr,
                        trap: Some((u64::from(vector), error_code)),
                        ..SigInfo::default()
                    },
                );
            }
            // Back for something the kernel must act on (a signal): the loop delivers it.
            ReturnReason::Interrupted => {}
            ReturnReason::BadContext => {
                synchronous(
                    &process,
                    &thread,
                    SigInfo { signo: signal::SIGSEGV, code: 0x80, ..SigInfo::default() },
                );
            }
        }
    };
    if process.group_exit_status().is_none() && ptrace_stop::is_traced_thread(&process, &thread) {
        ptrace_stop::exit_stop(&process, &thread, &mut user, &mut orig_rax, status);
    }
    if whole_group {
        process.set_group_exit(status);
        process.interrupt_sleep();
    }
    // Locks it still holds are marked as its owner's death leaves them (before the TID word
    // is cleared, as Linux's mm_release orders them).
    let robust = thread.robust_list();
    if robust != 0 {
        // Lock words hold the TID the thread's PID namespace gives it.
        let seen = process.nr_for(thread.tid()) as u32;
        crate::ipc::robust_futex::release_all(user.vm_space(), robust, seen);
    }
    crate::ipc::pi_futex::owner_exited(thread.tid() as u32);
    // Tell pthread_join: zero the registered word and wake whoever waits on it.
    let clear = thread.clear_child_tid();
    if clear != 0 {
        let mem = UserMem::new(user.vm_space().clone());
        if mem.write_u32(clear, 0).is_ok() {
            crate::ipc::futex::wake_address(user.vm_space(), clear);
        }
    }
    if thread.tid() != process.pid() {
        registry::free_tid(thread.tid());
    }
    let last = process.thread_exited();
    if last {
        let final_status = process.group_exit_status().unwrap_or(status);
        process.exit(final_status);
    }
    let task = ostd::task::current();
    registry::unbind_current_task();
    process.add_exited_thread_cpu(task.cpu_time());
}

/// A fault raised by the thread's own instruction, for it alone: if the signal is blocked or
/// ignored, Linux kills the process anyway (force_sig_fault), so the default action applies.
pub(crate) fn synchronous(process: &Process, thread: &Thread, info: SigInfo) {
    let sig = info.signo;
    {
        let (s, mut t) = process.lock_signal_states(thread);
        let bit = 1u64 << (sig - 1);
        let action = s.actions.get(sig);
        if t.blocked & bit != 0 || action.handler == signal::SIG_IGN {
            s.actions.replace(sig, signal::SigAction::default());
            t.blocked &= !bit;
        }
        t.private.add(info);
    }
    // The thread may be inside a system call (a bad sigreturn frame): make its way back to
    // user mode stop in the loop, which delivers it.
    ostd::task::interrupt(&ostd::task::current());
}

/// What a look at the pending signals ended with.
enum Delivered {
    /// A signal ends the process with this status.
    Exit(ExitStatus),
    /// No signal is pending for the thread or the process, blocked or not.
    NothingPending,
    /// A handler frame was built, or signals stay pending (blocked ones): look again next time.
    MayHaveMore,
}

/// Delivers pending signals: runs a handler (building its frame), or applies the default
/// action.
fn deliver_signals(
    process: &Process,
    thread: &Thread,
    user: &mut UserMode,
    interrupted: Option<u64>,
    orig_rax: &mut u64,
) -> Delivered {
    let mut restart = interrupted;
    // rt_sigsuspend's mask to put back, taken on the first pass (under the locks that pass
    // takes anyway: this runs before every return to user mode).
    let mut saved_mask: Option<Option<u64>> = None;
    let mut built_frame = false;
    let still_pending = loop {
        let (sig, action, info, oldmask) = {
            // The thread's own signals first, then the process's (as Linux dequeues them).
            let (mut s, mut t) = process.lock_signal_states(thread);
            let saved = *saved_mask.get_or_insert_with(|| t.saved_mask.take());
            let blocked = t.blocked;
            let Some(info) =
                t.private.take_deliverable(blocked).or_else(|| s.shared.take_deliverable(blocked))
            else {
                break t.private.pending() | s.shared.pending() != 0;
            };
            (info.signo, s.actions.get(info.signo), info, saved.unwrap_or(blocked))
        };
        if let Some(timer) = info.timer_id() {
            super::posix_timer::signal_taken(process, timer);
        }
        // A tracer sees every signal but SIGKILL before it is delivered, and may change or
        // suppress it; one the mask now blocks waits (Linux requeues it).
        let (sig, action, info) = if sig != signal::SIGKILL
            && ptrace_stop::is_traced_thread(process, thread)
        {
            let Some(info) = ptrace_stop::signal_stop(process, thread, user, orig_rax, info) else {
                continue;
            };
            let bit = 1u64 << (info.signo - 1);
            if thread.blocked() & bit & !signal::UNBLOCKABLE != 0 {
                thread.with_signals(|t| t.private.add(info));
                continue;
            }
            (info.signo, process.sig_action(info.signo), info)
        } else {
            (sig, action, info)
        };
        if action.handler == signal::SIG_IGN && sig != signal::SIGKILL {
            continue;
        }
        if action.handler > signal::SIG_IGN && sig != signal::SIGKILL && sig != signal::SIGSTOP {
            let ctx = user.context_mut();
            if let Some(nr) = restart.take()
                && (action.flags & signal::SA_RESTART != 0 && restartable(nr)
                    || always_restarts(nr, ctx))
            {
                ctx.rip -= 2;
                ctx.rax = nr;
            }
            let mem = UserMem::new(user.vm_space().clone());
            let (on_altstack, (base, size, disabled)) = {
                let signals = thread.lock_signals();
                (signals.on_altstack(user.context().rsp), signals.altstack)
            };
            // A top past 2^64 wraps, as on Linux; the frame then fails to fit (SIGSEGV).
            let altstack_top =
                (action.flags & signal::SA_ONSTACK != 0 && !disabled && !on_altstack)
                    .then_some(base.wrapping_add(size));
            match sigframe::setup(
                &mem,
                user.context_mut(),
                info,
                action.handler,
                action.restorer,
                oldmask,
                altstack_top,
            ) {
                Ok(()) => {
                    let mut block = action.mask;
                    if action.flags & signal::SA_NODEFER == 0 {
                        block |= 1u64 << (sig - 1);
                    }
                    thread.lock_signals().blocked |= block & !signal::UNBLOCKABLE;
                    let s = process.lock_signals();
                    if action.flags & signal::SA_RESETHAND != 0 {
                        s.actions.replace(sig, signal::SigAction::default());
                    }
                    // Every signal still deliverable gets its frame too, each below the
                    // last, as Linux's exit-to-user loop builds them: the last one built runs
                    // first. Those frames save the mask as it is now, not rt_sigsuspend's.
                    saved_mask = Some(None);
                    built_frame = true;
                    continue;
                }
                Err(e) => {
                    log::info!(
                        "pid {}: cannot build the frame for signal {sig} at rsp {:#x}: {e:?}",
                        process.pid(),
                        user.context().rsp
                    );
                    return Delivered::Exit(ExitStatus::Signaled(signal::SIGSEGV, false));
                }
            }
        }
        match signal::default_action(sig) {
            DefaultAction::Terminate => return Delivered::Exit(ExitStatus::Signaled(sig, false)),
            // No core file is written, so the status claims none (Linux writes none either
            // under the default RLIMIT_CORE of 0, and then reports no dump).
            DefaultAction::CoreDump => return Delivered::Exit(ExitStatus::Signaled(sig, false)),
            DefaultAction::Stop if ptrace_stop::is_traced_thread(process, thread) => {
                if ptrace_stop::group_stop(process, thread, user, orig_rax, sig) {
                    // Let go in the stop: it stays stopped until SIGCONT, as on Linux.
                    wait_while_stopped(process, thread);
                }
            }
            DefaultAction::Stop => stop(process, thread, sig),
            DefaultAction::Ignore | DefaultAction::Continue => continue,
        }
    };
    let mut still_pending = still_pending;
    if let Some(Some(mask)) = saved_mask {
        thread.set_blocked(mask);
        // The mask put back may block what was deliverable under the suspended one.
        still_pending = true;
    }
    // Interrupted, but no handler ran: restart transparently, as Linux does.
    if let Some(nr) = restart {
        let ctx = user.context_mut();
        ctx.rip -= 2;
        ctx.rax = nr;
    }
    if still_pending || built_frame { Delivered::MayHaveMore } else { Delivered::NothingPending }
}

/// Stops the process (job control) until SIGCONT or SIGKILL, telling the parent.
fn stop(process: &Process, thread: &Thread, sig: u32) {
    process.mark_stopped(sig);
    tell_parent_stopped(process, sig);
    wait_while_stopped(process, thread);
}

/// Tells the parent that the process stopped by `sig`: SIGCHLD with CLD_STOPPED (unless it
/// asked for none), and a wake-up for its wait.
pub(super) fn tell_parent_stopped(process: &Process, sig: u32) {
    if let Some(parent) = process.parent() {
        if parent.sig_action(signal::SIGCHLD).flags & signal::SA_NOCLDSTOP == 0 {
            signal::send_info(
                &parent,
                SigInfo {
                    signo: signal::SIGCHLD,
                    code: 5,
                    pid: process.pid(),
                    uid: process.creds().ruid,
                    status: sig as i32,
                    ..SigInfo::default()
                },
            );
        }
        parent.wake_child_waiters();
    }
}

/// Sleeps while the process is job-stopped: until SIGCONT, SIGKILL, or a tracer taking the
/// stop over.
fn wait_while_stopped(process: &Process, thread: &Thread) {
    // SIGCONT and SIGKILL wake the thread wherever it sleeps (`Process::interrupt_sleep`).
    crate::wait::until_signal_or_deadline(
        || {
            let killed = process.shared_pending() & (1 << (signal::SIGKILL - 1)) != 0;
            // A tracer attached meanwhile takes the stop over (`ptrace_stop::requested_trap`).
            let taken_over = ptrace_stop::is_traced_thread(process, thread)
                && ptrace_stop::trap_requested(process);
            (!process.is_stopped() || killed || taken_over).then_some(())
        },
        None,
    );
}

/// Who pid 1 runs as, and where: root in `/` ([`InitIdentity::default`]), or what a
/// container's spec says.
#[derive(Default)]
pub struct InitIdentity {
    /// The working directory (`None`: the root).
    pub cwd: Option<alloc::sync::Arc<crate::fs::Node>>,
    /// Real, effective and saved user ID.
    pub uid: u32,
    /// Real, effective and saved group ID.
    pub gid: u32,
    /// Supplementary groups, sorted.
    pub groups: alloc::vec::Vec<u32>,
}

/// Creates pid 1 from `path` with `argv` and `envp`, on the console, with `root` as its root,
/// as `identity` says.
pub fn start_init(
    root: alloc::sync::Arc<crate::fs::Node>,
    path: &str,
    argv: alloc::vec::Vec<String>,
    envp: alloc::vec::Vec<String>,
    identity: &InitIdentity,
) -> Result<(), Errno> {
    use crate::fs::{self, OpenFlags};
    let cwd = identity.cwd.clone().unwrap_or_else(|| root.clone());
    let fs_context = super::FsContext { root: root.clone(), cwd, umask: 0o022 };
    let start = crate::fs::path::Start::kernel(&root);
    let node = crate::fs::path::resolve(&start, path, true)?;
    // Measured boot, event 4: the program's bytes, before exec reads them.
    crate::attest::measure::init_binary(path, |offset, buf| node.read_at(offset, buf))?;
    let open_exec = |p: &str| crate::fs::path::resolve(&start, p, true);
    let loaded =
        super::exec::load(&open_exec, node, path, argv.clone(), envp).map_err(|e| match e {
            super::exec::ExecError::Refused(e) => e,
            super::exec::ExecError::Fatal => Errno::ENOEXEC,
        })?;
    let pid = registry::alloc_pid().ok_or(Errno::EAGAIN)?;
    let mut files = fs::FdTable::new();
    let console = crate::fs::path::resolve(&start, "/dev/console", true)?;
    let rdev = match console.kind() {
        crate::fs::NodeKind::CharDev(r) => r,
        _ => return Err(Errno::ENODEV),
    };
    for _ in 0..3 {
        let file = crate::fs::devfs::open(rdev, console.clone(), OpenFlags::RDWR)?;
        files.insert(file, false)?;
    }
    let process = Process::new(pid, alloc::sync::Weak::new(), loaded.vm.clone(), files, fs_context);
    process.set_program(loaded.comm, argv, crate::fs::path::real_path(&start, &loaded.exe));
    process.update_creds(|c| *c = Credentials::of(identity.uid, identity.gid));
    process.set_groups(identity.groups.clone());
    registry::insert(process.clone());
    crate::tty::set_foreground(pid);
    let mut ctx = UserContext::default();
    ctx.rip = loaded.entry;
    ctx.rsp = loaded.stack_pointer;
    spawn(process, Thread::new(pid), ctx);
    Ok(())
}
