//! The system-call layer: one table, one dispatcher.
//!
//! [`table::TABLE`] lists every implemented syscall (number, name, handler) in one place;
//! boot prints how many there are. An unknown number returns `ENOSYS` and is logged once
//! with its Linux name.

pub mod clone;
pub mod decode;
pub mod dir;
pub mod epoll;
pub mod fd;
pub mod file_io;
pub mod file_meta;
pub mod fs;
pub mod futex;
pub mod handle;
pub mod i386;
pub mod identity;
pub mod inotify;
pub mod ipc;
pub mod kcmp;
pub mod madvise;
pub mod mlock;
pub mod mm;
pub mod mount;
pub mod mqueue;
pub mod names;
pub mod namespaces;
pub mod poll;
pub mod prctl;
pub mod process;
pub mod process_vm;
pub mod ptrace;
pub mod record_lock;
pub mod resources;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod signalfd;
pub mod sigqueue;
pub mod socket;
pub mod splice;
pub mod system;
pub mod table;
pub mod time;
pub mod timer;
pub mod utimes;
pub mod xattr;

use alloc::collections::BTreeSet;
use alloc::sync::Arc;

use ostd::sync::SpinLock;
use ostd::user::UserMode;

use crate::error::{Errno, SysResult};
use crate::process::run::AfterSyscall;
use crate::process::{ExitStatus, Process};
use crate::user_mem::UserMem;

/// What a handler gets.
pub struct SyscallCtx<'a> {
    /// The calling process.
    pub process: &'a Arc<Process>,
    /// The calling thread.
    pub thread: &'a Arc<crate::process::Thread>,
    /// Its user-mode state (registers, address space).
    pub user: &'a mut UserMode,
    /// Set by exit (false) or exit_group (true).
    pub exit: Option<(ExitStatus, bool)>,
}

impl SyscallCtx<'_> {
    /// Returns the caller's memory.
    pub fn mem(&self) -> UserMem {
        UserMem::new(self.user.vm_space().clone())
    }
}

/// A syscall implementation.
pub type Handler = fn(&mut SyscallCtx, [u64; 6]) -> SysResult<u64>;

static REPORTED_UNKNOWN: SpinLock<BTreeSet<u64>> = SpinLock::new(BTreeSet::new());

/// Runs the syscall in the user context's registers and stores its result in rax, unless
/// the thread's seccomp filters stop it.
pub fn dispatch(
    process: &Arc<Process>,
    thread: &Arc<crate::process::Thread>,
    user: &mut UserMode,
) -> AfterSyscall {
    if thread.seccomp_on() {
        let call = crate::seccomp::Call {
            nr: user.context().syscall_number() as i32,
            arch: crate::seccomp::ARCH_X86_64,
            instruction_pointer: user.context().rip,
            args: user.context().syscall_args(),
        };
        if let Some(after) = seccomp::judge(process, thread, user, &call) {
            return after;
        }
    }
    execute(process, thread, user)
}

/// Runs the syscall in the user context's registers (seccomp has allowed it).
pub fn execute(
    process: &Arc<Process>,
    thread: &Arc<crate::process::Thread>,
    user: &mut UserMode,
) -> AfterSyscall {
    let nr = user.context().syscall_number();
    let args = user.context().syscall_args();
    let mut ctx = SyscallCtx { process, thread, user, exit: None };
    let result = match table::lookup(nr) {
        Some(entry) => (entry.handler)(&mut ctx, args),
        None => {
            if REPORTED_UNKNOWN.lock().insert(nr) {
                log::info!(
                    "unimplemented syscall {} ({nr}) from pid {}: ENOSYS",
                    names::name(nr).unwrap_or("?"),
                    process.pid()
                );
            }
            Err(Errno::ENOSYS)
        }
    };
    if let Some(comm) = strace_target()
        && process.comm() == comm
    {
        log::info!(
            "[{}] {}({:#x}, {:#x}, {:#x}, {:#x}) = {:?}",
            process.pid(),
            names::name(nr).unwrap_or("?"),
            args[0],
            args[1],
            args[2],
            args[3],
            result
        );
    }
    match ctx.exit {
        Some((status, true)) => return AfterSyscall::ExitGroup(status),
        Some((status, false)) => return AfterSyscall::ExitThread(status),
        None => {}
    }
    let rax = match result {
        Ok(v) => v,
        Err(e) => (-(e as i64)) as u64,
    };
    ctx.user.context_mut().set_syscall_return(rax);
    AfterSyscall::Return
}

/// The program named by `strace=` on the command line, parsed once (not per syscall).
fn strace_target() -> Option<&'static str> {
    static TARGET: spin::Once<Option<&'static str>> = spin::Once::new();
    *TARGET.call_once(|| ostd::boot::boot_info().cmdline.value("strace"))
}
