//! setxattr, getxattr, listxattr, removexattr and their l* (no symlink following) and f*
//! (descriptor) forms: the user-memory side, as Linux's fs/xattr.c reads the arguments
//! (names of 1 to 255 bytes or ERANGE, values up to 64 KiB or E2BIG, a zero size asking
//! for the length, a short buffer ERANGE). The rules are `crate::fs::xattr`'s.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::SyscallCtx;
use super::fs::{caller, fd_arg, file, path_arg};
use crate::error::{Errno, SysResult};
use crate::fs::disk::XattrMode;
use crate::fs::{Node, path, xattr};

/// XATTR_NAME_MAX.
const NAME_MAX: usize = 255;
/// XATTR_SIZE_MAX: the largest value, and the largest list, a call moves.
const SIZE_MAX: usize = 65536;
const XATTR_CREATE: u64 = 1;
const XATTR_REPLACE: u64 = 2;

/// The node a call of the family names: by path (following symlinks unless the l* form)
/// or, for the f* form, by descriptor. Its position in the family is `nr - first`.
fn target(ctx: &SyscallCtx, arg: u64, first: u64) -> SysResult<Arc<Node>> {
    let nr = ctx.user.context().syscall_number();
    match nr - first {
        2 => {
            let file = file(ctx, fd_arg(arg))?;
            // An O_PATH descriptor names no open file here (Linux's fdget skips it).
            if file.flags().contains(crate::fs::OpenFlags::PATH) {
                return Err(Errno::EBADF);
            }
            file.node().cloned().ok_or(Errno::ENOTSUP)
        }
        form => {
            let path = path_arg(ctx, arg)?;
            path::resolve(&ctx.process.start(), &path, form == 0)
        }
    }
}

fn name_arg(ctx: &SyscallCtx, addr: u64) -> SysResult<Vec<u8>> {
    let name = match ctx.mem().read_cbytes(addr, NAME_MAX) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
        other => other?,
    };
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// setxattr(2), lsetxattr(2), fsetxattr(2).
pub fn sys_setxattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let mode = match a[4] as u32 as u64 {
        0 => XattrMode::Any,
        XATTR_CREATE => XattrMode::Create,
        XATTR_REPLACE => XattrMode::Replace,
        // Both: EEXIST if it exists, ENODATA if not, as Linux's checks in that order give.
        f if f == XATTR_CREATE | XATTR_REPLACE => XattrMode::Neither,
        _ => return Err(Errno::EINVAL),
    };
    let name = name_arg(ctx, a[1])?;
    let size = usize::try_from(a[3]).ok().filter(|&n| n <= SIZE_MAX).ok_or(Errno::E2BIG)?;
    let mut value = vec![0u8; size];
    ctx.mem().read(a[2], &mut value)?;
    let node = target(ctx, a[0], 188)?;
    xattr::set(&caller(ctx), &node, &name, &value, mode)?;
    Ok(0)
}

/// getxattr(2), lgetxattr(2), fgetxattr(2).
pub fn sys_getxattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let name = name_arg(ctx, a[1])?;
    let node = target(ctx, a[0], 191)?;
    let value = xattr::get(&caller(ctx), &node, &name)?;
    copy_out(ctx, &value, a[2], a[3])
}

/// listxattr(2), llistxattr(2), flistxattr(2).
pub fn sys_listxattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let node = target(ctx, a[0], 194)?;
    let names = xattr::list(&caller(ctx), &node)?;
    if names.len() > SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    copy_out(ctx, &names, a[1], a[2])
}

/// removexattr(2), lremovexattr(2), fremovexattr(2).
pub fn sys_removexattr(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let name = name_arg(ctx, a[1])?;
    let node = target(ctx, a[0], 197)?;
    xattr::remove(&caller(ctx), &node, &name)?;
    Ok(0)
}

/// Writes `bytes` to the caller's buffer at `addr` of `size` bytes: with size 0 only the
/// length is returned; a smaller buffer is ERANGE.
fn copy_out(ctx: &SyscallCtx, bytes: &[u8], addr: u64, size: u64) -> SysResult<u64> {
    if size == 0 {
        return Ok(bytes.len() as u64);
    }
    if (size as usize) < bytes.len() {
        return Err(Errno::ERANGE);
    }
    ctx.mem().write(addr, bytes)?;
    Ok(bytes.len() as u64)
}
