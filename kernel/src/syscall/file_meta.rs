//! Metadata syscalls: the stat family, access, chmod and chown, umask, truncation and
//! fallocate, timestamps, extended attributes (none), and statfs.

use super::SyscallCtx;
use super::fs::{
    AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, caller, check_access, fd_arg, file, node_at,
    path_arg, start_at,
};
use crate::error::{Errno, SysResult};
use crate::fs::file::Stat;
use crate::fs::path;
use crate::fs::perm::MAY_WRITE;
use crate::fs::stat::statfs_bytes;
use crate::fs::{Node, NodeKind, attr};

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
        return Ok(if dirfd == AT_FDCWD {
            Stat::of_node(&ctx.process.start().dir)
        } else {
            file(ctx, dirfd)?.stat()
        });
    }
    let node =
        path::resolve(&start_at(ctx, dirfd, &path)?, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
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
    let node =
        path::resolve(&start_at(ctx, dirfd, &path)?, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
    const AT_EACCESS: u64 = 0x200;
    const W_OK: u64 = 2;
    const X_OK: u64 = 1;
    // A read-only mount refuses W_OK for what it would refuse to change (devices, fifos
    // and sockets stay writable), before the permission bits are looked at; a noexec one
    // refuses X_OK on regular files (Linux's sb_permission and do_faccessat).
    if mode & X_OK != 0 && node.kind() == NodeKind::File {
        crate::fs::mount::require_executable(&node)?;
    }
    if mode & W_OK != 0 && matches!(node.kind(), NodeKind::File | NodeKind::Dir | NodeKind::Symlink)
    {
        crate::fs::mount::require_writable(&node)?;
    }
    let identity = ctx.process.identity();
    let ok = if flags & AT_EACCESS != 0 {
        identity.may(&node, mode as u32)
    } else {
        identity.may_real(&node, mode as u32)
    };
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
    chmod_node(ctx, &*path::resolve(&start_at(ctx, fd_arg(a[0]), &path)?, &path, true)?, a[2])
}

fn chown_node(ctx: &SyscallCtx, node: &Node, uid: u64, gid: u64) -> SysResult<u64> {
    attr::chown(&caller(ctx), node, uid, gid).map(|()| 0)
}

/// fchownat(2).
pub fn sys_fchownat(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[1])?;
    let node = node_at(ctx, fd_arg(a[0]), &path, a[4], Errno::EINVAL)?;
    chown_node(ctx, &node, a[2], a[3])
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
    Ok(u64::from(ctx.process.set_umask(a[0] as u32)))
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
    if node.kind() != NodeKind::File {
        return Err(Errno::EINVAL);
    }
    crate::fs::mount::require_writable(&node)?;
    check_access(ctx, &node, MAY_WRITE)?;
    crate::fs::lease::break_for_open(&node, crate::fs::OpenFlags::WRONLY)?;
    truncate(&node, a[1])
}

/// Truncates a regular file; growing it past RLIMIT_FSIZE fails (EFBIG and SIGXFSZ).
fn truncate(node: &Node, size: u64) -> SysResult<u64> {
    if node.kind() == NodeKind::File && size > node.size() {
        crate::process::limits::check_file_growth(size)?;
    }
    node.truncate(size)?;
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
    truncate(f.node().ok_or(Errno::EINVAL)?, a[1])
}

/// fallocate(2): mode 0 (allocate, growing the file), FALLOC_FL_KEEP_SIZE and
/// FALLOC_FL_PUNCH_HOLE (zeroes, see `Node::punch_hole`) on in-memory files, which have
/// nothing to reserve; the other modes are EOPNOTSUPP, as tmpfs answers.
pub fn sys_fallocate(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const FALLOC_FL_KEEP_SIZE: u64 = 0x01;
    const FALLOC_FL_PUNCH_HOLE: u64 = 0x02;
    const FALLOC_FL_COLLAPSE_RANGE: u64 = 0x08;
    const FALLOC_FL_ZERO_RANGE: u64 = 0x10;
    const FALLOC_FL_INSERT_RANGE: u64 = 0x20;
    const FALLOC_FL_UNSHARE_RANGE: u64 = 0x40;
    const SUPPORTED_MASK: u64 = 0x7f;
    let (mode, offset, len) = (a[1], a[2] as i64, a[3] as i64);
    // Linux's vfs_fallocate, in its order.
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if mode & !SUPPORTED_MASK != 0
        || mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)
            == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE
        || (mode & FALLOC_FL_PUNCH_HOLE != 0 && mode & FALLOC_FL_KEEP_SIZE == 0)
    {
        return Err(Errno::ENOTSUP);
    }
    let alone = |flag: u64, allowed: u64| mode & flag != 0 && mode & !(flag | allowed) != 0;
    if alone(FALLOC_FL_COLLAPSE_RANGE, 0)
        || alone(FALLOC_FL_INSERT_RANGE, 0)
        || alone(FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_KEEP_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd_arg(a[0]))?;
    if !f.flags().writable() {
        return Err(Errno::EBADF);
    }
    let node = f.node().ok_or(Errno::ESPIPE)?.clone();
    match node.kind() {
        NodeKind::File => {}
        NodeKind::Fifo => return Err(Errno::ESPIPE),
        NodeKind::Dir => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    // ext2 has no fallocate in Linux, and tmpfs (shmem_fallocate) only KEEP_SIZE and
    // PUNCH_HOLE: EOPNOTSUPP once every other check passed.
    if node.disk().is_some() || mode & !(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE) != 0 {
        return Err(Errno::ENOTSUP);
    }
    if mode & FALLOC_FL_PUNCH_HOLE != 0 {
        node.punch_hole(offset as u64, len as u64)?;
    } else if mode & FALLOC_FL_KEEP_SIZE == 0 && end > node.size() {
        node.truncate(end)?;
    }
    Ok(0)
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
        None => {
            // Files with no node live on Linux's internal filesystems: pipefs, sockfs, or
            // the anonymous-inode one (eventfd, epoll, timerfd...).
            const PIPEFS_MAGIC: u32 = 0x5049_5045;
            const SOCKFS_MAGIC: u32 = 0x534f_434b;
            const ANON_INODE_FS_MAGIC: u32 = 0x0904_1934;
            let magic = if f.pipe_size().is_ok() {
                PIPEFS_MAGIC
            } else if f.clone().into_socket().is_some() {
                SOCKFS_MAGIC
            } else {
                ANON_INODE_FS_MAGIC
            };
            crate::fs::stat::internal_statfs_bytes(magic)
        }
    };
    ctx.mem().write(a[1], &bytes)?;
    Ok(0)
}
