//! seccomp: a thread's system calls checked against filters it installed (or inherited),
//! or against strict mode's four calls. Filters are classic BPF programs over
//! `struct seccomp_data` ([`bpf`]); they are kept across fork, clone and execve, only ever
//! added to, and evaluated before the call runs: every filter runs, and the most
//! restrictive verdict wins (Linux's kernel/seccomp.c).

pub mod bpf;

use alloc::sync::Arc;

use crate::error::{Errno, SysResult};

/// AUDIT_ARCH_X86_64: what `seccomp_data.arch` says of a SYSCALL-instruction call.
pub const ARCH_X86_64: u32 = 0xc000_003e;
/// AUDIT_ARCH_I386: an `int 0x80` call.
pub const ARCH_I386: u32 = 0x4000_0003;

/// The most instructions the filters on one thread's path may hold, counting 4 more per
/// filter (Linux's MAX_INSNS_PER_PATH).
const MAX_INSNS_PER_PATH: usize = 32768;

// Verdicts (the top 16 bits; the low 16 carry data).
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ACTION_FULL: u32 = 0xffff_0000;
const RET_DATA: u32 = 0x0000_ffff;

/// A thread's seccomp mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Disabled,
    /// Only read, write, exit and rt_sigreturn; anything else kills the thread.
    Strict,
    /// Filters decide.
    Filter,
}

impl Mode {
    /// The number /proc/PID/status and PR_GET_SECCOMP report.
    pub fn number(self) -> u32 {
        match self {
            Self::Disabled => 0,
            Self::Strict => 1,
            Self::Filter => 2,
        }
    }
}

/// One installed filter and the ones installed before it (shared with the threads and
/// children that inherited them).
#[derive(Debug)]
pub struct Filter {
    program: bpf::Program,
    /// SECCOMP_FILTER_FLAG_LOG: log the calls it does not allow.
    log: bool,
    previous: Option<Arc<Filter>>,
}

/// A thread's seccomp state: copied to threads and children it creates.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub mode: Mode,
    pub filters: Option<Arc<Filter>>,
}

impl State {
    /// How many filters are installed (/proc/PID/status's Seccomp_filters).
    pub fn filter_count(&self) -> usize {
        core::iter::successors(self.filters.as_deref(), |f| f.previous.as_deref()).count()
    }

    /// Whether `other`'s filters are this state's or an ancestor of them (TSYNC may then
    /// replace them with these).
    pub fn descends_from(&self, other: &State) -> bool {
        let Some(theirs) = &other.filters else { return true };
        core::iter::successors(self.filters.as_ref(), |f| f.previous.as_ref())
            .any(|f| Arc::ptr_eq(f, theirs))
    }

    /// Enters strict mode.
    ///
    /// # Errors
    /// EINVAL if filters are installed (a thread's mode never changes once set).
    pub fn set_strict(&mut self) -> SysResult<()> {
        if self.mode == Mode::Filter {
            return Err(Errno::EINVAL);
        }
        self.mode = Mode::Strict;
        Ok(())
    }

    /// Adds `program` in front of the installed filters.
    ///
    /// # Errors
    /// EINVAL in strict mode; ENOMEM past [`MAX_INSNS_PER_PATH`].
    pub fn add_filter(&mut self, program: bpf::Program, log: bool) -> SysResult<()> {
        if self.mode == Mode::Strict {
            return Err(Errno::EINVAL);
        }
        let installed: usize =
            core::iter::successors(self.filters.as_deref(), |f| f.previous.as_deref())
                .map(|f| f.program.len() + 4)
                .sum();
        if program.len() + installed > MAX_INSNS_PER_PATH {
            return Err(Errno::ENOMEM);
        }
        let previous = self.filters.take();
        self.filters = Some(Arc::new(Filter { program, log, previous }));
        self.mode = Mode::Filter;
        Ok(())
    }
}

/// One call as the filters see it (`struct seccomp_data`).
pub struct Call {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl Call {
    fn to_bytes(&self) -> [u8; bpf::DATA_LEN as usize] {
        let mut b = [0u8; bpf::DATA_LEN as usize];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_le_bytes());
        for (i, arg) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_le_bytes());
        }
        b
    }
}

/// What happens to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It runs (ALLOW, LOG).
    Allow,
    /// It fails with this errno without running (ERRNO; USER_NOTIF with no listener:
    /// ENOSYS).
    Fail(u32),
    /// The tracer decides (TRACE, with this data for PTRACE_GETEVENTMSG); without one that
    /// asked for PTRACE_O_TRACESECCOMP it fails with ENOSYS.
    Trace(u32),
    /// It does not run; SIGSYS is forced on the thread with this reason in si_errno.
    Trap(u32),
    /// The thread dies of SIGSYS (the process, if it is the last thread).
    KillThread,
    /// The process dies of SIGSYS.
    KillProcess,
    /// Strict mode refused it: the thread dies of SIGKILL.
    StrictKill,
}

/// The verdict on `call` for a thread in `state`.
pub fn check(state: &State, call: &Call) -> Verdict {
    match state.mode {
        Mode::Disabled => Verdict::Allow,
        Mode::Strict => strict(call),
        Mode::Filter => {
            let data = call.to_bytes();
            // The lowest action, read as a signed number, wins (KILL_PROCESS is negative).
            let rank = |ret: u32| (ret & RET_ACTION_FULL) as i32;
            let mut verdict = RET_ALLOW;
            let mut logged = false;
            let mut filter = state.filters.as_deref();
            while let Some(f) = filter {
                let ret = f.program.run(&data);
                if rank(ret) < rank(verdict) {
                    verdict = ret;
                    logged = f.log;
                }
                filter = f.previous.as_deref();
            }
            let data = verdict & RET_DATA;
            let outcome = match verdict & RET_ACTION_FULL {
                RET_ALLOW => Verdict::Allow,
                RET_LOG => {
                    log::info!("seccomp: syscall {} logged (arch {:#x})", call.nr, call.arch);
                    Verdict::Allow
                }
                RET_ERRNO => Verdict::Fail(data.min(MAX_ERRNO)),
                RET_TRAP => Verdict::Trap(data),
                RET_TRACE => Verdict::Trace(data),
                RET_USER_NOTIF => Verdict::Fail(Errno::ENOSYS as u32),
                RET_KILL_PROCESS => Verdict::KillProcess,
                // KILL_THREAD, and any action Linux does not know.
                _ => Verdict::KillThread,
            };
            if logged && outcome != Verdict::Allow {
                log::info!("seccomp: syscall {} from arch {:#x}: {outcome:?}", call.nr, call.arch);
            }
            outcome
        }
    }
}

/// The largest errno an ERRNO verdict carries (Linux's MAX_ERRNO).
const MAX_ERRNO: u32 = 4095;

/// Strict mode's four calls, per ABI.
fn strict(call: &Call) -> Verdict {
    let allowed: &[i32] = if call.arch == ARCH_I386 {
        &[3, 4, 1, 119, 173] // read, write, exit, sigreturn, rt_sigreturn
    } else {
        &[0, 1, 60, 15] // read, write, exit, rt_sigreturn
    };
    if allowed.contains(&call.nr) { Verdict::Allow } else { Verdict::StrictKill }
}

/// Whether SECCOMP_GET_ACTION_AVAIL reports `action` available. USER_NOTIF is not: this
/// kernel has no notification listener (SECCOMP_FILTER_FLAG_NEW_LISTENER is refused), so a
/// filter returning it gets ENOSYS, as Linux gives when no listener exists.
pub fn action_available(action: u32) -> bool {
    matches!(
        action,
        RET_KILL_PROCESS | RET_KILL_THREAD | RET_TRAP | RET_ERRNO | RET_TRACE | RET_LOG | RET_ALLOW
    )
}
