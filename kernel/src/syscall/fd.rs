//! Descriptor syscalls: open, close, dup, fcntl, ioctl, and the calls that make new
//! descriptors (pipes, memfd, eventfd), plus flock.

use alloc::sync::Arc;

use super::SyscallCtx;
use super::fs::{AT_FDCWD, caller, caller_at, fd_arg, file, path_arg};
use crate::error::{Errno, SysResult};
use crate::fs::async_owner::OwnerKind;
use crate::fs::file::NodeFile;
use crate::fs::{FileLike, Node, NodeKind, OpenFlags, pipe};

fn do_open(
    ctx: &mut SyscallCtx,
    dirfd: i32,
    path_addr: u64,
    flags: u64,
    mode: u64,
) -> SysResult<u64> {
    let path = path_arg(ctx, path_addr)?;
    let mut flags = OpenFlags::from_bits_truncate(flags as u32);
    if flags.contains(OpenFlags::PATH) {
        // O_PATH keeps only the flags that mean something to it (Linux's O_PATH_FLAGS):
        // O_CREAT, O_TRUNC, O_LARGEFILE and the rest are dropped, not acted on.
        flags &= OpenFlags::PATH | OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW | OpenFlags::CLOEXEC;
    }
    if flags.contains(OpenFlags::TMPFILE) {
        return Err(Errno::ENOTSUP);
    }
    // One snapshot of the caller's IDs, groups, root, cwd and umask serves the whole open.
    let (caller, start) = caller_at(ctx, dirfd, &path)?;
    install_opened(ctx, &caller, &start, &path, flags, mode)
}

/// Opens `path` from `start` for `caller` and installs the file: the end of every open.
fn install_opened(
    ctx: &SyscallCtx,
    caller: &crate::process::creds::FsCaller,
    start: &crate::fs::path::Start,
    path: &str,
    flags: OpenFlags,
    mode: u64,
) -> SysResult<u64> {
    let file = crate::fs::open::open_path(caller, start, path, flags, mode)?;
    let fd = ctx.process.install_file(file, flags.contains(OpenFlags::CLOEXEC))?;
    Ok(fd as u64)
}

/// openat2(2): openat with every argument checked (unknown flags, a mode without O_CREAT,
/// O_PATH with other flags are EINVAL, not ignored) and the resolution narrowed by
/// `struct open_how`'s RESOLVE_* flags ([`crate::fs::path::Scope`]).
pub fn sys_openat2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::fs::path::Scope;
    const OPEN_HOW_SIZE: u64 = 24;
    const VALID_FLAGS: u64 = 0o37777703;
    const PATH_FLAGS: u64 = 0o10000000 | 0o200000 | 0o400000; // O_PATH, O_DIRECTORY, O_NOFOLLOW
    const TMPFILE: u64 = 0o20000000;
    const TMPFILE_MASK: u64 = TMPFILE | 0o200000 | 0o100; // with O_DIRECTORY, without O_CREAT
    let (dirfd, path_addr, how, size) = (fd_arg(a[0]), a[1], a[2], a[3]);
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mem = ctx.mem();
    let (flags, mode, resolve) =
        (mem.read_u64(how)?, mem.read_u64(how + 8)?, mem.read_u64(how + 16)?);
    // A larger struct from a newer program is fine if what we do not know is zero.
    let mut rest = alloc::vec![0u8; (size - OPEN_HOW_SIZE) as usize];
    mem.read(how + OPEN_HOW_SIZE, &mut rest)?;
    if rest.iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let cloexec = u64::from(OpenFlags::CLOEXEC.bits());
    let checked = flags & !cloexec;
    if checked & !VALID_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let scope = Scope::from_bits(resolve).ok_or(Errno::EINVAL)?;
    if scope.contains(Scope::BENEATH | Scope::IN_ROOT) {
        return Err(Errno::EINVAL);
    }
    let creates = checked & (u64::from(OpenFlags::CREAT.bits()) | TMPFILE) != 0;
    if (creates && mode & !0o7777 != 0) || (!creates && mode != 0) {
        return Err(Errno::EINVAL);
    }
    if checked & TMPFILE != 0 && (checked & TMPFILE_MASK != TMPFILE | 0o200000 || checked & 3 == 0)
    {
        return Err(Errno::EINVAL);
    }
    if checked & u64::from(OpenFlags::PATH.bits()) != 0 && checked & !PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    if scope.contains(Scope::CACHED) && checked & (0o1000 | 0o100 | TMPFILE) != 0 {
        return Err(Errno::EAGAIN);
    }
    let path = path_arg(ctx, path_addr)?;
    let flags = OpenFlags::from_bits_truncate(flags as u32);
    if flags.contains(OpenFlags::TMPFILE) {
        return Err(Errno::ENOTSUP);
    }
    let (caller, mut start) = if scope.contains(Scope::IN_ROOT) {
        // The directory is the root, for an absolute path too.
        let caller = super::fs::caller(ctx);
        let mut start = caller.start();
        if dirfd != AT_FDCWD {
            let node = file(ctx, dirfd)?.node().ok_or(Errno::ENOTDIR)?.clone();
            if node.kind() != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            start.dir = node;
        }
        start.root = start.dir.clone();
        (caller, start)
    } else {
        caller_at(ctx, dirfd, &path)?
    };
    start.scope = scope;
    install_opened(ctx, &caller, &start, &path, flags, mode)
}

/// open(2).
pub fn sys_open(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    do_open(ctx, AT_FDCWD, a[0], a[1], a[2])
}

/// openat(2).
pub fn sys_openat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    do_open(ctx, fd_arg(a[0]), a[1], a[2], a[3])
}

/// creat(2).
pub fn sys_creat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = (OpenFlags::CREAT | OpenFlags::WRONLY | OpenFlags::TRUNC).bits();
    do_open(ctx, AT_FDCWD, a[0], u64::from(flags), a[1])
}

/// close(2).
pub fn sys_close(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let file = ctx.process.remove_file(fd_arg(a[0]))?;
    ctx.process.after_close([file]);
    Ok(0)
}

/// ioctl(2).
pub fn sys_ioctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    const FIONBIO: u32 = 0x5421;
    const FIOCLEX: u32 = 0x5451;
    const FIONCLEX: u32 = 0x5450;
    const FIOASYNC: u32 = 0x5452;
    match a[1] as u32 {
        FIOCLEX | FIONCLEX => {
            let cloexec = a[1] as u32 == FIOCLEX;
            ctx.process.with_files(|files| files.set_cloexec(fd_arg(a[0]), cloexec))?;
            Ok(0)
        }
        FIONBIO => {
            let on = ctx.mem().read_u32(a[2])? != 0;
            let flags =
                if on { f.flags() | OpenFlags::NONBLOCK } else { f.flags() - OpenFlags::NONBLOCK };
            f.set_status_flags(flags);
            Ok(0)
        }
        // As F_SETFL with O_ASYNC, on any file (Linux's ioctl_fioasync).
        FIOASYNC => {
            let on = ctx.mem().read_u32(a[2])? != 0;
            let flags =
                if on { f.flags() | OpenFlags::ASYNC } else { f.flags() - OpenFlags::ASYNC };
            f.set_status_flags(flags);
            Ok(0)
        }
        cmd if crate::net::ioctl::is_interface_ioctl(cmd) => {
            // Every socket answers the interface ioctls (the AF_INET ones only AF_INET
            // sockets); other files do not know them.
            let Some(socket) = f.into_socket() else { return Err(Errno::ENOTTY) };
            let inet = socket.family() == crate::net::addr::Family::Inet;
            let privileged = ctx.process.creds().euid == 0;
            crate::net::ioctl::interface_ioctl(cmd, a[2], &ctx.mem(), inet, privileged)
        }
        // LOOP_SET_FD and LOOP_CONFIGURE name the backing file by descriptor.
        cmd if crate::block::loopback::takes_fd(cmd) => {
            let fd_file = |fd: i32| ctx.process.file(fd);
            crate::block::loopback::ioctl(&*f, cmd, a[2], &ctx.mem(), &fd_file)
                .unwrap_or(Err(Errno::ENOTTY))
        }
        cmd if crate::fs::nsfs::ns_file_of(&*f).is_some() => {
            super::namespaces::ns_ioctl(ctx, &f, cmd, a[2])
        }
        cmd => f.ioctl(cmd, a[2], &ctx.mem()),
    }
}

/// dup(2).
pub fn sys_dup(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.with_files(|files| {
        let f = files.get(fd_arg(a[0]))?;
        files.insert(f, false).map(|fd| fd as u64)
    })
}

/// dup2(2).
pub fn sys_dup2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    let replaced = ctx.process.with_files(|files| {
        let f = files.get(old)?;
        if old == new {
            return Ok(None);
        }
        files.insert_at(new, f, false).map(Some)
    })?;
    ctx.process.after_close(replaced.flatten());
    Ok(new as u64)
}

/// dup3(2).
pub fn sys_dup3(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (old, new, flags) = (fd_arg(a[0]), fd_arg(a[1]), a[2]);
    if old == new || flags & !u64::from(OpenFlags::CLOEXEC.bits()) != 0 {
        return Err(Errno::EINVAL);
    }
    let replaced = ctx.process.with_files(|files| {
        let f = files.get(old)?;
        files.insert_at(new, f, flags != 0)
    })?;
    ctx.process.after_close(replaced);
    Ok(new as u64)
}

/// fcntl(2).
pub fn sys_fcntl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_SETOWN: u64 = 8;
    const F_GETOWN: u64 = 9;
    const F_NOTIFY: u64 = 1026;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const F_SETPIPE_SZ: u64 = 1031;
    const F_GETPIPE_SZ: u64 = 1032;
    // Record locks may sleep, and these read or write user memory: not under the
    // descriptor table's lock.
    if super::record_lock::is_lock_command(a[1]) {
        return super::record_lock::fcntl_lock(ctx, a);
    }
    if let Some(result) = async_io_command(ctx, a) {
        return result;
    }
    if let Some(result) = lease_command(ctx, a) {
        return result;
    }
    let fd = fd_arg(a[0]);
    ctx.process.with_files(|files| {
        let entry = files.entry(fd)?.clone();
        match a[1] {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let min = usize::try_from(a[2] as i64).map_err(|_| Errno::EINVAL)?;
                files.insert_from(min, entry.file, a[1] == F_DUPFD_CLOEXEC).map(|fd| fd as u64)
            }
            F_GETFD => Ok(u64::from(entry.cloexec)),
            F_SETFD => files.set_cloexec(fd, a[2] & 1 != 0).map(|()| 0),
            F_GETFL => Ok(u64::from(entry.file.flags().bits() & !OpenFlags::CLOEXEC.bits())),
            F_SETFL => {
                entry.file.set_status_flags(OpenFlags::from_bits_truncate(a[2] as u32));
                Ok(0)
            }
            F_SETOWN => {
                // Kept as a machine-wide number; the caller's namespace numbers it.
                let owner = owner_global(ctx, a[2] as i32)?;
                check_owner_exists(owner)?;
                crate::fs::async_owner::set_owner(&entry.file, owner);
                Ok(0)
            }
            F_GETOWN => {
                let owner = crate::fs::async_owner::owner(&entry.file);
                let seen = owner.signum() * ctx.process.nr_for(owner.abs());
                Ok(i64::from(seen) as u64)
            }
            F_GETPIPE_SZ => entry.file.pipe_size().map(|n| n as u64),
            F_NOTIFY => {
                if entry.file.flags().contains(OpenFlags::PATH) {
                    return Err(Errno::EBADF);
                }
                crate::fs::notify::dnotify::request(&entry.file, fd, ctx.process.pid(), a[2] as u32)
                    .map(|()| 0)
            }
            F_SETPIPE_SZ => {
                let size = usize::try_from(a[2] as i32).map_err(|_| Errno::EINVAL)?;
                let privileged = ctx.process.creds().euid == 0;
                entry.file.set_pipe_size(size, privileged).map(|n| n as u64)
            }
            _ => Err(Errno::EINVAL),
        }
    })
}

/// fcntl's F_SETSIG, F_GETSIG, F_SETOWN_EX and F_GETOWN_EX; `None` for other commands.
fn async_io_command(ctx: &SyscallCtx, a: [u64; 6]) -> Option<SysResult<u64>> {
    const F_SETSIG: u64 = 10;
    const F_GETSIG: u64 = 11;
    const F_SETOWN_EX: u64 = 15;
    const F_GETOWN_EX: u64 = 16;
    use crate::fs::async_owner;
    if !matches!(a[1], F_SETSIG | F_GETSIG | F_SETOWN_EX | F_GETOWN_EX) {
        return None;
    }
    let file = match file(ctx, fd_arg(a[0])) {
        Ok(file) if file.flags().contains(OpenFlags::PATH) => return Some(Err(Errno::EBADF)),
        Ok(file) => file,
        Err(e) => return Some(Err(e)),
    };
    Some((|| match a[1] {
        F_SETSIG => {
            // Linux's valid_signal on the int argument: 0 (SIGIO) to 64.
            let signal =
                u32::try_from(a[2] as i32).ok().filter(|&s| s <= 64).ok_or(Errno::EINVAL)?;
            async_owner::update(&file, |o| o.signal = signal);
            Ok(0)
        }
        F_GETSIG => Ok(u64::from(async_owner::get(&file).signal)),
        F_SETOWN_EX => {
            let (kind, id) = read_owner_ex(ctx, a[2])?;
            async_owner::update(&file, |o| (o.kind, o.id) = (kind, id));
            Ok(0)
        }
        _ => {
            let o = async_owner::get(&file);
            let mut raw = [0u8; 8];
            raw[..4].copy_from_slice(&(o.kind as i32).to_le_bytes());
            raw[4..].copy_from_slice(&o.id.to_le_bytes());
            ctx.mem().write(a[2], &raw)?;
            Ok(0)
        }
    })())
}

/// fcntl's F_SETLEASE and F_GETLEASE; `None` for other commands.
fn lease_command(ctx: &SyscallCtx, a: [u64; 6]) -> Option<SysResult<u64>> {
    const F_SETLEASE: u64 = 1024;
    const F_GETLEASE: u64 = 1025;
    use crate::fs::lease;
    use crate::fs::perm::Caller as _;
    if !matches!(a[1], F_SETLEASE | F_GETLEASE) {
        return None;
    }
    let fd = fd_arg(a[0]);
    let file = match file(ctx, fd) {
        Ok(file) if file.flags().contains(OpenFlags::PATH) => return Some(Err(Errno::EBADF)),
        Ok(file) => file,
        Err(e) => return Some(Err(e)),
    };
    if a[1] == F_GETLEASE {
        return Some(Ok(lease::get(&file)));
    }
    let caller = super::fs::caller(ctx);
    let who = lease::Requester {
        pid: ctx.process.pid(),
        fsuid: caller.fs_ids().0,
        privileged: caller.privileged(),
    };
    // Linux compares the whole long: no truncation to an int.
    Some(lease::set(&file, fd, &who, a[2]).map(|()| 0))
}

/// F_SETOWN_EX's `struct f_owner_ex { int type; pid_t pid; }`, checked as Linux's
/// `f_setown_ex`: a known type (EINVAL), and an id that exists as one (ESRCH), or 0.
fn read_owner_ex(ctx: &SyscallCtx, addr: u64) -> SysResult<(OwnerKind, i32)> {
    use crate::process::registry;
    let mut raw = [0u8; 8];
    ctx.mem().read(addr, &mut raw)?;
    let kind = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let id = i32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
    let kind = match kind {
        0 => OwnerKind::Thread,
        1 => OwnerKind::Process,
        2 => OwnerKind::Group,
        _ => return Err(Errno::EINVAL),
    };
    // Linux looks the number up as any pid (find_vpid): a thread, process or group id.
    let exists = id == 0
        || (id > 0
            && (registry::find_thread(id).is_some()
                || registry::all().iter().any(|p| p.pgid() == id || p.sid() == id)));
    if exists { Ok((kind, id)) } else { Err(Errno::ESRCH) }
}

/// The machine-wide number of an owner the caller names as `owner` (a pid, or `-pgid`):
/// ESRCH for one it cannot see; 0 and `i32::MIN` stay as they are for the checks.
fn owner_global(ctx: &SyscallCtx, owner: i32) -> SysResult<i32> {
    if owner == 0 || owner == i32::MIN {
        return Ok(owner);
    }
    let global = ctx.process.global_for(owner.abs()).ok_or(Errno::ESRCH)?;
    Ok(owner.signum() * global)
}

/// F_SETOWN's check of its argument, as Linux's `f_setown`: a pid, or a process group as
/// `-pgid`, that exists (ESRCH otherwise); 0 clears the owner; `i32::MIN` has no group.
fn check_owner_exists(owner: i32) -> SysResult<()> {
    use crate::process::registry;
    let exists = match owner {
        0 => true,
        i32::MIN => return Err(Errno::EINVAL),
        pid if pid > 0 => registry::get(pid).is_some(),
        group => registry::all().iter().any(|p| p.pgid() == -group),
    };
    if exists { Ok(()) } else { Err(Errno::ESRCH) }
}

/// memfd_create(2): an anonymous in-memory file (a ramfs node with no name). Sealing is
/// not offered; MFD_ALLOW_SEALING is accepted since F_ADD_SEALS is simply refused (EINVAL).
pub fn sys_memfd_create(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MFD_CLOEXEC: u64 = 1;
    const MFD_ALLOW_SEALING: u64 = 2;
    const NAME_MAX_MEMFD: usize = 249;
    if a[1] & !(MFD_CLOEXEC | MFD_ALLOW_SEALING) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = ctx.mem().read_cstring(a[0], NAME_MAX_MEMFD + 1)?;
    if name.len() > NAME_MAX_MEMFD {
        return Err(Errno::EINVAL);
    }
    let node = Node::new_of(NodeKind::File, 0o777, "");
    // No directory holds it: the caller's filesystem IDs own it.
    let (uid, gid) = crate::fs::perm::Caller::fs_ids(&caller(ctx));
    node.update_metadata(|m| {
        m.uid = uid;
        m.gid = gid;
    });
    let file: Arc<dyn FileLike> = Arc::new(NodeFile::new(node, OpenFlags::RDWR));
    ctx.process.install_file(file, a[1] & MFD_CLOEXEC != 0).map(|fd| fd as u64)
}

/// flock(2): on files opened through the VFS (their open file description holds the lock).
pub fn sys_flock(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::fs::flock::{FileKey, Request, flock};
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    // Linux's order: the command, then the descriptor, then its open mode.
    let request = match a[1] as u32 as u64 & !LOCK_NB {
        LOCK_SH => Request::Shared,
        LOCK_EX => Request::Exclusive,
        LOCK_UN => Request::Unlock,
        _ => return Err(Errno::EINVAL),
    };
    let f = file(ctx, fd_arg(a[0]))?;
    // Neither readable nor writable: an O_PATH descriptor, which locks nothing.
    if request != Request::Unlock && !f.flags().readable() && !f.flags().writable() {
        return Err(Errno::EBADF);
    }
    if f.flags().contains(OpenFlags::PATH) {
        return Err(Errno::EBADF);
    }
    let key = FileKey::of(&f).ok_or(Errno::EINVAL)?;
    // The description's identity: the address of the open file, shared by dup and fork.
    let holder = Arc::as_ptr(&f) as *const u8 as usize;
    flock(&key, holder, ctx.process.pid(), request, a[1] & LOCK_NB != 0)?;
    Ok(0)
}

/// close_range(2). CLOSE_RANGE_UNSHARE gives a process that shares its table with other
/// processes (clone's CLONE_FILES) a copy first, and closes there; the threads of a process
/// share its one table here (Linux would give the calling thread a copy of its own).
pub fn sys_close_range(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const CLOSE_RANGE_UNSHARE: u64 = 2;
    const CLOSE_RANGE_CLOEXEC: u64 = 4;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let cloexec_only = flags & CLOSE_RANGE_CLOEXEC != 0;
    if flags & CLOSE_RANGE_UNSHARE != 0 {
        ctx.process.unshare_tables(true, false);
    }
    let closed = ctx
        .process
        .with_files(|files| files.close_range(first as usize, last as usize, cloexec_only));
    ctx.process.after_close(closed);
    Ok(0)
}

/// pipe2(2).
pub fn sys_pipe2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = OpenFlags::from_bits_truncate(a[1] as u32);
    if a[1]
        & !u64::from(
            (OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | OpenFlags::from_bits_retain(0o40000))
                .bits(),
        )
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let (r, w) = pipe::new_pipe(flags);
    let cloexec = flags.contains(OpenFlags::CLOEXEC);
    let (rfd, wfd) = ctx.process.install_file_pair(r, w, cloexec)?;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&rfd.to_le_bytes());
    out[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = ctx.mem().write(a[0], &out) {
        ctx.process.with_files(|files| {
            let _ = files.remove(rfd);
            let _ = files.remove(wfd);
        });
        return Err(e);
    }
    Ok(0)
}

/// pipe(2).
pub fn sys_pipe(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_pipe2(ctx, [a[0], 0, 0, 0, 0, 0])
}

/// eventfd2(2).
pub fn sys_eventfd2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const EFD_NONBLOCK: u64 = 0o4000;
    const EFD_CLOEXEC: u64 = 0o2000000;
    let flags = a[1];
    if flags & !(EFD_NONBLOCK | EFD_CLOEXEC | u64::from(crate::fs::eventfd::EFD_SEMAPHORE)) != 0 {
        return Err(Errno::EINVAL);
    }
    let file_flags =
        if flags & EFD_NONBLOCK != 0 { OpenFlags::NONBLOCK } else { OpenFlags::empty() };
    let efd = crate::fs::eventfd::EventFd::new(
        a[0] as u32,
        flags & u64::from(crate::fs::eventfd::EFD_SEMAPHORE) != 0,
        file_flags,
    );
    ctx.process.install_file(efd, flags & EFD_CLOEXEC != 0).map(|fd| fd as u64)
}

/// eventfd(2).
pub fn sys_eventfd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_eventfd2(ctx, [a[0], 0, 0, 0, 0, 0])
}
