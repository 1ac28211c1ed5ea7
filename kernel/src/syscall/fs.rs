//! File and directory syscalls.

use alloc::string::String;
use alloc::sync::Arc;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::file::{NodeFile, Stat};
use crate::fs::copy::{IO_CHUNK, copy_between};
use crate::fs::path::{self, PATH_MAX, Start};
use crate::fs::perm::{Caller, MAY_EXEC, MAY_WRITE, set_owner};
use crate::fs::stat::statfs_bytes;
use crate::fs::{FileLike, Node, NodeKind, OpenFlags, attr, entries, pipe};
use crate::process::Process;

/// `dirfd` meaning "the working directory".
pub const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;

fn fd_arg(v: u64) -> i32 {
    v as i32
}

/// Reads a path argument.
pub fn path_arg(ctx: &SyscallCtx, addr: u64) -> SysResult<String> {
    ctx.mem().read_cstring(addr, PATH_MAX)
}

/// Returns where a `*at` call resolves from.
pub fn start_at(ctx: &SyscallCtx, dirfd: i32) -> SysResult<Start> {
    let mut start = ctx.process.start();
    if dirfd != AT_FDCWD {
        let file = ctx.process.files.lock().get(dirfd)?;
        let node = file.node().ok_or(Errno::ENOTDIR)?.clone();
        if node.kind() != NodeKind::Dir {
            return Err(Errno::ENOTDIR);
        }
        start.dir = node;
    }
    Ok(start)
}

/// The calling process as the filesystem's permission rules see it: its credentials,
/// supplementary groups and umask, read when a rule asks for them.
pub struct ProcessCaller<'a>(&'a Process);

impl Caller for ProcessCaller<'_> {
    fn may(&self, node: &Node, mask: u32) -> bool {
        let creds = *self.0.creds.lock();
        let groups = self.0.groups.lock().clone();
        creds.may(&groups, &node.metadata(), node.kind() == NodeKind::Dir, mask)
    }

    fn effective_ids(&self) -> (u32, u32) {
        let c = *self.0.creds.lock();
        (c.euid, c.egid)
    }

    fn umask(&self) -> u32 {
        self.0.fs.lock().umask
    }
}

/// Returns the caller of this syscall, for the filesystem's permission rules.
pub fn caller<'a>(ctx: &SyscallCtx<'a>) -> ProcessCaller<'a> {
    ProcessCaller(ctx.process)
}

/// Checks the caller's access to `node` (EACCES if denied).
pub fn check_access(ctx: &SyscallCtx, node: &Node, mask: u32) -> SysResult<()> {
    crate::fs::perm::check_access(&caller(ctx), node, mask)
}

/// Returns the open file behind descriptor `fd`.
fn file(ctx: &SyscallCtx, fd: i32) -> SysResult<Arc<dyn FileLike>> {
    ctx.process.files.lock().get(fd)
}

fn do_open(ctx: &mut SyscallCtx, dirfd: i32, path_addr: u64, flags: u64, mode: u64) -> SysResult<u64> {
    let path = path_arg(ctx, path_addr)?;
    let flags = OpenFlags::from_bits_truncate(flags as u32);
    if flags.contains(OpenFlags::TMPFILE) {
        return Err(Errno::ENOTSUP);
    }
    let start = start_at(ctx, dirfd)?;
    let file = crate::fs::open::open_path(&caller(ctx), &start, &path, flags, mode)?;
    let fd = ctx.process.files.lock().insert(file, flags.contains(OpenFlags::CLOEXEC))?;
    Ok(fd as u64)
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
    let file = ctx.process.files.lock().remove(fd_arg(a[0]))?;
    drop(file);
    Ok(0)
}

/// read(2).
pub fn sys_read(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    read_into_user(ctx, &f, a[1], a[2] as usize, None)
}

fn read_into_user(ctx: &SyscallCtx, f: &Arc<dyn FileLike>, buf: u64, len: usize, offset: Option<u64>) -> SysResult<u64> {
    if buf.checked_add(len as u64).is_none() || (len > 0 && buf.checked_add(len as u64).is_some_and(|e| e > ostd::mm::USER_END)) {
        return Err(Errno::EFAULT);
    }
    let mem = ctx.mem();
    let mut chunk = alloc::vec![0u8; len.min(IO_CHUNK)];
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(chunk.len());
        let n = match offset {
            Some(off) => f.read_at(off + done as u64, &mut chunk[..want]),
            None => f.read(&mut chunk[..want]),
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        mem.write(buf + done as u64, &chunk[..n])?;
        done += n;
        if n < want {
            break;
        }
    }
    if len == 0 {
        // Still report errors like EISDIR/EBADF for zero-length reads.
        match offset {
            Some(off) => f.read_at(off, &mut [])?,
            None => f.read(&mut [])?,
        };
    }
    Ok(done as u64)
}

fn write_from_user(ctx: &SyscallCtx, f: &Arc<dyn FileLike>, buf: u64, len: usize, offset: Option<u64>) -> SysResult<u64> {
    let mem = ctx.mem();
    let mut chunk = alloc::vec![0u8; len.min(IO_CHUNK)];
    let mut done = 0usize;
    if len == 0 {
        return match offset {
            Some(off) => f.write_at(off, &[]).map(|n| n as u64),
            None => f.write(&[]).map(|n| n as u64),
        };
    }
    while done < len {
        let want = (len - done).min(chunk.len());
        if let Err(e) = mem.read(buf + done as u64, &mut chunk[..want]) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        let n = match offset {
            Some(off) => f.write_at(off + done as u64, &chunk[..want]),
            None => f.write(&chunk[..want]),
        };
        match n {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(e) if done == 0 => {
                if e == Errno::EPIPE {
                    crate::process::signal::send(ctx.process, crate::process::signal::SIGPIPE);
                }
                return Err(e);
            }
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

/// write(2).
pub fn sys_write(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    write_from_user(ctx, &f, a[1], a[2] as usize, None)
}

/// pread64(2).
pub fn sys_pread64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    read_into_user(ctx, &f, a[1], a[2] as usize, Some(a[3]))
}

/// pwrite64(2).
pub fn sys_pwrite64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    write_from_user(ctx, &f, a[1], a[2] as usize, Some(a[3]))
}

/// Reads an iovec array of `count` entries at `addr` as (base, length) pairs, checking
/// every buffer lies in user space.
pub fn iovecs(ctx: &SyscallCtx, addr: u64, count: u64) -> SysResult<alloc::vec::Vec<(u64, usize)>> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let mut v = alloc::vec::Vec::new();
    let mut total: u64 = 0;
    for i in 0..count {
        let base = mem.read_u64(addr + 16 * i)?;
        let len = mem.read_u64(addr + 16 * i + 8)?;
        total = total.checked_add(len).filter(|&t| t <= isize::MAX as u64).ok_or(Errno::EINVAL)?;
        v.push((base, len as usize));
    }
    // Then every buffer must lie in user space (Linux's import_iovec checks each with
    // access_ok before any data moves, so a bad one costs a socket or pipe nothing).
    for &(base, len) in &v {
        crate::user_mem::range_ok(base, len as u64)?;
    }
    Ok(v)
}

/// readv(2).
pub fn sys_readv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    read_vectored(ctx, &f, a[1], a[2], None)
}

/// writev(2).
pub fn sys_writev(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    write_vectored(ctx, &f, a[1], a[2], None)
}

/// preadv(2) and preadv2(2) (flags: only RWF_HIPRI, a hint, is accepted); an offset of -1
/// in preadv2 means the file position, as readv.
pub fn sys_preadv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    read_vectored(ctx, &f, a[1], a[2], vectored_offset(a[3], a[5])?)
}

/// pwritev(2) and pwritev2(2).
pub fn sys_pwritev(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    write_vectored(ctx, &f, a[1], a[2], vectored_offset(a[3], a[5])?)
}

fn vectored_offset(offset: u64, flags: u64) -> SysResult<Option<u64>> {
    const RWF_HIPRI: u64 = 1;
    if flags & !RWF_HIPRI != 0 {
        return Err(Errno::ENOTSUP);
    }
    match offset as i64 {
        -1 => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

fn read_vectored(ctx: &SyscallCtx, f: &Arc<dyn FileLike>, iov: u64, count: u64, mut offset: Option<u64>) -> SysResult<u64> {
    let mut total = 0;
    for (base, len) in iovecs(ctx, iov, count)? {
        let n = match read_into_user(ctx, f, base, len, offset) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        offset = offset.map(|o| o + n);
        if (n as usize) < len {
            break;
        }
    }
    Ok(total)
}

fn write_vectored(ctx: &SyscallCtx, f: &Arc<dyn FileLike>, iov: u64, count: u64, mut offset: Option<u64>) -> SysResult<u64> {
    let mut total = 0;
    for (base, len) in iovecs(ctx, iov, count)? {
        if len == 0 {
            continue;
        }
        let n = match write_from_user(ctx, f, base, len, offset) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        offset = offset.map(|o| o + n);
        if (n as usize) < len {
            break;
        }
    }
    Ok(total)
}

/// lseek(2).
pub fn sys_lseek(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    file(ctx, fd_arg(a[0]))?.seek(a[1] as i64, a[2] as u32)
}

/// ioctl(2).
pub fn sys_ioctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    const FIONBIO: u32 = 0x5421;
    const FIOCLEX: u32 = 0x5451;
    const FIONCLEX: u32 = 0x5450;
    match a[1] as u32 {
        FIOCLEX | FIONCLEX => {
            ctx.process.files.lock().set_cloexec(fd_arg(a[0]), a[1] as u32 == FIOCLEX)?;
            Ok(0)
        }
        FIONBIO => {
            let on = ctx.mem().read_u32(a[2])? != 0;
            let flags = if on { f.flags() | OpenFlags::NONBLOCK } else { f.flags() - OpenFlags::NONBLOCK };
            f.set_status_flags(flags);
            Ok(0)
        }
        cmd => f.ioctl(cmd, a[2], &ctx.mem()),
    }
}

/// dup(2).
pub fn sys_dup(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mut files = ctx.process.files.lock();
    let f = files.get(fd_arg(a[0]))?;
    files.insert(f, false).map(|fd| fd as u64)
}

/// dup2(2).
pub fn sys_dup2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (old, new) = (fd_arg(a[0]), fd_arg(a[1]));
    let mut files = ctx.process.files.lock();
    let f = files.get(old)?;
    if old == new {
        return Ok(new as u64);
    }
    let replaced = files.insert_at(new, f, false)?;
    drop(files);
    drop(replaced);
    Ok(new as u64)
}

/// dup3(2).
pub fn sys_dup3(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (old, new, flags) = (fd_arg(a[0]), fd_arg(a[1]), a[2]);
    if old == new || flags & !u64::from(OpenFlags::CLOEXEC.bits()) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut files = ctx.process.files.lock();
    let f = files.get(old)?;
    let replaced = files.insert_at(new, f, flags != 0)?;
    drop(files);
    drop(replaced);
    Ok(new as u64)
}

/// fcntl(2).
pub fn sys_fcntl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_GETLK: u64 = 5;
    const F_SETLK: u64 = 6;
    const F_SETLKW: u64 = 7;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const F_SETPIPE_SZ: u64 = 1031;
    const F_GETPIPE_SZ: u64 = 1032;
    let fd = fd_arg(a[0]);
    let mut files = ctx.process.files.lock();
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
        F_GETLK | F_SETLK | F_SETLKW => Ok(0), // advisory locks: one process at a time holds them all
        F_GETPIPE_SZ => entry.file.pipe_size().map(|n| n as u64),
        F_SETPIPE_SZ => {
            let size = usize::try_from(a[2] as i32).map_err(|_| Errno::EINVAL)?;
            let privileged = ctx.process.creds.lock().euid == 0;
            entry.file.set_pipe_size(size, privileged).map(|n| n as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// getdents64(2).
pub fn sys_getdents64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let records = f.getdents(a[2] as usize)?;
    ctx.mem().write(a[1], &records)?;
    Ok(records.len() as u64)
}

fn write_stat(ctx: &SyscallCtx, addr: u64, stat: &Stat) -> SysResult<u64> {
    ctx.mem().write(addr, &stat.to_bytes())?;
    Ok(0)
}

/// fstat(2).
pub fn sys_fstat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let st = file(ctx, fd_arg(a[0]))?.stat();
    write_stat(ctx, a[1], &st)
}

fn stat_path(ctx: &SyscallCtx, dirfd: i32, path_addr: u64, flags: u64) -> SysResult<Stat> {
    let path = path_arg(ctx, path_addr)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return Ok(if dirfd == AT_FDCWD { Stat::of_node(&ctx.process.start().dir) } else { file(ctx, dirfd)?.stat() });
    }
    let node = path::resolve(&start_at(ctx, dirfd)?, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    Ok(Stat::of_node(&node))
}

/// stat(2).
pub fn sys_stat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let st = stat_path(ctx, AT_FDCWD, a[0], 0)?;
    write_stat(ctx, a[1], &st)
}

/// lstat(2).
pub fn sys_lstat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let st = stat_path(ctx, AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW)?;
    write_stat(ctx, a[1], &st)
}

/// newfstatat(2).
pub fn sys_newfstatat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[3] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_path(ctx, fd_arg(a[0]), a[1], a[3])?;
    write_stat(ctx, a[2], &st)
}

/// statx(2).
pub fn sys_statx(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[2] & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_path(ctx, fd_arg(a[0]), a[1], a[2])?;
    ctx.mem().write(a[4], &st.to_statx_bytes())?;
    Ok(0)
}

fn access(ctx: &SyscallCtx, dirfd: i32, path_addr: u64, mode: u64, flags: u64) -> SysResult<u64> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(ctx, path_addr)?;
    let node = path::resolve(&start_at(ctx, dirfd)?, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    const AT_EACCESS: u64 = 0x200;
    let creds = *ctx.process.creds.lock();
    let is_dir = node.kind() == NodeKind::Dir;
    let groups = ctx.process.groups.lock().clone();
    let ok = if flags & AT_EACCESS != 0 { creds.may(&groups, &node.metadata(), is_dir, mode as u32) } else { creds.may_real(&groups, &node.metadata(), is_dir, mode as u32) };
    if !ok {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

/// access(2).
pub fn sys_access(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    access(ctx, AT_FDCWD, a[0], a[1], 0)
}

/// faccessat(2) / faccessat2(2).
pub fn sys_faccessat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    access(ctx, fd_arg(a[0]), a[1], a[2], a[3])
}

/// getcwd(2).
pub fn sys_getcwd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let fs = ctx.process.fs.lock().clone();
    let mut p = path::absolute_path(&fs.root, &fs.cwd).into_bytes();
    p.push(0);
    if p.len() > a[1] as usize {
        return Err(Errno::ERANGE);
    }
    ctx.mem().write(a[0], &p)?;
    Ok(p.len() as u64)
}

/// chdir(2).
pub fn sys_chdir(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[0])?;
    let node = path::resolve(&ctx.process.start(), &path, true)?;
    if node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    check_access(ctx, &node, MAY_EXEC)?;
    ctx.process.fs.lock().cwd = node;
    Ok(0)
}

/// fchdir(2).
pub fn sys_fchdir(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let node = f.node().ok_or(Errno::ENOTDIR)?.clone();
    if node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    ctx.process.fs.lock().cwd = node;
    Ok(0)
}

fn mknod(ctx: &SyscallCtx, dirfd: i32, path_addr: u64, kind: NodeKind, mode: u64, target: &str) -> SysResult<u64> {
    let path = path_arg(ctx, path_addr)?;
    make_node(ctx, &start_at(ctx, dirfd)?, &path, kind, mode, target).map(|_| 0)
}

/// Creates a node at `path` owned by the caller, with `mode` less the umask (mknod, mkdir,
/// symlink, and bind of a Unix socket).
pub fn make_node(ctx: &SyscallCtx, start: &Start, path: &str, kind: NodeKind, mode: u64, target: &str) -> SysResult<Arc<Node>> {
    crate::fs::entries::make_node(&caller(ctx), start, path, kind, mode, target)
}

/// mkdir(2).
pub fn sys_mkdir(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    mknod(ctx, AT_FDCWD, a[0], NodeKind::Dir, a[1], "")
}

/// mkdirat(2).
pub fn sys_mkdirat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    mknod(ctx, fd_arg(a[0]), a[1], NodeKind::Dir, a[2], "")
}

/// mknodat(2).
pub fn sys_mknodat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mode = a[2];
    let kind = match mode & 0o170000 {
        0 | 0o100000 => NodeKind::File,
        0o010000 => NodeKind::Fifo,
        0o020000 => NodeKind::CharDev(a[3] as u32),
        0o140000 => NodeKind::Socket,
        _ => return Err(Errno::EINVAL),
    };
    mknod(ctx, fd_arg(a[0]), a[1], kind, mode, "")
}

/// mknod(2).
pub fn sys_mknod(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_mknodat(ctx, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

/// symlinkat(2).
pub fn sys_symlinkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let target = path_arg(ctx, a[0])?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    mknod(ctx, fd_arg(a[1]), a[2], NodeKind::Symlink, 0o777, &target)
}

/// symlink(2).
pub fn sys_symlink(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_symlinkat(ctx, [a[0], AT_FDCWD as u64, a[1], 0, 0, 0])
}

fn unlink(ctx: &SyscallCtx, dirfd: i32, path_addr: u64, dir: bool) -> SysResult<u64> {
    let path = path_arg(ctx, path_addr)?;
    entries::unlink(&caller(ctx), &start_at(ctx, dirfd)?, &path, dir)?;
    Ok(0)
}

/// unlink(2).
pub fn sys_unlink(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    unlink(ctx, AT_FDCWD, a[0], false)
}

/// rmdir(2).
pub fn sys_rmdir(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    unlink(ctx, AT_FDCWD, a[0], true)
}

/// unlinkat(2).
pub fn sys_unlinkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[2] & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    unlink(ctx, fd_arg(a[0]), a[1], a[2] & AT_REMOVEDIR != 0)
}

fn link(ctx: &SyscallCtx, olddirfd: i32, old: u64, newdirfd: i32, new: u64, flags: u64) -> SysResult<u64> {
    let old_path = path_arg(ctx, old)?;
    let new_path = path_arg(ctx, new)?;
    let node = entries::link_source(&start_at(ctx, olddirfd)?, &old_path, flags & AT_SYMLINK_FOLLOW != 0)?;
    entries::link(&caller(ctx), node, &start_at(ctx, newdirfd)?, &new_path)?;
    Ok(0)
}

/// link(2).
pub fn sys_link(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    link(ctx, AT_FDCWD, a[0], AT_FDCWD, a[1], 0)
}

/// linkat(2).
pub fn sys_linkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    link(ctx, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4])
}

fn rename(ctx: &SyscallCtx, olddirfd: i32, old: u64, newdirfd: i32, new: u64, flags: u64) -> SysResult<u64> {
    const RENAME_NOREPLACE: u64 = 1;
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let old_path = path_arg(ctx, old)?;
    let new_path = path_arg(ctx, new)?;
    let (old_dir, old_name) = entries::parent_of_entry(&start_at(ctx, olddirfd)?, &old_path)?;
    let (new_dir, new_name) = entries::parent_of_entry(&start_at(ctx, newdirfd)?, &new_path)?;
    entries::rename(&caller(ctx), &old_dir, &old_name, &new_dir, &new_name, flags & RENAME_NOREPLACE != 0)?;
    Ok(0)
}

/// rename(2).
pub fn sys_rename(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    rename(ctx, AT_FDCWD, a[0], AT_FDCWD, a[1], 0)
}

/// renameat(2).
pub fn sys_renameat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    rename(ctx, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], 0)
}

/// renameat2(2).
pub fn sys_renameat2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    rename(ctx, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4])
}

fn readlink(ctx: &SyscallCtx, dirfd: i32, path_addr: u64, buf: u64, size: u64) -> SysResult<u64> {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(ctx, path_addr)?;
    let target = if path == "/proc/self/exe" {
        ctx.process.exe.lock().clone()
    } else {
        path::resolve(&start_at(ctx, dirfd)?, &path, false)?.readlink()?
    };
    let n = target.len().min(size as usize);
    ctx.mem().write(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

/// readlink(2).
pub fn sys_readlink(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    readlink(ctx, AT_FDCWD, a[0], a[1], a[2])
}

/// readlinkat(2).
pub fn sys_readlinkat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    readlink(ctx, fd_arg(a[0]), a[1], a[2], a[3])
}

fn chmod_node(ctx: &SyscallCtx, node: &Node, mode: u64) -> SysResult<u64> {
    attr::chmod(&caller(ctx), node, mode).map(|()| 0)
}

/// chmod(2).
pub fn sys_chmod(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[0])?;
    chmod_node(ctx, &*path::resolve(&ctx.process.start(), &path, true)?, a[1])
}

/// fchmod(2).
pub fn sys_fchmod(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    chmod_node(ctx, f.node().ok_or(Errno::EINVAL)?, a[1])
}

/// fchmodat(2).
pub fn sys_fchmodat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[1])?;
    chmod_node(ctx, &*path::resolve(&start_at(ctx, fd_arg(a[0]))?, &path, true)?, a[2])
}

fn chown_node(ctx: &SyscallCtx, node: &Node, uid: u64, gid: u64) -> SysResult<u64> {
    attr::chown(&caller(ctx), node, uid, gid).map(|()| 0)
}

/// fchownat(2).
pub fn sys_fchownat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[1])?;
    if path.is_empty() && a[4] & AT_EMPTY_PATH != 0 {
        let f = file(ctx, fd_arg(a[0]))?;
        return chown_node(ctx, f.node().ok_or(Errno::EINVAL)?, a[2], a[3]);
    }
    chown_node(ctx, &*path::resolve(&start_at(ctx, fd_arg(a[0]))?, &path, a[4] & AT_SYMLINK_NOFOLLOW == 0)?, a[2], a[3])
}

/// chown(2).
pub fn sys_chown(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_fchownat(ctx, [AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

/// lchown(2).
pub fn sys_lchown(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_fchownat(ctx, [AT_FDCWD as u64, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW, 0])
}

/// fchown(2).
pub fn sys_fchown(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    chown_node(ctx, f.node().ok_or(Errno::EINVAL)?, a[1], a[2])
}

/// umask(2).
pub fn sys_umask(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mut fs = ctx.process.fs.lock();
    let old = fs.umask;
    fs.umask = (a[0] as u32) & 0o777;
    Ok(u64::from(old))
}

/// truncate(2).
pub fn sys_truncate(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(ctx, a[0])?;
    let node = path::resolve(&ctx.process.start(), &path, true)?;
    if node.kind() == NodeKind::Dir {
        return Err(Errno::EISDIR);
    }
    check_access(ctx, &node, MAY_WRITE)?;
    node.truncate(a[1])?;
    Ok(0)
}

/// ftruncate(2).
pub fn sys_ftruncate(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd_arg(a[0]))?;
    if !f.flags().writable() {
        return Err(Errno::EINVAL);
    }
    f.node().ok_or(Errno::EINVAL)?.truncate(a[1])?;
    Ok(0)
}

/// fallocate(2): mode 0 (allocate, growing the file) and FALLOC_FL_KEEP_SIZE; in-memory
/// files have nothing to reserve, and the other modes (punching holes, ...) are not offered.
pub fn sys_fallocate(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const FALLOC_FL_KEEP_SIZE: u64 = 1;
    let (mode, offset, len) = (a[1], a[2] as i64, a[3] as i64);
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd_arg(a[0]))?;
    if !f.flags().writable() {
        return Err(Errno::EBADF);
    }
    let node = f.node().ok_or(Errno::ESPIPE)?.clone();
    match node.kind() {
        NodeKind::File => {}
        NodeKind::Dir => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    if mode & !FALLOC_FL_KEEP_SIZE != 0 {
        return Err(Errno::ENOTSUP);
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if mode & FALLOC_FL_KEEP_SIZE == 0 && end > node.size() {
        node.truncate(end)?;
    }
    Ok(0)
}

/// The file an xattr call names: a path (following symlinks or not) or, for the f* forms,
/// an open descriptor. Looking it up first gives ENOENT/EBADF before ENOTSUP, as Linux does.
fn xattr_target(ctx: &SyscallCtx, arg: u64, kind: XattrTarget) -> SysResult<()> {
    match kind {
        XattrTarget::Fd => file(ctx, fd_arg(arg)).map(|_| ()),
        XattrTarget::Path { follow } => {
            let path = path_arg(ctx, arg)?;
            path::resolve(&ctx.process.start(), &path, follow).map(|_| ())
        }
    }
}

#[derive(Clone, Copy)]
enum XattrTarget {
    Path { follow: bool },
    Fd,
}

fn xattr_kind(nr_in_family: u64) -> XattrTarget {
    match nr_in_family {
        0 => XattrTarget::Path { follow: true },
        1 => XattrTarget::Path { follow: false },
        _ => XattrTarget::Fd,
    }
}

/// setxattr/getxattr/removexattr and their l*/f* forms: our filesystems keep no extended
/// attributes, and say so with ENOTSUP (EOPNOTSUPP), as Linux 6.1's tmpfs does for user.*.
pub fn sys_xattr_unsupported(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nr = ctx.user.context().syscall_number();
    let family_index = match nr {
        188..=190 => nr - 188,
        191..=193 => nr - 191,
        _ => nr - 197,
    };
    xattr_target(ctx, a[0], xattr_kind(family_index))?;
    Err(Errno::ENOTSUP)
}

/// listxattr/llistxattr/flistxattr: an empty list.
pub fn sys_listxattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let nr = ctx.user.context().syscall_number();
    xattr_target(ctx, a[0], xattr_kind(nr - 194))?;
    Ok(0)
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
    set_owner(&caller(ctx), &node);
    let file: Arc<dyn FileLike> = Arc::new(NodeFile::new(node, OpenFlags::RDWR));
    ctx.process.files.lock().insert(file, a[1] & MFD_CLOEXEC != 0).map(|fd| fd as u64)
}

/// Reads an optional `loff_t *` argument.
fn read_offset(ctx: &SyscallCtx, ptr: u64) -> SysResult<Option<u64>> {
    if ptr == 0 {
        return Ok(None);
    }
    let off = ctx.mem().read_u64(ptr)? as i64;
    if off < 0 { Err(Errno::EINVAL) } else { Ok(Some(off as u64)) }
}

/// copy_file_range(2): between regular files, through the kernel's buffer.
pub fn sys_copy_file_range(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (in_ptr, out_ptr, count, flags) = (a[1], a[3], a[4] as usize, a[5]);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (input, out) = (file(ctx, fd_arg(a[0]))?, file(ctx, fd_arg(a[2]))?);
    if !input.flags().readable() || !out.flags().writable() || out.flags().contains(OpenFlags::APPEND) {
        return Err(Errno::EBADF);
    }
    let regular = |f: &Arc<dyn FileLike>| f.node().is_some_and(|n| n.kind() == NodeKind::File);
    if input.node().is_some_and(|n| n.kind() == NodeKind::Dir) || out.node().is_some_and(|n| n.kind() == NodeKind::Dir) {
        return Err(Errno::EISDIR);
    }
    if !regular(&input) || !regular(&out) {
        return Err(Errno::EINVAL);
    }
    let same = input.node().zip(out.node()).is_some_and(|(x, y)| Arc::ptr_eq(x, y));
    if same {
        // Overlapping ranges of one file are refused, as Linux does.
        let start_in = read_offset(ctx, in_ptr)?.map_or_else(|| input.seek(0, crate::fs::file::SEEK_CUR), Ok)?;
        let start_out = read_offset(ctx, out_ptr)?.map_or_else(|| out.seek(0, crate::fs::file::SEEK_CUR), Ok)?;
        if start_in < start_out.saturating_add(count as u64) && start_out < start_in.saturating_add(count as u64) {
            return Err(Errno::EINVAL);
        }
    }
    copy_at_user_offsets(ctx, &input, in_ptr, &out, out_ptr, count)
}

/// The common tail of copy_file_range and splice: each side at its `loff_t *` if given
/// (updated afterwards), else at its file position.
fn copy_at_user_offsets(ctx: &SyscallCtx, input: &Arc<dyn FileLike>, in_ptr: u64, out: &Arc<dyn FileLike>, out_ptr: u64, count: usize) -> SysResult<u64> {
    let (mut in_off, mut out_off) = (read_offset(ctx, in_ptr)?, read_offset(ctx, out_ptr)?);
    let done = copy_between(input, &mut in_off, out, &mut out_off, count)?;
    let mem = ctx.mem();
    if let Some(off) = in_off.filter(|_| in_ptr != 0) {
        mem.write_u64(in_ptr, off)?;
    }
    if let Some(off) = out_off.filter(|_| out_ptr != 0) {
        mem.write_u64(out_ptr, off)?;
    }
    Ok(done as u64)
}

/// splice(2): one end must be a pipe, and a pipe end takes no offset (ESPIPE). Data is copied
/// through the kernel rather than moved page by page.
pub fn sys_splice(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const SPLICE_F_ALL: u64 = 0xf;
    let (in_ptr, out_ptr, count, flags) = (a[1], a[3], a[4] as usize, a[5]);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (input, out) = (file(ctx, fd_arg(a[0]))?, file(ctx, fd_arg(a[2]))?);
    if !input.flags().readable() || !out.flags().writable() {
        return Err(Errno::EBADF);
    }
    let is_pipe = |f: &Arc<dyn FileLike>| f.pipe_size().is_ok();
    let (in_pipe, out_pipe) = (is_pipe(&input), is_pipe(&out));
    if !in_pipe && !out_pipe {
        return Err(Errno::EINVAL);
    }
    if (in_pipe && in_ptr != 0) || (out_pipe && out_ptr != 0) {
        return Err(Errno::ESPIPE);
    }
    if out.flags().contains(OpenFlags::APPEND) && !out_pipe {
        return Err(Errno::EINVAL);
    }
    copy_at_user_offsets(ctx, &input, in_ptr, &out, out_ptr, count)
}

/// flock(2): on files opened through the VFS (their open file description holds the lock).
pub fn sys_flock(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::fs::flock::{Request, flock};
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let f = file(ctx, fd_arg(a[0]))?;
    let request = match a[1] & !LOCK_NB {
        LOCK_SH => Request::Shared,
        LOCK_EX => Request::Exclusive,
        LOCK_UN => Request::Unlock,
        _ => return Err(Errno::EINVAL),
    };
    let node = f.node().ok_or(Errno::EINVAL)?;
    // The description's identity: the address of the open file, shared by dup and fork.
    let holder = Arc::as_ptr(&f) as *const u8 as usize;
    flock(node.metadata().ino, holder, request, a[1] & LOCK_NB != 0)?;
    Ok(0)
}

/// close_range(2). CLOSE_RANGE_UNSHARE is accepted as is: descriptor tables are never
/// shared between processes here.
pub fn sys_close_range(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const CLOSE_RANGE_UNSHARE: u64 = 2;
    const CLOSE_RANGE_CLOEXEC: u64 = 4;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let closed = ctx.process.files.lock().close_range(first as usize, last as usize, flags & CLOSE_RANGE_CLOEXEC != 0);
    drop(closed);
    Ok(0)
}

/// pipe2(2).
pub fn sys_pipe2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = OpenFlags::from_bits_truncate(a[1] as u32);
    if a[1] & !u64::from((OpenFlags::CLOEXEC | OpenFlags::NONBLOCK | OpenFlags::from_bits_retain(0o40000)).bits()) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = pipe::new_pipe(flags);
    let cloexec = flags.contains(OpenFlags::CLOEXEC);
    let (rfd, wfd) = {
        let mut files = ctx.process.files.lock();
        let rfd = files.insert(r, cloexec)?;
        match files.insert(w, cloexec) {
            Ok(wfd) => (rfd, wfd),
            Err(e) => {
                let _ = files.remove(rfd);
                return Err(e);
            }
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&rfd.to_le_bytes());
    out[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = ctx.mem().write(a[0], &out) {
        let mut files = ctx.process.files.lock();
        let _ = files.remove(rfd);
        let _ = files.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

/// pipe(2).
pub fn sys_pipe(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_pipe2(ctx, [a[0], 0, 0, 0, 0, 0])
}

/// sync(2), fsync(2), fdatasync(2): ramfs is always in sync.
pub fn sys_sync(_ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(0)
}

/// fsync(2).
pub fn sys_fsync(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    file(ctx, fd_arg(a[0]))?;
    Ok(0)
}

/// utimensat(2).
pub fn sys_utimensat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let node = if a[1] == 0 {
        file(ctx, fd_arg(a[0]))?.node().ok_or(Errno::EINVAL)?.clone()
    } else {
        let path = path_arg(ctx, a[1])?;
        path::resolve(&start_at(ctx, fd_arg(a[0]))?, &path, a[3] & AT_SYMLINK_NOFOLLOW == 0)?
    };
    let now = crate::time::realtime();
    let mut times = [now, now];
    let mut omit = [false, false];
    if a[2] != 0 {
        let mem = ctx.mem();
        for (i, t) in times.iter_mut().enumerate() {
            let sec = mem.read_u64(a[2] + 16 * i as u64)? as i64;
            let nsec = mem.read_u64(a[2] + 16 * i as u64 + 8)? as i64;
            match nsec {
                UTIME_NOW => {}
                UTIME_OMIT => omit[i] = true,
                0..=999_999_999 => *t = crate::fs::node::Timespec { sec, nsec },
                _ => return Err(Errno::EINVAL),
            }
        }
    }
    attr::set_times(&node, (!omit[0]).then_some(times[0]), (!omit[1]).then_some(times[1]));
    Ok(0)
}

/// mount(2): devtmpfs fills the target with the device nodes; tmpfs and ramfs are what every
/// directory already is. Other filesystems do not exist yet (ENODEV).
pub fn sys_mount(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let target = path_arg(ctx, a[1])?;
    let fstype = if a[2] != 0 { ctx.mem().read_cstring(a[2], 64)? } else { String::new() };
    let dir = path::resolve(&ctx.process.start(), &target, true)?;
    // Mounting needs CAP_SYS_ADMIN (root here), checked after the path, as Linux does.
    require_mount_privilege(ctx)?;
    if dir.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    if a[3] & (MS_REMOUNT | MS_BIND) != 0 {
        return Ok(0);
    }
    let source = if a[0] != 0 { ctx.mem().read_cstring(a[0], PATH_MAX)? } else { String::from("none") };
    crate::fs::mount::mount_new(dir, &fstype, &source, &target)?;
    Ok(0)
}

/// umount2(2).
pub fn sys_umount2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let target = path_arg(ctx, a[0])?;
    let root = path::resolve(&ctx.process.start(), &target, true)?;
    require_mount_privilege(ctx)?;
    crate::fs::mount::umount(&root)?;
    Ok(0)
}

/// mount(2) and umount2(2) need CAP_SYS_ADMIN, which only root holds here: anyone else gets
/// EPERM (before this check existed, trinity running as nobody unmounted /proc).
fn require_mount_privilege(ctx: &SyscallCtx) -> SysResult<()> {
    if ctx.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// sendfile(2).
pub fn sys_sendfile(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (out_fd, in_fd, offset_ptr, count) = (fd_arg(a[0]), fd_arg(a[1]), a[2], a[3] as usize);
    let out = file(ctx, out_fd)?;
    let input = file(ctx, in_fd)?;
    if !input.flags().readable() || !out.flags().writable() {
        return Err(Errno::EBADF);
    }
    let mem = ctx.mem();
    let mut offset = if offset_ptr != 0 {
        let o = mem.read_u64(offset_ptr)? as i64;
        if o < 0 {
            return Err(Errno::EINVAL);
        }
        Some(o as u64)
    } else {
        None
    };
    let mut buf = alloc::vec![0u8; count.min(IO_CHUNK)];
    let mut done = 0usize;
    while done < count {
        let want = (count - done).min(buf.len());
        let n = match offset {
            Some(off) => input.read_at(off, &mut buf[..want]),
            None => input.read(&mut buf[..want]),
        };
        let n = match n {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        let w = match out.write(&buf[..n]) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if let Some(off) = offset.as_mut() {
            *off += w as u64;
        }
        if w < n {
            break;
        }
    }
    if let Some(off) = offset {
        mem.write_u64(offset_ptr, off)?;
    }
    Ok(done as u64)
}

/// eventfd2(2).
pub fn sys_eventfd2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const EFD_NONBLOCK: u64 = 0o4000;
    const EFD_CLOEXEC: u64 = 0o2000000;
    let flags = a[1];
    if flags & !(EFD_NONBLOCK | EFD_CLOEXEC | u64::from(crate::fs::eventfd::EFD_SEMAPHORE)) != 0 {
        return Err(Errno::EINVAL);
    }
    let file_flags = if flags & EFD_NONBLOCK != 0 { OpenFlags::NONBLOCK } else { OpenFlags::empty() };
    let efd = crate::fs::eventfd::EventFd::new(a[0] as u32, flags & u64::from(crate::fs::eventfd::EFD_SEMAPHORE) != 0, file_flags);
    ctx.process.files.lock().insert(efd, flags & EFD_CLOEXEC != 0).map(|fd| fd as u64)
}

/// eventfd(2).
pub fn sys_eventfd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_eventfd2(ctx, [a[0], 0, 0, 0, 0, 0])
}

/// epoll_create1(2).
pub fn sys_epoll_create1(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const EPOLL_CLOEXEC: u64 = 0o2000000;
    if a[0] & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let ep = crate::fs::epoll::Epoll::new(OpenFlags::empty());
    ctx.process.files.lock().insert(ep, a[0] != 0).map(|fd| fd as u64)
}

/// epoll_create(2).
pub fn sys_epoll_create(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    sys_epoll_create1(ctx, [0; 6])
}

/// Returns the file behind `epfd`, which must be an epoll instance.
fn epoll_file(ctx: &SyscallCtx, epfd: i32) -> SysResult<Arc<dyn FileLike>> {
    let f = file(ctx, epfd)?;
    if f.as_epoll().is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

/// epoll_ctl(2).
pub fn sys_epoll_ctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const ADD: u64 = 1;
    const DEL: u64 = 2;
    const MOD: u64 = 3;
    use crate::fs::epoll::{EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLWAKEUP};
    let (epfd, op, fd, event) = (fd_arg(a[0]), a[1], fd_arg(a[2]), a[3]);
    let ep_file = epoll_file(ctx, epfd)?;
    let ep = ep_file.as_epoll().ok_or(Errno::EINVAL)?;
    let target = file(ctx, fd)?;
    if fd == epfd {
        return Err(Errno::EINVAL);
    }
    if target.node().is_some_and(|n| n.kind() == NodeKind::File || n.kind() == NodeKind::Dir) {
        return Err(Errno::EPERM); // regular files and directories are always ready: not pollable
    }
    let read_event = |ctx: &SyscallCtx| -> SysResult<(u32, u64)> {
        let mut b = [0u8; 12];
        ctx.mem().read(event, &mut b)?;
        Ok((u32::from_le_bytes(b[0..4].try_into().unwrap_or_default()), u64::from_le_bytes(b[4..12].try_into().unwrap_or_default())))
    };
    match op {
        ADD => {
            let (events, data) = read_event(ctx)?;
            // EPOLLEXCLUSIVE takes only the plain readiness bits, and no epoll target.
            const EXCLUSIVE_OK: u32 = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
            if events & EPOLLEXCLUSIVE != 0 && (events & !EXCLUSIVE_OK != 0 || target.as_epoll().is_some()) {
                return Err(Errno::EINVAL);
            }
            if target.as_epoll().is_some_and(|inner| inner.reaches(ep)) {
                return Err(Errno::ELOOP);
            }
            ep.add(fd, &target, events, data)?;
        }
        MOD => {
            let (events, data) = read_event(ctx)?;
            // An exclusive interest cannot be modified, nor made exclusive by MOD.
            if events & EPOLLEXCLUSIVE != 0 || ep.is_exclusive(fd) {
                return Err(Errno::EINVAL);
            }
            ep.modify(fd, events, data)?;
        }
        DEL => ep.delete(fd)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// epoll_wait(2).
pub fn sys_epoll_wait(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (epfd, events, max, timeout) = (fd_arg(a[0]), a[1], a[2] as i32, a[3] as i32);
    if max <= 0 || max > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    // Linux checks the whole array before waiting, even if nothing is ever written to it.
    crate::user_mem::range_ok(events, max as u64 * 12)?;
    let ep_file = epoll_file(ctx, epfd)?;
    let ep = ep_file.as_epoll().ok_or(Errno::EINVAL)?;
    let deadline = (timeout >= 0).then(|| crate::time::monotonic_ns() + timeout as u64 * 1_000_000);
    let process = ctx.process.clone();
    let ready = ostd::task::wait_ticks_until(|| {
        let r = ep.collect_ready(max as usize);
        if !r.is_empty() || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Ok(r))
        } else if process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })?;
    let mut out = alloc::vec::Vec::with_capacity(ready.len() * 12);
    for (ev, data) in &ready {
        out.extend_from_slice(&ev.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
    }
    ctx.mem().write(events, &out)?;
    Ok(ready.len() as u64)
}

/// epoll_pwait(2) (the signal mask argument is not applied).
pub fn sys_epoll_pwait(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_epoll_wait(ctx, a)
}

/// statfs(2).
pub fn sys_statfs(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[0])?;
    let node = path::resolve(&ctx.process.start(), &path, true)?;
    ctx.mem().write(a[1], &statfs_bytes(&node))?;
    Ok(0)
}

/// fstatfs(2).
pub fn sys_fstatfs(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let bytes = match f.node() {
        Some(node) => statfs_bytes(node),
        None => statfs_bytes(&Node::new_dir(0)),
    };
    ctx.mem().write(a[1], &bytes)?;
    Ok(0)
}

/// fadvise64(2): advice only; checks its arguments.
pub fn sys_fadvise64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if f.node().is_none_or(|n| n.kind() == NodeKind::Fifo) && f.node().is_none() {
        return Err(Errno::ESPIPE);
    }
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
