//! name_to_handle_at(2) and open_by_handle_at(2): decoding `struct file_handle` and the
//! flags; the handles themselves are [`crate::fs::handle`]'s.

use super::SyscallCtx;
use super::fs::{
    AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_FOLLOW, caller, fd_arg, file, path_arg, start_at,
};
use crate::error::{Errno, SysResult};
use crate::fs::handle::{self, MAX_HANDLE_SZ};
use crate::fs::perm::Caller as _;
use crate::fs::{OpenFlags, path};

/// `struct file_handle`'s fixed part: `u32 handle_bytes; int handle_type;`.
const HEADER: u64 = 8;
/// Linux's FILEID_INVALID: the type written back with EOVERFLOW.
const FILEID_INVALID: i32 = 255;

/// name_to_handle_at(2).
pub fn sys_name_to_handle_at(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (dirfd, path_addr, handle_addr, mount_id_addr, flags) =
        (fd_arg(a[0]), a[1], a[2], a[3], a[4]);
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(ctx, path_addr)?;
    let node = if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            ctx.process.start().dir
        } else {
            file(ctx, dirfd)?.node().ok_or(Errno::ENOTSUP)?.clone()
        }
    } else {
        path::resolve(&start_at(ctx, dirfd, &path)?, &path, flags & AT_SYMLINK_FOLLOW != 0)?
    };
    let encoded = handle::encode(&node)?;
    let room = ctx.mem().read_u32(handle_addr)?;
    if room as usize > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    // Linux counts in 32-bit words: a size that is not a multiple of 4 is rounded down.
    let fits = encoded.bytes.len() <= (room as usize & !3);
    let mount_id = crate::fs::mount::mount_of(&node).map_or(1, |m| m.id);
    let mut out = alloc::vec::Vec::with_capacity(HEADER as usize + encoded.bytes.len());
    out.extend_from_slice(&(encoded.bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&(if fits { encoded.kind } else { FILEID_INVALID }).to_le_bytes());
    if fits {
        out.extend_from_slice(&encoded.bytes);
    }
    ctx.mem().write_u32(mount_id_addr, mount_id)?;
    ctx.mem().write(handle_addr, &out)?;
    if fits { Ok(0) } else { Err(Errno::EOVERFLOW) }
}

/// open_by_handle_at(2): needs CAP_DAC_READ_SEARCH (root); the handle is looked up on
/// the filesystem of `mount_fd` (or of the working directory), and opened as open(2) opens
/// a path's node.
pub fn sys_open_by_handle_at(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (mount_fd, handle_addr, flags) = (fd_arg(a[0]), a[1], a[2]);
    let caller = caller(ctx);
    if !caller.privileged() {
        return Err(Errno::EPERM);
    }
    let mut header = [0u8; HEADER as usize];
    ctx.mem().read(handle_addr, &mut header)?;
    let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let kind = i32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if size == 0 || size > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    let mut bytes = alloc::vec![0u8; size];
    ctx.mem().read(handle_addr + HEADER, &mut bytes)?;
    let on = if mount_fd == AT_FDCWD {
        ctx.process.start().dir
    } else {
        file(ctx, mount_fd)?.node().ok_or(Errno::ESTALE)?.clone()
    };
    // Whole 32-bit words only, as Linux passes the size to the filesystem.
    let node = handle::decode(&on, kind, &bytes[..size & !3])?;
    let mut flags = OpenFlags::from_bits_truncate(flags as u32);
    if flags.contains(OpenFlags::PATH) {
        flags &= OpenFlags::PATH | OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW | OpenFlags::CLOEXEC;
    }
    let file = crate::fs::open::open_existing(&caller, node, flags)?;
    let fd = ctx.process.install_file(file, flags.contains(OpenFlags::CLOEXEC))?;
    Ok(fd as u64)
}
