//! signalfd(2) and signalfd4(2): make a signalfd, or change an existing one's mask. The
//! file itself is `process::signalfd`.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::file::OpenFlags;
use crate::process::signalfd::{SignalFd, signalfd_of};

const SFD_NONBLOCK: u64 = 0o4000;
const SFD_CLOEXEC: u64 = 0o2000000;
/// The only sigset size the kernel takes (64 signals).
const SIGSET_SIZE: u64 = 8;

/// signalfd4(2), checked in Linux's order: the mask's size, reading it, the flags, then the
/// descriptor (-1 makes a new signalfd; another must be a signalfd, whose mask is replaced).
pub fn sys_signalfd4(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (fd, mask_addr, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32 as u64);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = ctx.mem().read_u64(mask_addr)?;
    if flags & !(SFD_NONBLOCK | SFD_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd == -1 {
        let file_flags =
            if flags & SFD_NONBLOCK != 0 { OpenFlags::NONBLOCK } else { OpenFlags::empty() };
        let file = SignalFd::new(mask, file_flags);
        return ctx.process.install_file(file, flags & SFD_CLOEXEC != 0).map(|fd| fd as u64);
    }
    let file = ctx.process.file(fd)?;
    let signalfd = signalfd_of(&*file).ok_or(Errno::EINVAL)?;
    signalfd.set_mask(ctx.process, mask);
    Ok(fd as u64)
}

/// signalfd(2): signalfd4 without flags.
pub fn sys_signalfd(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    sys_signalfd4(ctx, [a[0], a[1], a[2], 0, 0, 0])
}
