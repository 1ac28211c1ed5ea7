//! mount(2) and umount2(2).

use alloc::string::String;

use super::SyscallCtx;
use super::fs::path_arg;
use crate::error::{Errno, SysResult};
use crate::fs::NodeKind;
use crate::fs::path::{self, PATH_MAX};

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
    const MS_RDONLY: u64 = 1;
    if a[3] & MS_REMOUNT != 0 {
        // A disk filesystem really changes between read-only and read-write; the in-memory
        // ones have nothing to change.
        if let Some(disk) = dir.disk() {
            disk.mount().fs().remount(a[3] & MS_RDONLY != 0)?;
        }
        return Ok(0);
    }
    if a[3] & MS_BIND != 0 {
        return Ok(0);
    }
    let source =
        if a[0] != 0 { ctx.mem().read_cstring(a[0], PATH_MAX)? } else { String::from("none") };
    if crate::fs::mount::is_disk_filesystem(&fstype) {
        if a[0] == 0 {
            return Err(Errno::EINVAL);
        }
        let device = path::resolve(&ctx.process.start(), &source, true)?;
        let read_only = a[3] & MS_RDONLY != 0;
        crate::fs::mount::mount_disk(dir, &fstype, &device, read_only, &source, &target)?;
        return Ok(0);
    }
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
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}
