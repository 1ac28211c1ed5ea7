//! unshare(2), setns(2) and the nsfs ioctls (ioctl_ns(2)), checked in Linux 6.1's order
//! (kernel/fork.c ksys_unshare, kernel/nsproxy.c setns, fs/nsfs.c ns_ioctl).
//!
//! Namespaces belong to the process here, not to each thread as on Linux: a thread that
//! unshares moves its whole process. Which namespaces exist is
//! `crate::process::namespaces`'s business.

use alloc::sync::Arc;

use super::SyscallCtx;
use super::fs::{fd_arg, file};
use crate::error::{Errno, SysResult};
use crate::fs::FileLike;
use crate::fs::nsfs::{self, NsFile, NsType};
use crate::process::namespaces::{self, Namespaces};
use crate::process::pid_ns::PidNamespace;

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;

/// What unshare(2) takes besides the namespace flags.
const UNSHARE_OTHER: u64 =
    CLONE_THREAD | CLONE_FS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM;

/// The nsfs ioctls.
const NS_GET_USERNS: u32 = 0xb701;
const NS_GET_PARENT: u32 = 0xb702;
const NS_GET_NSTYPE: u32 = 0xb703;
const NS_GET_OWNER_UID: u32 = 0xb704;

fn privileged(ctx: &SyscallCtx) -> bool {
    ctx.process.creds().euid == 0
}

/// unshare(2).
pub fn sys_unshare(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mut flags = a[0];
    // ksys_unshare's implications, then check_unshare_flags.
    if flags & NsType::User.clone_flag() != 0 {
        flags |= CLONE_THREAD | CLONE_FS;
    }
    if flags & CLONE_VM != 0 {
        flags |= CLONE_SIGHAND;
    }
    if flags & CLONE_SIGHAND != 0 {
        flags |= CLONE_THREAD;
    }
    if flags & NsType::Mnt.clone_flag() != 0 {
        flags |= CLONE_FS;
    }
    if flags & !(UNSHARE_OTHER | namespaces::ALL_FLAGS) != 0 {
        return Err(Errno::EINVAL);
    }
    let single = ctx.process.thread_count() == 1;
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) != 0 && !single {
        return Err(Errno::EINVAL);
    }
    // Dispositions or memory shared with another process cannot be unshared (Linux's
    // check_unshare_flags: sighand->count, current_is_single_threaded).
    if flags & (CLONE_SIGHAND | CLONE_VM) != 0 && ctx.process.shares_sighand() {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_VM != 0 && ctx.process.shares_vm() {
        return Err(Errno::EINVAL);
    }
    // A thread's own descriptor table or filesystem context is not modelled: its process's
    // are shared by all its threads.
    if flags & (CLONE_FS | CLONE_FILES) != 0 && !single {
        return Err(Errno::EINVAL);
    }
    // A process that shares its descriptor table or filesystem context with others (clone's
    // CLONE_FILES, CLONE_FS) takes copies of its own, once nothing else can fail (Linux's
    // unshare_fd and unshare_fs, installed at the end of ksys_unshare).
    let unshare_tables =
        || ctx.process.unshare_tables(flags & CLONE_FILES != 0, flags & CLONE_FS != 0);
    let wanted = flags & namespaces::ALL_FLAGS;
    if wanted == 0 {
        if flags & CLONE_SYSVSEM != 0 {
            crate::ipc::sem::exit_process(ctx.process.pid());
        }
        unshare_tables();
        return Ok(0);
    }
    if wanted & NsType::User.clone_flag() != 0 {
        // Not built: the user namespace is the only one that needs no privilege.
        return Err(Errno::EINVAL);
    }
    if !privileged(ctx) {
        return Err(Errno::EPERM);
    }
    if wanted & !namespaces::SUPPORTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (CLONE_SYSVSEM | NsType::Ipc.clone_flag()) != 0 {
        // The undo adjustments belong to the old namespace's sets (Linux's exit_sem).
        crate::ipc::sem::exit_process(ctx.process.pid());
    }
    let new = ctx.process.namespaces().unshared(wanted)?;
    unshare_tables();
    ctx.process.set_namespaces(new);
    Ok(0)
}

/// setns(2): into the namespace an nsfs descriptor names, or into those of kinds `nstype`
/// of the process a pidfd names.
pub fn sys_setns(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let nstype = a[1] as i32 as i64 as u64;
    let current = ctx.process.namespaces();
    let (new, kinds) = if let Some(ns) = nsfs::ns_file_of(&*f) {
        if nstype != 0 && nstype != ns.ns_type().clone_flag() {
            return Err(Errno::EINVAL);
        }
        check_install(ctx, ns)?;
        (current.entered(ns)?, ns.ns_type().clone_flag())
    } else if let Some(target) = crate::process::pidfd::process_of(&*f) {
        if nstype == 0 || nstype & !namespaces::ALL_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let theirs = target.namespaces();
        let mut new = current.clone();
        for ty in NsType::ALL.into_iter().filter(|t| nstype & t.clone_flag() != 0) {
            let ns = theirs.file(ty);
            check_install(ctx, &ns)?;
            new = new.entered(&ns)?;
        }
        (new, nstype)
    } else {
        return Err(Errno::EINVAL);
    };
    enter(ctx, new, kinds);
    Ok(0)
}

/// The checks of each kind's `install` operation.
fn check_install(ctx: &SyscallCtx, ns: &NsFile) -> SysResult<()> {
    if !privileged(ctx) {
        return Err(Errno::EPERM);
    }
    match ns.ns_type() {
        // userns_install: joining the namespace one is in is refused.
        NsType::User => Err(Errno::EINVAL),
        // mntns_install: a filesystem context shared with other tasks (threads, or
        // processes after CLONE_FS) cannot move.
        NsType::Mnt if ctx.process.thread_count() != 1 || ctx.process.shares_fs() => {
            Err(Errno::EINVAL)
        }
        _ => Ok(()),
    }
}

/// Moves the caller into `new`; a new mount namespace also moves its root and working
/// directory to that namespace's root, as Linux's mntns_install does.
fn enter(ctx: &SyscallCtx, new: Namespaces, kinds: u64) {
    if kinds & NsType::Ipc.clone_flag() != 0 {
        crate::ipc::sem::exit_process(ctx.process.pid());
    }
    ctx.process.set_namespaces(new);
    if kinds & NsType::Mnt.clone_flag() != 0 {
        let root = crate::fs::mount::cross(crate::fs::root());
        ctx.process.set_root(root.clone());
        ctx.process.set_cwd(root);
    }
}

/// The ioctls on an nsfs descriptor `file` (ioctl_ns(2)).
pub fn ns_ioctl(ctx: &SyscallCtx, file: &Arc<dyn FileLike>, cmd: u32, arg: u64) -> SysResult<u64> {
    let ns = nsfs::ns_file_of(&**file).ok_or(Errno::ENOTTY)?;
    match cmd {
        // Every namespace here is owned by the machine's user namespace, which has no
        // owner itself.
        NS_GET_USERNS => {
            if ns.ns_type() == NsType::User {
                return Err(Errno::EPERM);
            }
            let user = ctx.process.namespaces().file(NsType::User);
            Ok(ctx.process.install_file(user, true)? as u64)
        }
        // Only PID and user namespaces have parents, shown if the caller's own PID
        // namespace is the parent or above it (pidns_get_parent); the machine's user
        // namespace has none.
        NS_GET_PARENT => match ns.ns_type() {
            NsType::Pid => {
                let pid_ns =
                    ns.namespace().downcast::<PidNamespace>().map_err(|_| Errno::EINVAL)?;
                let parent = pid_ns.parent().cloned().ok_or(Errno::EPERM)?;
                if !ctx.process.pid_ns().contains(&parent) {
                    return Err(Errno::EPERM);
                }
                let file = NsFile::new(NsType::Pid, parent.inum(), parent);
                Ok(ctx.process.install_file(file, true)? as u64)
            }
            NsType::User => Err(Errno::EPERM),
            _ => Err(Errno::EINVAL),
        },
        NS_GET_NSTYPE => Ok(ns.ns_type().clone_flag()),
        NS_GET_OWNER_UID => {
            if ns.ns_type() != NsType::User {
                return Err(Errno::EINVAL);
            }
            ctx.mem().write_u32(arg, 0)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
