//! Argument decoding shared by the file syscalls ([`fd`](super::fd), [`file_io`](super::file_io),
//! [`file_meta`](super::file_meta), [`dir`](super::dir), [`mount`](super::mount),
//! [`epoll`](super::epoll)) and by exec and sockets: descriptors, paths, `*at` directory
//! fds, iovec arrays, and the calling process as the filesystem's permission rules see it.

use alloc::string::String;
use alloc::sync::Arc;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::path::{PATH_MAX, Start};
use crate::fs::{FileLike, Node, NodeKind};
use crate::process::creds::FsCaller;

/// `dirfd` meaning "the working directory".
pub const AT_FDCWD: i32 = -100;
pub(super) const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub(super) const AT_REMOVEDIR: u64 = 0x200;
pub(super) const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub(super) const AT_EMPTY_PATH: u64 = 0x1000;

pub(super) fn fd_arg(v: u64) -> i32 {
    v as i32
}

/// Reads a path argument.
pub fn path_arg(ctx: &SyscallCtx, addr: u64) -> SysResult<String> {
    ctx.mem().read_cstring(addr, PATH_MAX)
}

/// Returns where a `*at` call resolves `path` from.
pub fn start_at(ctx: &SyscallCtx, dirfd: i32, path: &str) -> SysResult<Start> {
    start_from(ctx, ctx.process.start(), dirfd, path)
}

/// Returns where a `*at` call resolves `path` from, given the start at the working
/// directory: `dirfd` matters only to a relative path (an absolute one ignores it, even a
/// bad one, as Linux's path_init does).
fn start_from(ctx: &SyscallCtx, mut start: Start, dirfd: i32, path: &str) -> SysResult<Start> {
    if dirfd != AT_FDCWD && !path.starts_with('/') {
        let file = ctx.process.file(dirfd)?;
        let node = file.node().ok_or(Errno::ENOTDIR)?.clone();
        if node.kind() != NodeKind::Dir {
            return Err(Errno::ENOTDIR);
        }
        start.dir = node;
    }
    Ok(start)
}

/// The node a `*at` call names: with an empty `path` and AT_EMPTY_PATH in `flags`, the
/// one `dirfd` is open on (the working directory for AT_FDCWD; `no_node` for a descriptor
/// without one, whose errno differs between calls on Linux); otherwise `path` resolved
/// from `dirfd`, a final symlink followed unless AT_SYMLINK_NOFOLLOW.
pub fn node_at(
    ctx: &SyscallCtx,
    dirfd: i32,
    path: &str,
    flags: u64,
    no_node: Errno,
) -> SysResult<alloc::sync::Arc<crate::fs::Node>> {
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(ctx.process.start().dir);
        }
        return ctx.process.file(dirfd)?.node().cloned().ok_or(no_node);
    }
    let start = start_at(ctx, dirfd, path)?;
    crate::fs::path::resolve(&start, path, flags & AT_SYMLINK_NOFOLLOW == 0)
}

/// Returns the caller of this syscall, for the filesystem's permission rules: its IDs,
/// supplementary groups, root, working directory and umask, read together.
pub fn caller(ctx: &SyscallCtx) -> FsCaller {
    ctx.process.fs_caller()
}

/// Returns the caller (as [`caller`]) and where its `*at` call resolves from: the
/// working directory of that same snapshot, or `dirfd`.
pub fn caller_at(ctx: &SyscallCtx, dirfd: i32, path: &str) -> SysResult<(FsCaller, Start)> {
    let caller = caller(ctx);
    let start = start_from(ctx, caller.start(), dirfd, path)?;
    Ok((caller, start))
}

/// Checks the caller's access to `node` (EACCES if denied).
pub fn check_access(ctx: &SyscallCtx, node: &Node, mask: u32) -> SysResult<()> {
    crate::fs::perm::check_access(&caller(ctx), node, mask)
}

/// Creates a node at `path` owned by the caller, with `mode` less the umask (mknod, mkdir,
/// symlink, and bind of a Unix socket).
pub fn make_node(
    ctx: &SyscallCtx,
    start: &Start,
    path: &str,
    kind: NodeKind,
    mode: u64,
    target: &str,
) -> SysResult<Arc<Node>> {
    crate::fs::entries::make_node(&caller(ctx), start, path, kind, mode, target)
}

/// Returns the open file behind descriptor `fd`.
pub(super) fn file(ctx: &SyscallCtx, fd: i32) -> SysResult<Arc<dyn FileLike>> {
    ctx.process.file(fd)
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
