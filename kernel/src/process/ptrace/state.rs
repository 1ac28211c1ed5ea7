//! What a tracee records about its tracing: who traces it, the options, and the stop it is
//! in (with the registers the tracer reads and changes).

use alloc::boxed::Box;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::{SpinLock, SpinLockGuard};
use ostd::user::UserContext;

use crate::process::Process;
use crate::process::sigframe::SigInfo;

/// PTRACE_O_TRACESYSGOOD: syscall stops report SIGTRAP | 0x80.
pub const O_TRACESYSGOOD: u32 = 1;
/// PTRACE_O_TRACEFORK.
pub const O_TRACEFORK: u32 = 2;
/// PTRACE_O_TRACEVFORK.
pub const O_TRACEVFORK: u32 = 4;
/// PTRACE_O_TRACECLONE.
pub const O_TRACECLONE: u32 = 8;
/// PTRACE_O_TRACEEXEC.
pub const O_TRACEEXEC: u32 = 0x10;
/// PTRACE_O_TRACEVFORKDONE.
pub const O_TRACEVFORKDONE: u32 = 0x20;
/// PTRACE_O_TRACEEXIT.
pub const O_TRACEEXIT: u32 = 0x40;
/// PTRACE_O_TRACESECCOMP.
pub const O_TRACESECCOMP: u32 = 0x80;
/// PTRACE_O_EXITKILL: SIGKILL the tracee when the tracer exits.
pub const O_EXITKILL: u32 = 0x10_0000;
/// PTRACE_O_SUSPEND_SECCOMP.
pub const O_SUSPEND_SECCOMP: u32 = 0x20_0000;
/// Every option Linux 6.1 accepts (PTRACE_O_MASK).
pub const O_MASK: u32 = O_TRACESYSGOOD
    | O_TRACEFORK
    | O_TRACEVFORK
    | O_TRACECLONE
    | O_TRACEEXEC
    | O_TRACEVFORKDONE
    | O_TRACEEXIT
    | O_TRACESECCOMP
    | O_EXITKILL
    | O_SUSPEND_SECCOMP;

/// A ptrace event, as the tracer's wait status carries it (status >> 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Event {
    /// fork(2), or clone with SIGCHLD.
    Fork = 1,
    /// vfork(2), or clone with CLONE_VFORK.
    Vfork = 2,
    /// Another clone.
    Clone = 3,
    /// A successful execve.
    Exec = 4,
    /// The tracee is about to exit.
    Exit = 6,
    /// A seccomp filter returned SECCOMP_RET_TRACE.
    Seccomp = 7,
    /// PTRACE_INTERRUPT, a seized tracee's group stop, or a seized new child.
    Stop = 128,
}

/// What a syscall stop is, for PTRACE_GET_SYSCALL_INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallStop {
    /// Not a syscall stop.
    None,
    /// Before the call runs.
    Entry,
    /// After it ran.
    Exit,
    /// A seccomp filter's SECCOMP_RET_TRACE, before the call runs.
    Seccomp,
}

/// How the tracer let the tracee go on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Step {
    /// PTRACE_CONT: run until a signal or an event.
    #[default]
    Continue,
    /// PTRACE_SYSCALL: also stop at the next syscall entry or exit.
    Syscall,
    /// PTRACE_SINGLESTEP: stop after one instruction (the trap flag).
    Single,
}

/// The tracer's answer to a stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// The signal to deliver (0: none); only a signal-delivery stop delivers it.
    pub sig: u32,
    /// How to run on.
    pub step: Step,
    /// PTRACE_LISTEN: stay stopped while the process is job-stopped.
    pub listen: bool,
}

/// A stop the tracee is in.
pub struct Stop {
    /// Linux's exit_code: the wait status is `code << 8 | 0x7f`.
    pub code: u32,
    /// Whether wait has reported it to the tracer.
    pub reported: bool,
    /// The siginfo PTRACE_GETSIGINFO reads (none in a plain group stop: EINVAL).
    pub siginfo: Option<SigInfo>,
    /// The registers, published while stopped; put back when the tracee resumes.
    pub regs: Box<UserContext>,
    /// The syscall number as the entry saw it (-1 outside a syscall): orig_rax.
    pub orig_rax: u64,
    /// Whether this is a syscall stop, and which.
    pub syscall: SyscallStop,
}

/// A tracee's record of its tracing.
#[derive(Default)]
pub struct Trace {
    /// The tracer (dangling: not traced).
    pub tracer: Weak<Process>,
    /// Attached by PTRACE_SEIZE (event stops instead of SIGSTOP).
    pub seized: bool,
    /// PTRACE_O_* options.
    pub options: u32,
    /// What PTRACE_GETEVENTMSG returns.
    pub message: u64,
    /// The stop it is in.
    pub stop: Option<Stop>,
    /// The tracer's answer, until the tracee takes it.
    pub resume: Option<Resume>,
    /// How the last resume asked it to run.
    pub step: Step,
    /// PTRACE_INTERRUPT (or a seized new child): stop at the next chance.
    pub trap_requested: bool,
    /// An event a syscall raised, reported when the call returns (fork, exec): the event
    /// and its message.
    pub pending_event: Option<(Event, u64)>,
    /// It has exited while traced by someone other than its parent: the tracer hears of it
    /// first, and only then the parent.
    pub exit_held: bool,
}

impl Trace {
    /// Returns the tracer, if traced.
    pub fn tracer(&self) -> Option<Arc<Process>> {
        self.tracer.upgrade()
    }

    /// Forgets the tracer and everything it asked for; a stop in progress and the answer
    /// to it stay, for the tracee to take.
    pub fn clear(&mut self) {
        let (stop, resume) = (self.stop.take(), self.resume.take());
        *self = Trace { exit_held: self.exit_held, stop, resume, ..Trace::default() };
    }
}

/// A process's [`Trace`], with a lock-free answer to "is it traced at all", asked on every
/// system call.
pub struct TraceCell {
    traced: AtomicBool,
    trace: SpinLock<Trace>,
    /// The processes this one traces (as a tracer).
    pub tracees: SpinLock<Vec<Arc<Process>>>,
}

impl Default for TraceCell {
    fn default() -> Self {
        Self {
            traced: AtomicBool::new(false),
            trace: SpinLock::new(Trace::default()),
            tracees: SpinLock::new(Vec::new()),
        }
    }
}

impl TraceCell {
    /// Returns whether a tracer is attached (a hint: the lock decides).
    pub fn is_traced(&self) -> bool {
        self.traced.load(Ordering::Acquire)
    }

    /// Locks the record.
    pub fn lock(&self) -> SpinLockGuard<'_, Trace> {
        self.trace.lock()
    }

    /// Records whether a tracer is attached (with the record locked by the caller).
    pub fn set_traced(&self, traced: bool) {
        self.traced.store(traced, Ordering::Release);
    }
}
