//! Process lifecycle syscalls: execve, exit, wait, pids, process groups and sessions,
//! pidfd_open, arch_prctl. fork and clone are `clone.rs`, signals `signal.rs`, IDs
//! `identity.rs`.

use alloc::sync::Arc;

use ostd::user::UserContext;

use super::SyscallCtx;
use super::fs::path_arg;
use crate::error::{Errno, SysResult};
use crate::fs::NodeKind;
use crate::fs::path;
use crate::process::signal;
use crate::process::{ExitStatus, JobChange, Process, exec, ptrace, registry};

/// execve(2).
pub fn sys_execve(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[0])?;
    let (argv, envp) = exec_arrays(ctx, a[1], a[2])?;
    let node = path::resolve(&ctx.process.start(), &path, true)?;
    exec_node(ctx, node, path, argv, envp)
}

/// Reads execve's argv and envp (before the program is looked up, as Linux does).
fn exec_arrays(
    ctx: &SyscallCtx,
    argv: u64,
    envp: u64,
) -> SysResult<(alloc::vec::Vec<alloc::string::String>, alloc::vec::Vec<alloc::string::String>)> {
    let mem = ctx.mem();
    Ok((mem.read_string_array(argv)?, mem.read_string_array(envp)?))
}

/// execveat(2): the program is `path` from `dirfd`, or with AT_EMPTY_PATH the file `dirfd`
/// itself (how glibc's fexecve runs an open file).
pub fn sys_execveat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::syscall::fs::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, node_at};
    let (dirfd, flags) = (a[0] as i32, a[4]);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(ctx, a[1])?;
    let (argv, envp) = exec_arrays(ctx, a[2], a[3])?;
    let node = node_at(ctx, dirfd, &path, flags, Errno::EACCES)?;
    if node.kind() == NodeKind::Symlink {
        return Err(Errno::ELOOP);
    }
    let name = if path.is_empty() { alloc::format!("/dev/fd/{dirfd}") } else { path };
    exec_node(ctx, node, name, argv, envp)
}

/// Replaces the process image with the program in `node`, named `path` (for /proc and
/// AT_EXECFN).
fn exec_node(
    ctx: &mut SyscallCtx,
    node: Arc<crate::fs::Node>,
    path: alloc::string::String,
    argv: alloc::vec::Vec<alloc::string::String>,
    envp: alloc::vec::Vec<alloc::string::String>,
) -> SysResult<u64> {
    let start = ctx.process.start();
    if node.kind() != NodeKind::File {
        return Err(Errno::EACCES);
    }
    crate::syscall::fs::check_access(ctx, &node, crate::process::creds::MAY_EXEC)?;
    crate::fs::mount::require_executable(&node)?;
    // Interpreters (`#!` and PT_INTERP) are opened as Linux's open_exec does.
    let open_exec = |p: &str| {
        let node = path::resolve(&start, p, true)?;
        if node.kind() != NodeKind::File {
            return Err(Errno::EACCES);
        }
        crate::syscall::fs::check_access(ctx, &node, crate::process::creds::MAY_EXEC)?;
        crate::fs::mount::require_executable(&node)?;
        Ok(node)
    };
    let program = node.clone();
    let loaded = match exec::load(&open_exec, node, &path, argv.clone(), envp) {
        Ok(loaded) => loaded,
        Err(exec::ExecError::Refused(e)) => return Err(e),
        Err(exec::ExecError::Fatal) => {
            // Past Linux's point of no return: the process dies of SIGSEGV.
            log::info!(
                "pid {}: execve of {path} failed past the point of no return",
                ctx.process.pid()
            );
            ctx.exit = Some((ExitStatus::Signaled(signal::SIGSEGV, false), true));
            return Ok(0);
        }
    };
    // The point of no return: the old image is gone from here on. Robust locks held in it
    // are released first, as Linux's exec_mm_release does, and a vfork parent goes on.
    let process = ctx.process;
    process.release_vfork_parent();
    let robust = ctx.thread.robust_list();
    if robust != 0 {
        let space = ctx.user.vm_space().clone();
        let seen = ctx.process.nr_for(ctx.thread.tid()) as u32;
        crate::ipc::robust_futex::release_all(&space, robust, seen);
        ctx.thread.set_robust_list(0);
    }
    crate::ipc::pi_futex::owner_exited(ctx.thread.tid() as u32);
    ctx.user.set_vm_space(loaded.vm.space().clone());
    process.set_vm(loaded.vm);
    // Close-on-exec files, caught signals, POSIX timers and the alternate signal stack (it
    // lay in the old image) do not survive execve.
    process.reset_for_exec();
    let no_altstack = crate::process::signal::ThreadSignals::default().altstack;
    ctx.thread.with_signals(|s| s.altstack = no_altstack);
    process.set_program(loaded.comm, argv, crate::fs::path::real_path(&start, &loaded.exe));
    crate::process::acct::program_replaced(process.pid());
    take_set_ids(process, &program);
    let mut regs = UserContext::default();
    regs.rip = loaded.entry;
    regs.rsp = loaded.stack_pointer;
    *ctx.user.context_mut() = regs;
    ptrace::stop::after_exec(process, ctx.thread);
    Ok(0)
}

/// Gives the process the identity a set-user-ID or set-group-ID program carries (unless its
/// mount is nosuid or the process has no_new_privs), and makes the saved and filesystem IDs
/// the effective ones, as Linux's execve does for every program.
///
/// A process that shares its filesystem context with another (clone's CLONE_FS) gets no
/// new identity unless it is privileged: the other could move the program's root or working
/// directory under it (Linux's LSM_UNSAFE_SHARE, cap_bprm_creds_from_file's downgrade).
fn take_set_ids(process: &Process, program: &crate::fs::Node) {
    let meta = program.metadata();
    let honoured = !crate::fs::mount::flags_of(program).nosuid && !process.attrs().no_new_privs;
    let unsafe_share = process.shares_fs();
    process.update_creds(|c| {
        let (old_ruid, old_rgid, privileged) = (c.ruid, c.rgid, c.euid == 0);
        if honoured && meta.perm & 0o4000 != 0 {
            c.euid = meta.uid;
        }
        // Set-group-ID without group execute marks mandatory locking, not a set-ID program.
        if honoured && meta.perm & 0o2010 == 0o2010 {
            c.egid = meta.gid;
        }
        let is_setid = c.euid != old_ruid || c.egid != old_rgid;
        if is_setid && unsafe_share && !privileged {
            c.euid = old_ruid;
            c.egid = old_rgid;
        }
        c.suid = c.euid;
        c.fsuid = c.euid;
        c.sgid = c.egid;
        c.fsgid = c.egid;
    });
}

/// exit(2): ends the calling thread (and the process, if it was the last).
pub fn sys_exit(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.exit = Some((ExitStatus::Exited(a[0] as u8), false));
    Ok(0)
}

/// exit_group(2): ends every thread of the process.
pub fn sys_exit_group(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.exit = Some((ExitStatus::Exited(a[0] as u8), true));
    Ok(0)
}

/// wait4(2).
pub fn sys_wait4(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const WNOHANG: u64 = 1;
    const WUNTRACED: u64 = 2;
    const WCONTINUED: u64 = 8;
    const VALID: u64 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
    let (pid, status_addr, options, rusage) = (a[0] as i32, a[1], u64::from(a[2] as u32), a[3]);
    if options & !VALID != 0 || pid == i32::MIN {
        return Err(Errno::EINVAL);
    }
    let me = ctx.process;
    // Numbers are the caller's PID namespace's; one it cannot see matches no child.
    let named = if !(-1..=0).contains(&pid) { me.global_for(pid.abs()) } else { None };
    let matches = |c: &Arc<Process>| match pid {
        p if p > 0 => Some(c.pid()) == named,
        -1 => true,
        0 => c.pgid() == me.pgid(),
        _ => Some(c.pgid()) == named,
    };
    let found = me.wait_for_children(|| {
        let children: alloc::vec::Vec<_> =
            waitable(me, options).into_iter().filter(|c| matches(c)).collect();
        if children.is_empty() {
            return Some(Err(Errno::ECHILD));
        }
        if let Some(z) = children.iter().find(|c| c.is_zombie() && ptrace::control::may_reap(me, c))
        {
            return Some(Ok(Some((z.clone(), None))));
        }
        for c in &children {
            if let Some(code) = ptrace::control::take_stop_report(me, c, false) {
                return Some(Ok(Some((c.clone(), Some((code << 8) | 0x7f)))));
            }
            match c.take_job_change(options & WUNTRACED != 0, options & WCONTINUED != 0, false) {
                Some(JobChange::Stopped(sig)) => {
                    return Some(Ok(Some((c.clone(), Some((sig << 8) | 0x7f)))));
                }
                Some(JobChange::Continued) => return Some(Ok(Some((c.clone(), Some(0xffff))))),
                None => {}
            }
        }
        if options & WNOHANG != 0 {
            return Some(Ok(None));
        }
        if me.has_pending_signal() {
            return Some(Err(Errno::EINTR));
        }
        None
    })?;
    let Some((child, job_status)) = found else { return Ok(0) };
    let status = job_status.unwrap_or_else(|| child.exit_status().map_or(0, |s| s.wait_status()));
    // As on Linux, the child is reaped even if the status or usage cannot be stored: the
    // call then fails with EFAULT and the child is gone.
    let mut stored = Ok(());
    if status_addr != 0 {
        stored = ctx.mem().write_u32(status_addr, status);
    }
    if rusage != 0 && stored.is_ok() {
        let usage = child.cpu_time() + child.children_cpu_time();
        stored = ctx.mem().write(rusage, &crate::syscall::resources::rusage_bytes(usage));
    }
    // Numbered before the reaping gives the number back.
    let seen = me.nr_for(child.pid());
    if job_status.is_none() {
        reap(me, &child);
    }
    stored.map(|()| seen as u64)
}

/// The processes `me` may wait for: its children and its tracees.
fn waitable(me: &Arc<Process>, options: u64) -> alloc::vec::Vec<Arc<Process>> {
    const WCLONE: u64 = 0x8000_0000;
    const WALL: u64 = 0x4000_0000;
    let tracees = ptrace::control::tracees(me);
    // Linux's eligible_child: every child with __WALL, a tracee always; else a child whose
    // exit signal is SIGCHLD, or with __WCLONE one whose signal is another ("clone child").
    let eligible = |c: &Arc<Process>| {
        options & WALL != 0
            || tracees.iter().any(|t| t.pid() == c.pid())
            || (c.exit_signal() != signal::SIGCHLD) == (options & WCLONE != 0)
    };
    let mut all: alloc::vec::Vec<_> = me.children().into_iter().filter(|c| eligible(c)).collect();
    for tracee in tracees {
        if !all.iter().any(|c| c.pid() == tracee.pid()) {
            all.push(tracee);
        }
    }
    all
}

/// Collects `child`'s exit: a child is reaped; a tracee that is not a child goes back to
/// its parent, who hears of its end now.
fn reap(me: &Arc<Process>, child: &Arc<Process>) {
    ptrace::control::exit_collected(me, child);
    if child.parent().is_some_and(|p| p.pid() == me.pid()) {
        me.remove_child(child.pid());
        me.absorb_child_cpu(child);
        registry::remove(child.pid());
    }
}

/// pidfd_open(2): a descriptor for process `pid` (close-on-exec, as Linux makes it).
pub fn sys_pidfd_open(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const PIDFD_NONBLOCK: u64 = 0o4000;
    let (pid, flags) = (a[0] as i32, a[1]);
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let process = ctx.process.global_for(pid).and_then(registry::get).ok_or(Errno::ESRCH)?;
    let file = crate::process::pidfd::PidFd::new(process, flags & PIDFD_NONBLOCK != 0);
    ctx.process.install_file(file, true).map(|fd| fd as u64)
}

/// getpid(2).
pub fn sys_getpid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.process.pid_seen() as u64)
}

/// getppid(2).
pub fn sys_getppid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    // 0 for a parent outside the caller's PID namespace (its init's).
    Ok(ctx.process.nr_for(ctx.process.ppid()) as u64)
}

/// set_tid_address(2).
pub fn sys_set_tid_address(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.thread.set_clear_child_tid(a[0]);
    Ok(ctx.process.nr_for(ctx.thread.tid()) as u64)
}

/// set_robust_list(2): recorded nowhere until threads exist.
pub fn sys_set_robust_list(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[1] != crate::ipc::robust_futex::HEAD_LEN {
        return Err(Errno::EINVAL);
    }
    ctx.thread.set_robust_list(a[0]);
    Ok(0)
}

/// get_robust_list(2): a thread's list head, for itself (pid 0) or a thread of a process
/// it could signal (Linux asks for ptrace read access: same real user, or root).
pub fn sys_get_robust_list(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (tid, head_out, len_out) = (a[0] as i32, a[1], a[2]);
    let head = if tid == 0 {
        ctx.thread.robust_list()
    } else {
        let global = ctx.process.global_for(tid).ok_or(Errno::ESRCH)?;
        let (process, thread) = registry::find_thread(global).ok_or(Errno::ESRCH)?;
        let (me, them) = (ctx.process.creds(), process.creds());
        if me.euid != 0 && (me.ruid != them.ruid || me.ruid != them.euid || me.ruid != them.suid) {
            return Err(Errno::EPERM);
        }
        thread.robust_list()
    };
    let mem = ctx.mem();
    mem.write_u64(len_out, crate::ipc::robust_futex::HEAD_LEN)?;
    mem.write_u64(head_out, head)?;
    Ok(0)
}

/// gettid(2).
pub fn sys_gettid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.process.nr_for(ctx.thread.tid()) as u64)
}

/// setpgid(2).
pub fn sys_setpgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (pid, pgid) = (a[0] as i32, a[1] as i32);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = ctx.process;
    let pid = if pid == 0 { me.pid() } else { me.global_for(pid).ok_or(Errno::ESRCH)? };
    let target = if pid == me.pid() {
        me.clone()
    } else {
        me.children().into_iter().find(|c| c.pid() == pid).ok_or(Errno::ESRCH)?
    };
    if target.sid() == target.pid() {
        return Err(Errno::EPERM);
    }
    let pgid = if pgid == 0 { target.pid() } else { me.global_for(pgid).ok_or(Errno::EPERM)? };
    target.set_pgid(pgid);
    Ok(0)
}

/// getpgid(2).
pub fn sys_getpgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = by_number(ctx, a[0] as i32)?;
    Ok(ctx.process.nr_for(p.pgid()) as u64)
}

/// getpgrp(2).
pub fn sys_getpgrp(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.process.nr_for(ctx.process.pgid()) as u64)
}

/// setsid(2).
pub fn sys_setsid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    let me = ctx.process;
    // A process group leader cannot start a session (its group would straddle two). Linux's
    // init starts in group 0 and may; ours starts as leader of group 1, hence the exception.
    if registry::all().iter().any(|p| p.pgid() == me.pid() && p.pid() != me.pid())
        || (me.pgid() == me.pid() && me.pid() != 1)
    {
        return Err(Errno::EPERM);
    }
    me.set_sid();
    Ok(me.pid_seen() as u64)
}

/// getsid(2).
pub fn sys_getsid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let p = by_number(ctx, a[0] as i32)?;
    Ok(ctx.process.nr_for(p.sid()) as u64)
}

/// The process the caller calls `pid` (itself for 0): ESRCH if it sees none.
fn by_number(ctx: &SyscallCtx, pid: i32) -> SysResult<Arc<Process>> {
    if pid == 0 {
        return Ok(ctx.process.clone());
    }
    ctx.process.global_for(pid).and_then(registry::get).ok_or(Errno::ESRCH)
}

/// arch_prctl(2).
pub fn sys_arch_prctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    match a[0] {
        ARCH_SET_FS => {
            if a[1] >= ostd::mm::USER_END {
                return Err(Errno::EPERM);
            }
            ctx.user.context_mut().fs_base = a[1];
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = ctx.user.context().fs_base;
            ctx.mem().write_u64(a[1], fs)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// waitid(2).
pub fn sys_waitid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    const WNOHANG: u64 = 1;
    const WSTOPPED: u64 = 2;
    const WEXITED: u64 = 4;
    const WCONTINUED: u64 = 8;
    const WNOWAIT: u64 = 0x0100_0000;
    let (idtype, id, infop, options) = (a[0], a[1] as i32, a[2], u64::from(a[3] as u32));
    if options & !(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | 0xe000_0000) != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    const P_PIDFD: u64 = 3;
    let me = ctx.process;
    // P_PIDFD names the child by a pidfd: it waits like P_PID for that process. Another kind
    // of file is EBADF, as in Linux's pidfd_get_pid.
    let (idtype, id) = if idtype == P_PIDFD {
        let file = me.file(id)?;
        (P_PID, Some(crate::process::pidfd::process_of(&*file).ok_or(Errno::EBADF)?.pid()))
    } else if id > 0 {
        // Numbers are the caller's PID namespace's; one it cannot see matches no child.
        (idtype, me.global_for(id))
    } else {
        (idtype, Some(id))
    };
    let matches = |c: &Arc<Process>| match idtype {
        P_ALL => true,
        P_PID => Some(c.pid()) == id,
        P_PGID => Some(c.pgid()) == if id == Some(0) { Some(me.pgid()) } else { id },
        _ => false,
    };
    if idtype > P_PGID {
        return Err(Errno::EINVAL);
    }
    // (child, si_code, si_status)
    let found = me.wait_for_children(|| {
        let children: alloc::vec::Vec<_> =
            waitable(me, options).into_iter().filter(|c| matches(c)).collect();
        if children.is_empty() {
            return Some(Err(Errno::ECHILD));
        }
        if options & WEXITED != 0
            && let Some(z) =
                children.iter().find(|c| c.is_zombie() && ptrace::control::may_reap(me, c))
        {
            let (code, status) = match z.exit_status() {
                Some(ExitStatus::Exited(c)) => (1, i32::from(c)),
                Some(ExitStatus::Signaled(s, false)) => (2, s as i32),
                Some(ExitStatus::Signaled(s, true)) => (3, s as i32),
                None => (1, 0),
            };
            return Some(Ok(Some((z.clone(), code, status, true))));
        }
        let (stops, continues) = (options & WSTOPPED != 0, options & WCONTINUED != 0);
        for c in &children {
            if let Some(code) = ptrace::control::take_stop_report(me, c, options & WNOWAIT != 0) {
                return Some(Ok(Some((c.clone(), 4i32, code as i32, false))));
            }
            match c.take_job_change(stops, continues, options & WNOWAIT != 0) {
                Some(JobChange::Stopped(sig)) => {
                    return Some(Ok(Some((c.clone(), 5i32, sig as i32, false))));
                }
                Some(JobChange::Continued) => {
                    return Some(Ok(Some((c.clone(), 6i32, signal::SIGCONT as i32, false))));
                }
                None => {}
            }
        }
        if options & WNOHANG != 0 {
            return Some(Ok(None));
        }
        if me.has_pending_signal() {
            return Some(Err(Errno::EINTR));
        }
        None
    })?;
    let mut info = [0u8; 128];
    if let Some((child, code, status, exited)) = &found {
        info[0..4].copy_from_slice(&signal::SIGCHLD.to_le_bytes());
        info[8..12].copy_from_slice(&code.to_le_bytes());
        info[16..20].copy_from_slice(&me.nr_for(child.pid()).to_le_bytes());
        info[24..28].copy_from_slice(&status.to_le_bytes());
        if *exited && options & WNOWAIT == 0 {
            reap(me, child);
        }
    }
    if infop != 0 {
        ctx.mem().write(infop, &info)?;
    }
    Ok(0)
}
