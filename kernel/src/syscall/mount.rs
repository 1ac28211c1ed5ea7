//! mount(2), umount2(2) and pivot_root(2).

use alloc::string::String;

use super::SyscallCtx;
use super::fs::path_arg;
use crate::error::{Errno, SysResult};
use crate::fs::NodeKind;
use crate::fs::mount::{self, UmountMode};
use crate::fs::mount_flags::{MountFlags, ms};
use crate::fs::path::{self, PATH_MAX};

/// The most option text mount(2) reads (Linux copies one page).
const MAX_DATA: usize = 4095;

/// mount(2): a new filesystem (tmpfs with its options, ext2 from a block device, devtmpfs,
/// sysfs, ...), MS_REMOUNT to change a mount's flags, MS_BIND (MS_REC or not) to show a
/// directory in a second place, MS_MOVE to move a mount, and the propagation types (every
/// mount stays private).
pub fn sys_mount(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let flags = a[3];
    let target = path_arg(ctx, a[1])?;
    let fstype = if a[2] != 0 { ctx.mem().read_cstring(a[2], 64)? } else { String::new() };
    let data = if a[4] != 0 { ctx.mem().read_cstring(a[4], MAX_DATA)? } else { String::new() };
    let start = ctx.process.start();
    let dir = path::resolve(&start, &target, true)?;
    // Mounting needs CAP_SYS_ADMIN (root here), checked after the path, as Linux does.
    require_mount_privilege(ctx)?;
    // The table keeps where the mount is, not how the caller spelled it ("mnt//x/").
    let target = path::absolute_path(&start.root, &dir);
    if flags & ms::REMOUNT != 0 {
        // Only a mount's root can be remounted (EINVAL elsewhere, as Linux's do_remount).
        mount::remount(&dir, flags, flags & ms::BIND != 0, &data)?;
        return Ok(0);
    }
    if flags & ms::BIND == 0 && flags & ms::PROPAGATION != 0 {
        // Exactly one propagation type (MS_REC and MS_SILENT aside), on a mount's root.
        // Every mount here is private and stays so: there is nothing to propagate to.
        let kind = flags & !(ms::REC | ms::SILENT);
        if kind & !ms::PROPAGATION != 0 || !kind.is_power_of_two() {
            return Err(Errno::EINVAL);
        }
        if !mount::is_mounted_root(&dir) {
            return Err(Errno::EINVAL);
        }
        return Ok(0);
    }
    if flags & ms::MOVE != 0 {
        let source =
            if a[0] != 0 { ctx.mem().read_cstring(a[0], PATH_MAX)? } else { String::new() };
        let from = path::resolve(&ctx.process.start(), &source, true)?;
        if from.kind() != dir.kind() {
            return Err(Errno::ENOTDIR);
        }
        mount::move_mount(&from, dir, &target)?;
        return Ok(0);
    }
    if flags & ms::BIND != 0 {
        let source =
            if a[0] != 0 { ctx.mem().read_cstring(a[0], PATH_MAX)? } else { String::new() };
        let from = path::resolve(&ctx.process.start(), &source, true)?;
        if from.kind() != NodeKind::Dir || dir.kind() != NodeKind::Dir {
            return Err(Errno::ENOTDIR);
        }
        mount::bind(from, dir, &target)?;
        return Ok(0);
    }
    if dir.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    if fstype.is_empty() {
        return Err(Errno::EINVAL);
    }
    let source =
        if a[0] != 0 { ctx.mem().read_cstring(a[0], PATH_MAX)? } else { String::from("none") };
    let mount_flags = MountFlags::from_ms(flags);
    if mount::is_disk_filesystem(&fstype) {
        if a[0] == 0 {
            return Err(Errno::EINVAL);
        }
        let device = path::resolve(&ctx.process.start(), &source, true)?;
        // A device node on a nodev mount is no device to mount from (Linux's lookup_bdev
        // then fails with EACCES).
        if mount::flags_of(&device).nodev {
            return Err(Errno::EACCES);
        }
        mount::mount_disk(dir, &fstype, &device, mount_flags, &source, &target)?;
        return Ok(0);
    }
    mount::mount_new_with(dir, &fstype, &source, &target, mount_flags, &data)?;
    Ok(0)
}

/// umount2(2): MNT_DETACH unmounts at once whatever still uses the mount; MNT_FORCE changes
/// nothing for the filesystems here (none has an umount_begin), as on Linux for tmpfs.
pub fn sys_umount2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MNT_FORCE: u64 = 1;
    const MNT_DETACH: u64 = 2;
    const MNT_EXPIRE: u64 = 4;
    const UMOUNT_NOFOLLOW: u64 = 8;
    let flags = a[1];
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
        return Err(Errno::EINVAL);
    }
    let target = path_arg(ctx, a[0])?;
    let root = path::resolve(&ctx.process.start(), &target, flags & UMOUNT_NOFOLLOW == 0)?;
    require_mount_privilege(ctx)?;
    if flags & MNT_EXPIRE != 0 {
        // The first MNT_EXPIRE only marks the mount (EAGAIN); nothing expires here.
        mount::mountpoint_of(&root).ok_or(Errno::EINVAL)?;
        return Err(Errno::EAGAIN);
    }
    mount::umount(&root, UmountMode { lazy: flags & MNT_DETACH != 0 })?;
    Ok(0)
}

/// mount(2) and umount2(2) need CAP_SYS_ADMIN, which only root holds here: anyone else gets
/// EPERM (before this check existed, trinity running as nobody unmounted /proc).
fn require_mount_privilege(ctx: &SyscallCtx) -> SysResult<()> {
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// pivot_root(2): the mount at `new_root` becomes the caller's root (and that of every
/// process of its mount namespace whose root was the old one, working directories too, as
/// Linux's chroot_fs_refs), and the old root moves to `put_old`.
pub fn sys_pivot_root(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    require_mount_privilege(ctx)?;
    let start = ctx.process.start();
    let new_path = path_arg(ctx, a[0])?;
    let new = path::resolve(&start, &new_path, true)?;
    if new.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    let old_path = path_arg(ctx, a[1])?;
    let put_old = path::resolve(&start, &old_path, true)?;
    if put_old.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    let root = ctx.process.fs_context().root;
    mount::pivot_root(&root, &new, &put_old)?;
    let namespace = ctx.process.mount_namespace();
    for p in crate::process::registry::all() {
        if !alloc::sync::Arc::ptr_eq(&p.mount_namespace(), &namespace) {
            continue;
        }
        let fs = p.fs_context();
        if alloc::sync::Arc::ptr_eq(&fs.root, &root) {
            p.set_root(new.clone());
        }
        if alloc::sync::Arc::ptr_eq(&fs.cwd, &root) {
            p.set_cwd(new.clone());
        }
    }
    Ok(0)
}
