//! Making processes and threads: fork, vfork, clone and clone3, checked in the order of
//! Linux's kernel_clone and copy_process.
//!
//! What is modelled: threads (CLONE_THREAD with CLONE_VM|CLONE_SIGHAND|CLONE_FS|
//! CLONE_FILES), processes with a copy-on-write copy of the caller (fork), vfork children
//! (CLONE_VM|CLONE_VFORK: the caller sleeps until the child executes a program or ends; a
//! traced caller's child gets a copy-on-write copy and the caller does not wait), processes
//! that share the caller's memory (CLONE_VM), descriptor table (CLONE_FILES), filesystem
//! context (CLONE_FS) or signal dispositions (CLONE_SIGHAND) without being its threads
//! (`crate::process::tables`), the exit signal, CLONE_PARENT, CLONE_PIDFD,
//! CLONE_CLEAR_SIGHAND, clone3's set_tid (root only, the PID must be free), and the TID and
//! TLS options.
//!
//! New UTS, IPC and mount namespaces for a new process (`crate::process::namespaces`);
//! the other namespace flags are EPERM without privilege and EINVAL with it, as from a Linux
//! built without that namespace.
//!
//! What is not: threads with namespaces, descriptor tables or filesystem contexts of their
//! own.

use ostd::user::UserContext;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::pid_ns::{self, PidNamespace};
use crate::process::{Pid, namespaces, ptrace, registry, run, signal};

const CSIGNAL: u64 = 0xff;
const CLONE_NEWTIME: u64 = 0x80;
const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_NEWCGROUP: u64 = 0x2000000;
const CLONE_NEWUTS: u64 = 0x4000000;
const CLONE_NEWIPC: u64 = 0x8000000;
const CLONE_NEWUSER: u64 = 0x10000000;
const CLONE_NEWPID: u64 = 0x20000000;
const CLONE_NEWNET: u64 = 0x40000000;
/// clone3 only.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

const NAMESPACES: u64 = CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWTIME;
/// Every flag clone(2) has (its low byte is the exit signal). CLONE_PTRACE, CLONE_UNTRACED,
/// CLONE_SYSVSEM and CLONE_IO are accepted and change nothing here.
const LEGACY_FLAGS: u64 = 0xffff_ffff;

/// struct clone_args, and clone(2)'s arguments in its shape.
#[derive(Clone, Copy, Debug, Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    /// The new stack pointer (for clone3, the top: stack + stack_size).
    stack: u64,
    tls: u64,
    /// clone3's set_tid: the PID asked for, if any.
    set_tid: Option<i32>,
}

/// fork(2).
pub fn sys_fork(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let args = CloneArgs { exit_signal: u64::from(signal::SIGCHLD), ..Default::default() };
    clone(ctx, args)
}

/// vfork(2): CLONE_VM|CLONE_VFORK. A tracer that asked for PTRACE_O_TRACEVFORK hears of it
/// as a vfork.
pub fn sys_vfork(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let args = CloneArgs {
        flags: CLONE_VM | CLONE_VFORK,
        exit_signal: u64::from(signal::SIGCHLD),
        ..Default::default()
    };
    clone(ctx, args)
}

/// clone(2): x86-64's argument order is flags, stack, parent_tid, child_tid, tls; the low
/// byte of the flags is the exit signal, and CLONE_PIDFD's descriptor goes to parent_tid.
pub fn sys_clone(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] & LEGACY_FLAGS & !CSIGNAL;
    let args = CloneArgs {
        flags,
        pidfd: a[2],
        child_tid: a[3],
        parent_tid: a[2],
        exit_signal: a[0] & CSIGNAL,
        stack: a[1],
        tls: a[4],
        set_tid: None,
    };
    clone(ctx, args)
}

/// clone3(2): struct clone_args of at least 64 bytes (EINVAL), at most a page (E2BIG), a
/// longer one's unknown tail zero (E2BIG), checked as Linux's copy_clone_args_from_user and
/// clone3_args_valid.
pub fn sys_clone3(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const SIZE_VER0: u64 = 64;
    const SIZE_VER2: u64 = 88;
    const KNOWN: u64 = 88;
    let (addr, size) = (a[0], a[1]);
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    if size < SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let mut raw = [0u8; KNOWN as usize];
    let known = size.min(KNOWN) as usize;
    mem.read(addr, &mut raw[..known])?;
    if size > KNOWN {
        let mut rest = alloc::vec![0u8; (size - KNOWN) as usize];
        mem.read(addr + KNOWN, &mut rest)?;
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let field = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let (flags, pidfd, child_tid, parent_tid, exit_signal) =
        (field(0), field(1), field(2), field(3), field(4));
    let (stack, stack_size, tls, set_tid, set_tid_size, cgroup) =
        (field(5), field(6), field(7), field(8), field(9), field(10));
    // copy_clone_args_from_user.
    if set_tid_size > 32 || (set_tid == 0) != (set_tid_size == 0) {
        return Err(Errno::EINVAL);
    }
    if exit_signal & !CSIGNAL != 0 || exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_INTO_CGROUP != 0 && (cgroup > i32::MAX as u64 || size < SIZE_VER2) {
        return Err(Errno::EINVAL);
    }
    let set_tid = if set_tid_size > 0 {
        // Only the first level matters here: there is one PID namespace.
        let mut pids = alloc::vec![0u8; set_tid_size as usize * 4];
        mem.read(set_tid, &mut pids)?;
        Some(i32::from_le_bytes([pids[0], pids[1], pids[2], pids[3]]))
    } else {
        None
    };
    // clone3_args_valid.
    if flags & !(LEGACY_FLAGS | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || flags & (CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)) != 0
        || flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || (flags & (CLONE_THREAD | CLONE_PARENT) != 0 && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    // The stack is given as its lowest address and size; the child starts at its top.
    let stack = match (stack, stack_size) {
        (0, 0) => 0,
        (0, _) | (_, 0) => return Err(Errno::EINVAL),
        (base, size) => {
            crate::user_mem::range_ok(base, size).map_err(|_| Errno::EINVAL)?;
            base + size
        }
    };
    if set_tid_size > 1 {
        // More levels than there are PID namespaces (Linux: ns->level + 1).
        return Err(Errno::EINVAL);
    }
    let args = CloneArgs { flags, pidfd, child_tid, parent_tid, exit_signal, stack, tls, set_tid };
    clone(ctx, args)
}

/// Linux's kernel_clone and copy_process: the checks in their order, then a thread or a
/// process.
fn clone(ctx: &mut SyscallCtx, args: CloneArgs) -> SysResult<u64> {
    let flags = args.flags;
    if flags & CLONE_PIDFD != 0 && flags & CLONE_PARENT_SETTID != 0 && args.pidfd == args.parent_tid
    {
        return Err(Errno::EINVAL);
    }
    if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS
        || flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS
        || (flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0)
        || (flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0)
    {
        return Err(Errno::EINVAL);
    }
    // Siblings of init, or threads of it, would escape its protection (SIGNAL_UNKILLABLE).
    if flags & (CLONE_PARENT | CLONE_THREAD) != 0 && ctx.process.pid() == 1 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_PIDFD != 0 && flags & (CLONE_DETACHED | CLONE_THREAD) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_INTO_CGROUP != 0 {
        // No descriptor names a cgroup here (there is no cgroup filesystem).
        return Err(Errno::EBADF);
    }
    if flags & NAMESPACES != 0 {
        // copy_namespaces: privilege, then what is built (a new thread keeps its
        // process's namespaces here), then the SysV undo list's conflict.
        if ctx.process.creds().euid != 0 {
            return Err(Errno::EPERM);
        }
        if flags & NAMESPACES & !namespaces::SUPPORTED != 0 || flags & CLONE_THREAD != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & (CLONE_NEWIPC | CLONE_SYSVSEM) == CLONE_NEWIPC | CLONE_SYSVSEM {
            return Err(Errno::EINVAL);
        }
    }
    if let Some(tid) = args.set_tid {
        let pid_max = crate::process::registry::pid_max();
        if tid < 1 || tid >= pid_max {
            return Err(Errno::EINVAL);
        }
        if ctx.process.creds().euid != 0 {
            return Err(Errno::EPERM);
        }
    }
    if flags & CLONE_THREAD != 0 {
        return spawn_thread(ctx, &args);
    }
    spawn_process(ctx, &args)
}

/// The register state a new task starts with: the caller's, returning 0, on `stack` and
/// with `tls` if asked.
fn child_registers(ctx: &SyscallCtx, args: &CloneArgs) -> UserContext {
    let mut regs: UserContext = ctx.user.context().clone();
    regs.rax = 0;
    if args.stack != 0 {
        regs.rsp = args.stack;
    }
    if args.flags & CLONE_SETTLS != 0 {
        regs.fs_base = args.tls;
    }
    // A tracer's hardware breakpoints belong to the thread it set them in (Linux's
    // copy_thread clears ptrace_bps).
    regs.debug = ostd::user::DebugRegisters::default();
    regs.debug_status = 0;
    regs
}

/// Starts a new thread in the caller's process (clone with CLONE_THREAD).
fn spawn_thread(ctx: &mut SyscallCtx, args: &CloneArgs) -> SysResult<u64> {
    let flags = args.flags;
    const REQUIRED: u64 = CLONE_VM | CLONE_SIGHAND;
    if flags & REQUIRED != REQUIRED {
        return Err(Errno::EINVAL);
    }
    if flags & (CLONE_FS | CLONE_FILES) != CLONE_FS | CLONE_FILES {
        // Threads with private fd tables or cwd are not modelled.
        return Err(Errno::EINVAL);
    }
    if !crate::process::limits::may_create_task(ctx.process) {
        return Err(Errno::EAGAIN);
    }
    let tid = registry::alloc_tid().ok_or(Errno::EAGAIN)?;
    let ns = ctx.process.pid_ns();
    let numbers = match Numbers::attach(tid, &ns) {
        Ok(numbers) => numbers,
        Err(e) => {
            registry::free_tid(tid);
            return Err(e);
        }
    };
    let tid_seen = pid_ns::nr_in(tid, &ns).unwrap_or(tid);
    let thread = crate::process::Thread::new(tid);
    // A new thread starts with its creator's mask, no alternate stack, and its creator's
    // seccomp filters.
    thread.set_blocked(ctx.thread.blocked());
    thread.set_seccomp(ctx.thread.seccomp());
    let mem = ctx.mem();
    if flags & CLONE_PARENT_SETTID != 0 {
        mem.write_u32(args.parent_tid, tid_seen as u32)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        mem.write_u32(args.child_tid, tid_seen as u32)?;
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        thread.set_clear_child_tid(args.child_tid);
    }
    let regs = child_registers(ctx, args);
    ctx.process.add_thread();
    registry::add_starting_thread(ctx.process, &thread);
    numbers.keep();
    run::spawn(ctx.process.clone(), thread, regs);
    Ok(tid_seen as u64)
}

/// Starts a new process: a copy-on-write copy of the caller, or one that shares its memory
/// and tables as the flags ask.
fn spawn_process(ctx: &mut SyscallCtx, args: &CloneArgs) -> SysResult<u64> {
    let flags = args.flags;
    let caller = ctx.process;
    // CLONE_PARENT: a sibling of the caller, with the caller's own exit signal.
    let (parent, exit_signal) = if flags & CLONE_PARENT != 0 {
        (caller.parent().unwrap_or_else(|| caller.clone()), caller.exit_signal())
    } else {
        (caller.clone(), args.exit_signal as u32)
    };
    if !crate::process::limits::may_create_task(caller) {
        return Err(Errno::EAGAIN);
    }
    let pid = match args.set_tid {
        Some(tid) => registry::claim_pid(tid)?,
        None => registry::alloc_pid().ok_or(Errno::EAGAIN)?,
    };
    // The child's namespaces, and its numbers in its PID namespace and those above.
    let namespaces = caller.namespaces().unshared(flags & NAMESPACES)?;
    let home = namespaces.pid_for_children.clone();
    let numbers = Numbers::attach(pid, &home)?;
    // CLONE_VM shares the caller's memory, vfork's too (the caller sleeps until the child
    // has executed its program or ended). The vfork child of a traced caller gets a
    // copy-on-write copy instead: that caller does not wait (below), and two processes must
    // not run on one stack.
    let traced = ptrace::stop::is_traced(caller);
    let shares_vm = flags & CLONE_VM != 0 && (flags & CLONE_VFORK == 0 || !traced);
    let vm = if shares_vm { None } else { Some(caller.vm().fork()?) };
    let share = crate::process::Sharing {
        files: flags & CLONE_FILES != 0,
        fs: flags & CLONE_FS != 0,
        sighand: flags & CLONE_SIGHAND != 0,
    };
    let child = caller.fork_child(pid, vm, share);
    if parent.pid() != caller.pid() {
        child.set_parent(&parent);
    }
    child.set_exit_signal(exit_signal);
    child.set_namespaces(namespaces.for_child(home.clone()));
    // What the caller and the child call the child.
    let pid_seen = pid_ns::nr_in(pid, &caller.pid_ns()).unwrap_or(0);
    let pid_own = pid_ns::nr_in(pid, &home).unwrap_or(pid);
    if flags & CLONE_CLEAR_SIGHAND != 0 {
        child.reset_caught_signals();
    }
    let child_thread = crate::process::Thread::forked(pid, ctx.thread);
    if flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
        // Its stack would be the caller's alternate signal stack too, in the memory they
        // share (Linux's copy_process resets it for CLONE_VM without CLONE_VFORK).
        let no_altstack = signal::ThreadSignals::default().altstack;
        child_thread.with_signals(|s| s.altstack = no_altstack);
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child_thread.set_clear_child_tid(args.child_tid);
    }
    // The pidfd first: a failure to make it leaves nothing behind.
    let pidfd = if flags & CLONE_PIDFD != 0 {
        let file = crate::process::pidfd::PidFd::new(child.clone(), false);
        let fd = caller.install_file(file, true)?;
        if let Err(e) = ctx.mem().write_u32(args.pidfd, fd as u32) {
            let _ = caller.remove_file(fd);
            return Err(e);
        }
        Some(fd)
    } else {
        None
    };
    if flags & CLONE_PARENT_SETTID != 0 {
        ctx.mem().write_u32(args.parent_tid, pid_seen as u32)?;
    }
    let regs = child_registers(ctx, args);
    if flags & CLONE_CHILD_SETTID != 0 {
        // The child's memory may be a copy-on-write twin: write its TID there through its own
        // address space before it runs.
        // Not preemptible meanwhile: switching back in restores the task's own space (the
        // parent's), and the write would then fail (EFAULT from fork, seen with bash).
        let mem = crate::user_mem::UserMem::new(child.vm().space().clone());
        let space = child.vm().space().clone();
        let result = {
            let _stay = ostd::task::preempt_disabled();
            space.activate();
            let result = mem.write_u32(args.child_tid, pid_own as u32);
            ctx.user.vm_space().activate();
            result
        };
        if let Err(e) = result {
            if let Some(fd) = pidfd {
                let _ = caller.remove_file(fd);
            }
            return Err(e);
        }
    }
    let vfork = (flags & CLONE_VFORK != 0).then(|| child.start_vfork());
    parent.add_child(child.clone());
    registry::insert(child.clone());
    numbers.keep();
    let event = if flags & CLONE_VFORK != 0 {
        ptrace::Event::Vfork
    } else if exit_signal != signal::SIGCHLD {
        ptrace::Event::Clone
    } else {
        ptrace::Event::Fork
    };
    ptrace::control::on_fork(caller, &child, event);
    run::spawn(child, child_thread, regs);
    // A traced caller reports its vfork event first, at its return to user mode, and does
    // not wait after it (no PTRACE_EVENT_VFORK_DONE here): a tracer waiting for that event
    // would otherwise wait for a child it has not let run.
    if let Some(done) = vfork.filter(|_| !traced) {
        done.wait(caller);
    }
    Ok(pid_seen as u64)
}

/// A new task's numbers in its PID namespaces, given back unless the task comes to exist
/// ([`Numbers::keep`]): a clone that fails half-way leaves no number taken.
struct Numbers(Option<Pid>);

impl Numbers {
    fn attach(global: Pid, home: &alloc::sync::Arc<PidNamespace>) -> SysResult<Self> {
        pid_ns::attach(global, home)?;
        Ok(Self(Some(global)))
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Numbers {
    fn drop(&mut self) {
        if let Some(global) = self.0 {
            pid_ns::detach(global);
        }
    }
}
