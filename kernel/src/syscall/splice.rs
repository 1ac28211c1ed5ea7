//! The pipe calls that move data without a user buffer in between, or with the pipe itself
//! as the subject: splice, tee and vmsplice. Data is copied through the kernel rather than
//! moved page by page; the pipe layer (`fs::pipe`) does the waiting.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::SyscallCtx;
use super::file_io::copy_at_user_offsets;
use super::fs::{fd_arg, file, iovecs};
use crate::error::{Errno, SysResult};
use crate::fs::pipe::{PipeHandle, pipe_of};
use crate::fs::{FileLike, OpenFlags};

/// SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT.
const SPLICE_F_ALL: u64 = 0xf;
const SPLICE_F_NONBLOCK: u64 = 0x2;

/// splice(2): one end must be a pipe, and a pipe end takes no offset (ESPIPE). Data is copied
/// through the kernel rather than moved page by page.
pub fn sys_splice(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
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

/// Raises SIGPIPE for an EPIPE, as Linux's pipe-writing splice paths do.
fn with_sigpipe<T>(ctx: &SyscallCtx, result: SysResult<T>) -> SysResult<T> {
    if result.as_ref().is_err_and(|e| *e == Errno::EPIPE) {
        crate::process::signal::send(ctx.process, crate::process::signal::SIGPIPE);
    }
    result
}

/// tee(2): duplicates up to `len` bytes from one pipe into another, leaving them in the
/// first. In Linux's order: EINVAL for an unknown flag, 0 for a zero length, EBADF for a
/// bad descriptor or one open the wrong way, EINVAL unless both are pipes and not the same
/// one. O_NONBLOCK on either file makes the call non-blocking, as SPLICE_F_NONBLOCK does.
pub fn sys_tee(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (len, flags) = (a[2] as usize, a[3]);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let (input, out) = (file(ctx, fd_arg(a[0]))?, file(ctx, fd_arg(a[1]))?);
    if !input.flags().readable() || !out.flags().writable() {
        return Err(Errno::EBADF);
    }
    let (Some(from), Some(to)) = (pipe_of(&*input), pipe_of(&*out)) else {
        return Err(Errno::EINVAL);
    };
    if from.same(&to) {
        return Err(Errno::EINVAL);
    }
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0
        || (input.flags() | out.flags()).contains(OpenFlags::NONBLOCK);
    with_sigpipe(ctx, from.tee_into(&to, len, nonblocking)).map(|n| n as u64)
}

/// vmsplice(2): user memory into a pipe open for writing, or a pipe open for reading into
/// user memory (the buffers are copied, so SPLICE_F_GIFT changes nothing). It waits only
/// for the first byte of room or data (SPLICE_F_NONBLOCK: not at all; the file's own
/// O_NONBLOCK does not count, as on Linux), then moves what fits. EBADF for a file that is
/// not a pipe.
pub fn sys_vmsplice(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (iov, count, flags) = (a[1], a[2], a[3]);
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd_arg(a[0]))?;
    let to_pipe = f.flags().writable();
    if !to_pipe && !f.flags().readable() {
        return Err(Errno::EBADF);
    }
    let segments = iovecs(ctx, iov, count)?;
    let total: usize = segments.iter().map(|&(_, len)| len).sum();
    if total == 0 {
        return Ok(0);
    }
    let pipe = pipe_of(&*f).ok_or(Errno::EBADF)?;
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    if to_pipe {
        with_sigpipe(ctx, pipe.wait_for_space(nonblocking))?;
        user_to_pipe(ctx, &pipe, &segments).map(|n| n as u64)
    } else {
        if !pipe.wait_for_data(nonblocking)? {
            return Ok(0);
        }
        pipe_to_user(ctx, &pipe, &segments, total).map(|n| n as u64)
    }
}

/// Copies what fits of the user's buffers into the pipe: EFAULT if the first byte cannot
/// be read, else what went in before a bad buffer.
fn user_to_pipe(
    ctx: &SyscallCtx,
    pipe: &PipeHandle,
    segments: &[(u64, usize)],
) -> SysResult<usize> {
    let mem = ctx.mem();
    let mut data = Vec::new();
    let mut room = pipe.space();
    for &(base, len) in segments {
        let take = len.min(room);
        let start = data.len();
        data.resize(start + take, 0);
        if let Err(e) = mem.read(base, &mut data[start..]) {
            data.truncate(start);
            if data.is_empty() {
                return Err(e);
            }
            break;
        }
        room -= take;
        if room == 0 {
            break;
        }
    }
    Ok(pipe.push(&data))
}

/// Moves the pipe's data into the user's buffers, no more than they hold.
fn pipe_to_user(
    ctx: &SyscallCtx,
    pipe: &PipeHandle,
    segments: &[(u64, usize)],
    total: usize,
) -> SysResult<usize> {
    let mem = ctx.mem();
    let data = pipe.pull(total);
    let mut done = 0;
    for &(base, len) in segments {
        if done == data.len() {
            break;
        }
        let n = len.min(data.len() - done);
        if let Err(e) = mem.write(base, &data[done..done + n]) {
            // The bytes already taken are lost, as on Linux when a copy to user fails.
            return if done == 0 { Err(e) } else { Ok(done) };
        }
        done += n;
    }
    Ok(done)
}
