//! inotify_init, inotify_init1, inotify_add_watch and inotify_rm_watch: the argument
//! side, checked in the order Linux's fs/notify/inotify/inotify_user.c checks it. What a
//! watch sees is `crate::fs::notify`'s.

use super::SyscallCtx;
use super::fs::{check_access, fd_arg, file, path_arg};
use crate::error::SysResult;
use crate::fs::notify::Inotify;
use crate::fs::notify::event::IN_DONT_FOLLOW;
use crate::fs::notify::inotify::{
    IN_CLOEXEC, check_only_dir, check_watch_mask, check_watch_mask_flags,
};
use crate::fs::path;
use crate::fs::perm::MAY_READ;

/// inotify_init1(2).
pub fn sys_inotify_init1(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[0] as u32;
    let instance = Inotify::new(flags, ctx.process.creds().euid)?;
    ctx.process.install_file(instance, flags & IN_CLOEXEC != 0).map(|fd| fd as u64)
}

/// inotify_init(2).
pub fn sys_inotify_init(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    sys_inotify_init1(ctx, [0; 6])
}

/// inotify_add_watch(2).
pub fn sys_inotify_add_watch(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mask = a[2] as u32;
    check_watch_mask(mask)?;
    let instance_file = file(ctx, fd_arg(a[0]))?;
    check_watch_mask_flags(mask)?;
    let instance = Inotify::of(&*instance_file)?;
    let path = path_arg(ctx, a[1])?;
    let node = path::resolve(&ctx.process.start(), &path, mask & IN_DONT_FOLLOW == 0)?;
    check_only_dir(&node, mask)?;
    // Only a reader of the node may watch it.
    check_access(ctx, &node, MAY_READ)?;
    instance.add_watch(&node, mask).map(|wd| wd as u64)
}

/// inotify_rm_watch(2).
pub fn sys_inotify_rm_watch(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let instance_file = file(ctx, fd_arg(a[0]))?;
    Inotify::of(&*instance_file)?.remove_watch(a[1] as i32)?;
    Ok(0)
}
