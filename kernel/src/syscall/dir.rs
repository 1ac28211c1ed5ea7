//! Directory and name syscalls: getdents, the working directory, mknod/mkdir/symlink,
//! unlink/rmdir, link, rename, readlink.

use super::SyscallCtx;
use super::fs::{
    AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, caller, check_access, fd_arg, file, make_node,
    path_arg, start_at,
};
use crate::error::{Errno, SysResult};
use crate::fs::path;
use crate::fs::perm::MAY_EXEC;
use crate::fs::{NodeKind, entries};

/// getdents64(2).
pub fn sys_getdents64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let records = f.getdents(a[2] as usize)?;
    ctx.mem().write(a[1], &records)?;
    Ok(records.len() as u64)
}

/// getcwd(2).
pub fn sys_getcwd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let fs = ctx.process.fs_context();
    // A working directory the root cannot reach (left outside by chroot) is shown from the
    // machine's root after "(unreachable)", as Linux does (libc then reports ENOENT).
    let mut p = if crate::fs::mount::is_below(&fs.cwd, &fs.root) {
        path::absolute_path(&fs.root, &fs.cwd).into_bytes()
    } else {
        let top = crate::fs::mount::cross(crate::fs::root());
        let mut p = b"(unreachable)".to_vec();
        p.extend_from_slice(path::absolute_path(&top, &fs.cwd).as_bytes());
        p
    };
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
    ctx.process.set_cwd(node);
    Ok(0)
}

/// chroot(2): as Linux checks it, the directory first (ENOENT, ENOTDIR, EACCES without
/// search permission), then the privilege (EPERM unless root).
pub fn sys_chroot(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let path = path_arg(ctx, a[0])?;
    let node = path::resolve(&ctx.process.start(), &path, true)?;
    if node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    check_access(ctx, &node, MAY_EXEC)?;
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    ctx.process.set_root(node);
    Ok(0)
}

/// fchdir(2).
pub fn sys_fchdir(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let node = f.node().ok_or(Errno::ENOTDIR)?.clone();
    if node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    ctx.process.set_cwd(node);
    Ok(0)
}

fn mknod(
    ctx: &SyscallCtx,
    dirfd: i32,
    path_addr: u64,
    kind: NodeKind,
    mode: u64,
    target: &str,
) -> SysResult<u64> {
    let path = path_arg(ctx, path_addr)?;
    make_node(ctx, &start_at(ctx, dirfd, &path)?, &path, kind, mode, target).map(|_| 0)
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
        0o060000 => NodeKind::BlockDev(a[3] as u32),
        0o140000 => NodeKind::Socket,
        // Directories are mkdir's (Linux's may_mknod).
        0o040000 => return Err(Errno::EPERM),
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
    entries::unlink(&caller(ctx), &start_at(ctx, dirfd, &path)?, &path, dir)?;
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

fn link(
    ctx: &SyscallCtx,
    olddirfd: i32,
    old: u64,
    newdirfd: i32,
    new: u64,
    flags: u64,
) -> SysResult<u64> {
    let old_path = path_arg(ctx, old)?;
    let new_path = path_arg(ctx, new)?;
    let node = entries::link_source(
        &start_at(ctx, olddirfd, &old_path)?,
        &old_path,
        flags & AT_SYMLINK_FOLLOW != 0,
    )?;
    entries::link(&caller(ctx), node, &start_at(ctx, newdirfd, &new_path)?, &new_path)?;
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

fn rename(
    ctx: &SyscallCtx,
    olddirfd: i32,
    old: u64,
    newdirfd: i32,
    new: u64,
    flags: u64,
) -> SysResult<u64> {
    const RENAME_NOREPLACE: u64 = 1;
    const RENAME_EXCHANGE: u64 = 2;
    // RENAME_WHITEOUT (overlay filesystems' marker) is not supported: EINVAL, as ext2 gives.
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
        || flags & RENAME_EXCHANGE != 0 && flags & RENAME_NOREPLACE != 0
    {
        return Err(Errno::EINVAL);
    }
    let old_path = path_arg(ctx, old)?;
    let new_path = path_arg(ctx, new)?;
    let (old_dir, old_name) =
        entries::parent_of_entry(&start_at(ctx, olddirfd, &old_path)?, &old_path)?;
    let (new_dir, new_name) =
        entries::parent_of_entry(&start_at(ctx, newdirfd, &new_path)?, &new_path)?;
    if flags & RENAME_EXCHANGE != 0 {
        entries::exchange(&caller(ctx), (&old_dir, &old_name), (&new_dir, &new_name))?;
        return Ok(0);
    }
    entries::rename(
        &caller(ctx),
        &old_dir,
        &old_name,
        &new_dir,
        &new_name,
        flags & RENAME_NOREPLACE != 0,
    )?;
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
        ctx.process.exe()
    } else {
        path::resolve(&start_at(ctx, dirfd, &path)?, &path, false)?.readlink()?
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
