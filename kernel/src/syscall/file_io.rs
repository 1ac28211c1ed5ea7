//! Data transfer syscalls: read and write in all their forms, lseek, and the copies
//! between files (sendfile, copy_file_range, splice), plus sync and fadvise.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::SyscallCtx;
use super::fs::{fd_arg, file, iovecs};
use crate::block::ReadTarget;
use crate::error::{Errno, SysResult};
use crate::fs::copy::{IO_CHUNK, copy_between};
use crate::fs::{FileLike, NodeKind, OpenFlags};
use crate::user_mem::UserMem;

/// read(2).
pub fn sys_read(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    read_into_user(ctx, &f, a[1], a[2] as usize, None)
}

/// Transfers up to this many bytes (counters, notifications, short messages) bounce through
/// the kernel stack rather than the heap.
const SMALL_IO: usize = 128;

/// EINVAL for a direct transfer (O_DIRECT on a disk file) from or to a buffer that is not
/// aligned to [`crate::fs::file::DIRECT_ALIGN`], as Linux's direct I/O answers. A read at
/// `read_at` (the file position if `None`) at or past the end of the file is not checked:
/// Linux returns 0 for it first.
fn check_direct_buffer(
    f: &Arc<dyn FileLike>,
    buf: u64,
    len: usize,
    read_at: Option<Option<u64>>,
) -> SysResult<()> {
    if len == 0
        || !crate::fs::file::is_direct(&**f)
        || buf.is_multiple_of(crate::fs::file::DIRECT_ALIGN)
    {
        return Ok(());
    }
    if let (Some(at), Some(node)) = (read_at, f.node()) {
        let position = match at {
            Some(offset) => offset,
            None => f.seek(0, 1)?,
        };
        if position >= node.size() {
            return Ok(());
        }
    }
    Err(Errno::EINVAL)
}

/// Large bounce buffers kept between syscalls: allocating and zeroing a fresh megabyte for
/// every large read or write costs about as much as the copy it serves (0.5 ms under TCG).
static SPARE_BUFFERS: SpinLock<Vec<Vec<u8>>> = SpinLock::new(Vec::new());
/// How many spare buffers are kept (the heap keeps what it has in any case).
const SPARE_MAX: usize = 4;

/// A bounce buffer taken from [`SPARE_BUFFERS`] (or new and empty), given back when dropped.
/// Its old contents are never shown: callers copy out only what they wrote into it.
struct SpareBuffer(Vec<u8>);

impl SpareBuffer {
    fn take() -> Self {
        Self(SPARE_BUFFERS.lock().pop().unwrap_or_default())
    }
}

impl Drop for SpareBuffer {
    fn drop(&mut self) {
        let buffer = core::mem::take(&mut self.0);
        let mut spare = SPARE_BUFFERS.lock();
        if buffer.capacity() > 0 && buffer.capacity() <= DIRECT_CHUNK && spare.len() < SPARE_MAX {
            spare.push(buffer);
        }
    }
}

/// The largest piece of an O_DIRECT read: one device request (the block layer's largest).
const DIRECT_CHUNK: usize = 1 << 20;

/// Returns the kernel buffer one read or write of `len` bytes on `f` bounces through:
/// `small` if it fits, else `large`, grown to at most one chunk (an O_DIRECT file's chunk
/// is a whole device request, so that a large direct read is not cut into small ones).
fn bounce_buffer<'a>(
    f: &Arc<dyn FileLike>,
    small: &'a mut [u8; SMALL_IO],
    large: &'a mut SpareBuffer,
    len: usize,
) -> &'a mut [u8] {
    if len <= SMALL_IO {
        &mut small[..len]
    } else {
        let direct = crate::fs::file::is_direct(&**f);
        let want = len.min(if direct { DIRECT_CHUNK } else { IO_CHUNK });
        // Grown with zeros once; a spare buffer that is already large enough is only cut.
        if large.0.len() < want {
            large.0.resize(want, 0);
        }
        &mut large.0[..want]
    }
}

fn read_into_user(
    ctx: &SyscallCtx,
    f: &Arc<dyn FileLike>,
    buf: u64,
    len: usize,
    offset: Option<u64>,
) -> SysResult<u64> {
    if buf.checked_add(len as u64).is_none()
        || (len > 0 && buf.checked_add(len as u64).is_some_and(|e| e > ostd::mm::USER_END))
    {
        return Err(Errno::EFAULT);
    }
    check_direct_buffer(f, buf, len, Some(offset))?;
    let mem = ctx.mem();
    if len > 0
        && crate::fs::file::is_direct(&**f)
        && let Some(read) = read_direct_into_user(f, &mem, buf, len, offset)
    {
        return read;
    }
    let mut small = [0u8; SMALL_IO];
    let mut large = SpareBuffer::take();
    let chunk = bounce_buffer(f, &mut small, &mut large, len);
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(chunk.len());
        let n = match offset {
            Some(off) => f.read_at(off + done as u64, &mut chunk[..want]),
            None => f.read(&mut chunk[..want]),
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        mem.write(buf + done as u64, &chunk[..n])?;
        done += n;
        // A pipe, socket or inotify instance with nothing more to give returns what it
        // gave (as Linux's reads do) instead of blocking for the next chunk.
        if n < want || !f.readiness().readable {
            break;
        }
    }
    if len == 0 {
        // Still report errors like EISDIR/EBADF for zero-length reads.
        match offset {
            Some(off) => f.read_at(off, &mut [])?,
            None => f.read(&mut [])?,
        };
    }
    Ok(done as u64)
}

/// An O_DIRECT read: the device's bounce buffers are copied straight into the caller's
/// memory, a device request's worth at a time. `None` if the file has no such path.
fn read_direct_into_user(
    f: &Arc<dyn FileLike>,
    mem: &UserMem,
    buf: u64,
    len: usize,
    offset: Option<u64>,
) -> Option<SysResult<u64>> {
    in_direct_chunks(len, |done, want| {
        let mut target = ReadTarget::User { mem, addr: buf + done as u64, len: want };
        f.read_direct_to(offset.map(|o| o + done as u64), &mut target)
    })
}

/// An O_DIRECT write: the caller's memory is copied straight into the device's bounce
/// buffer, a device request's worth at a time. `None` if the file has no such path.
fn write_direct_from_user(
    f: &Arc<dyn FileLike>,
    mem: &UserMem,
    buf: u64,
    len: usize,
    offset: Option<u64>,
) -> Option<SysResult<u64>> {
    in_direct_chunks(len, |done, want| {
        f.write_direct_from(offset.map(|o| o + done as u64), mem, buf + done as u64, want)
    })
}

/// Moves `len` bytes in pieces of at most [`DIRECT_CHUNK`] with `step(done, want)`, which
/// returns the bytes it moved. Stops at a short piece; an error after some bytes moved ends
/// the transfer with what moved, as Linux's reads and writes do. `None` if the file has no
/// direct path (known at the first piece; later, the bytes moved so far are the result).
fn in_direct_chunks(
    len: usize,
    mut step: impl FnMut(usize, usize) -> Option<SysResult<usize>>,
) -> Option<SysResult<u64>> {
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(DIRECT_CHUNK);
        let n = match step(done, want) {
            None if done == 0 => return None,
            None => break,
            Some(Ok(n)) => n,
            Some(Err(e)) if done == 0 => return Some(Err(e)),
            Some(Err(_)) => break,
        };
        done += n;
        if n < want {
            break;
        }
    }
    Some(Ok(done as u64))
}

fn write_from_user(
    ctx: &SyscallCtx,
    f: &Arc<dyn FileLike>,
    buf: u64,
    len: usize,
    offset: Option<u64>,
) -> SysResult<u64> {
    check_direct_buffer(f, buf, len, None)?;
    let mem = ctx.mem();
    if len > 0
        && crate::fs::file::is_direct(&**f)
        && let Some(written) = write_direct_from_user(f, &mem, buf, len, offset)
    {
        return written;
    }
    let mut small = [0u8; SMALL_IO];
    let mut large = SpareBuffer::take();
    let chunk = bounce_buffer(f, &mut small, &mut large, len);
    let mut done = 0usize;
    if len == 0 {
        return match offset {
            Some(off) => f.write_at(off, &[]).map(|n| n as u64),
            None => f.write(&[]).map(|n| n as u64),
        };
    }
    while done < len {
        let want = (len - done).min(chunk.len());
        if let Err(e) = mem.read(buf + done as u64, &mut chunk[..want]) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        let n = match offset {
            Some(off) => f.write_at(off + done as u64, &chunk[..want]),
            None => f.write(&chunk[..want]),
        };
        match n {
            Ok(n) => {
                done += n;
                if n < want {
                    break;
                }
            }
            Err(e) if done == 0 => {
                if e == Errno::EPIPE {
                    crate::process::signal::send(ctx.process, crate::process::signal::SIGPIPE);
                }
                return Err(e);
            }
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

/// write(2).
pub fn sys_write(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    write_from_user(ctx, &f, a[1], a[2] as usize, None)
}

/// pread64(2).
pub fn sys_pread64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    read_into_user(ctx, &f, a[1], a[2] as usize, Some(a[3]))
}

/// pwrite64(2).
pub fn sys_pwrite64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    write_from_user(ctx, &f, a[1], a[2] as usize, Some(a[3]))
}

/// readv(2).
pub fn sys_readv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    read_vectored(ctx, &f, a[1], a[2], None)
}

/// writev(2).
pub fn sys_writev(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    write_vectored(ctx, &f, a[1], a[2], None)
}

/// preadv(2): the offset must not be negative (its high half, a[4], is for 32-bit callers).
pub fn sys_preadv(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    sys_preadv2(ctx, [a[0], a[1], a[2], a[3], 0, 0])
}

/// preadv2(2): an offset of -1 means the file position, as readv; the flags are hints.
pub fn sys_preadv2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    check_rw_flags(a[5])?;
    read_vectored(ctx, &f, a[1], a[2], vectored_offset(a[3])?)
}

/// pwritev(2): as preadv.
pub fn sys_pwritev(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    sys_pwritev2(ctx, [a[0], a[1], a[2], a[3], 0, 0])
}

/// pwritev2(2): an offset of -1 means the file position; RWF_APPEND writes at the end,
/// RWF_DSYNC/RWF_SYNC make a disk file's data durable before the call returns.
pub fn sys_pwritev2(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    let flags = a[5];
    check_rw_flags(flags)?;
    let mut offset = vectored_offset(a[3])?;
    // RWF_APPEND: this write goes to the end of a regular file, whatever the offset; a
    // write at the file position leaves the position after it (Linux's IOCB_APPEND).
    let append = flags & RWF_APPEND != 0 && f.node().is_some_and(|n| n.kind() == NodeKind::File);
    if append {
        offset = f.node().map(|n| n.size());
    }
    let written = write_vectored(ctx, &f, a[1], a[2], offset)?;
    if append && a[3] as i64 == -1 {
        f.seek(0, 2 /* SEEK_END */)?;
    }
    if flags & (RWF_DSYNC | RWF_SYNC) != 0
        && let Some(disk) = f.node().and_then(|n| n.disk())
    {
        disk.mount().sync()?;
    }
    Ok(written)
}

/// preadv2/pwritev2's per-call flags.
const RWF_HIPRI: u64 = 0x01;
const RWF_DSYNC: u64 = 0x02;
const RWF_SYNC: u64 = 0x04;
const RWF_NOWAIT: u64 = 0x08;
const RWF_APPEND: u64 = 0x10;

/// Checks preadv2/pwritev2 flags as Linux's kiocb_set_rw_flags: unknown ones, and
/// RWF_NOWAIT (no file here can promise not to block), are EOPNOTSUPP.
fn check_rw_flags(flags: u64) -> SysResult<()> {
    let known = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;
    if flags & !known != 0 || flags & RWF_NOWAIT != 0 {
        return Err(Errno::ENOTSUP);
    }
    Ok(())
}

fn vectored_offset(offset: u64) -> SysResult<Option<u64>> {
    match offset as i64 {
        -1 => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

fn read_vectored(
    ctx: &SyscallCtx,
    f: &Arc<dyn FileLike>,
    iov: u64,
    count: u64,
    offset: Option<u64>,
) -> SysResult<u64> {
    vectored(ctx, iov, count, offset, false, |base, len, at| read_into_user(ctx, f, base, len, at))
}

fn write_vectored(
    ctx: &SyscallCtx,
    f: &Arc<dyn FileLike>,
    iov: u64,
    count: u64,
    offset: Option<u64>,
) -> SysResult<u64> {
    vectored(ctx, iov, count, offset, true, |base, len, at| write_from_user(ctx, f, base, len, at))
}

/// Runs `op` on each iovec in turn (from `offset`, if any), as readv/writev do: stops at the
/// first short transfer, and reports an error only if nothing was transferred before it.
/// Empty iovecs are skipped when `skip_empty` (writev), else passed on (readv).
fn vectored(
    ctx: &SyscallCtx,
    iov: u64,
    count: u64,
    mut offset: Option<u64>,
    skip_empty: bool,
    op: impl Fn(u64, usize, Option<u64>) -> SysResult<u64>,
) -> SysResult<u64> {
    let mut total = 0;
    for (base, len) in iovecs(ctx, iov, count)? {
        if skip_empty && len == 0 {
            continue;
        }
        let n = match op(base, len, offset) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        offset = offset.map(|o| o + n);
        if (n as usize) < len {
            break;
        }
    }
    Ok(total)
}

/// lseek(2).
pub fn sys_lseek(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    file(ctx, fd_arg(a[0]))?.seek(a[1] as i64, a[2] as u32)
}

/// Reads an optional `loff_t *` argument.
fn read_offset(ctx: &SyscallCtx, ptr: u64) -> SysResult<Option<u64>> {
    if ptr == 0 {
        return Ok(None);
    }
    let off = ctx.mem().read_u64(ptr)? as i64;
    if off < 0 { Err(Errno::EINVAL) } else { Ok(Some(off as u64)) }
}

/// copy_file_range(2): between regular files, through the kernel's buffer.
pub fn sys_copy_file_range(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (in_ptr, out_ptr, count, flags) = (a[1], a[3], a[4] as usize, a[5]);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (input, out) = (file(ctx, fd_arg(a[0]))?, file(ctx, fd_arg(a[2]))?);
    if !input.flags().readable()
        || !out.flags().writable()
        || out.flags().contains(OpenFlags::APPEND)
    {
        return Err(Errno::EBADF);
    }
    let regular = |f: &Arc<dyn FileLike>| f.node().is_some_and(|n| n.kind() == NodeKind::File);
    if input.node().is_some_and(|n| n.kind() == NodeKind::Dir)
        || out.node().is_some_and(|n| n.kind() == NodeKind::Dir)
    {
        return Err(Errno::EISDIR);
    }
    if !regular(&input) || !regular(&out) {
        return Err(Errno::EINVAL);
    }
    let same = input.node().zip(out.node()).is_some_and(|(x, y)| Arc::ptr_eq(x, y));
    if same {
        // Overlapping ranges of one file are refused, as Linux does.
        let start_in = read_offset(ctx, in_ptr)?
            .map_or_else(|| input.seek(0, crate::fs::file::SEEK_CUR), Ok)?;
        let start_out = read_offset(ctx, out_ptr)?
            .map_or_else(|| out.seek(0, crate::fs::file::SEEK_CUR), Ok)?;
        if start_in < start_out.saturating_add(count as u64)
            && start_out < start_in.saturating_add(count as u64)
        {
            return Err(Errno::EINVAL);
        }
    }
    copy_at_user_offsets(ctx, &input, in_ptr, &out, out_ptr, count)
}

/// The common tail of copy_file_range, splice and sendfile: each side at its `loff_t *` if given
/// (updated afterwards), else at its file position.
pub(super) fn copy_at_user_offsets(
    ctx: &SyscallCtx,
    input: &Arc<dyn FileLike>,
    in_ptr: u64,
    out: &Arc<dyn FileLike>,
    out_ptr: u64,
    count: usize,
) -> SysResult<u64> {
    let (mut in_off, mut out_off) = (read_offset(ctx, in_ptr)?, read_offset(ctx, out_ptr)?);
    let done = copy_between(input, &mut in_off, out, &mut out_off, count)?;
    let mem = ctx.mem();
    if let Some(off) = in_off.filter(|_| in_ptr != 0) {
        mem.write_u64(in_ptr, off)?;
    }
    if let Some(off) = out_off.filter(|_| out_ptr != 0) {
        mem.write_u64(out_ptr, off)?;
    }
    Ok(done as u64)
}

/// sync(2): writes every disk filesystem back.
pub fn sys_sync(_ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    // sync(2) cannot fail; a disk that fails is logged by its filesystem.
    let _ = crate::fs::mount::sync_all();
    Ok(0)
}

/// fsync(2), fdatasync(2) and syncfs(2): a file on a disk filesystem is made durable by
/// writing back the whole filesystem (its metadata and the file's blocks share one cache).
pub fn sys_fsync(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if let Some(disk) = f.node().and_then(|n| n.disk()) {
        disk.mount().sync()?;
    }
    Ok(0)
}

/// sendfile(2).
pub fn sys_sendfile(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (out_fd, in_fd, offset_ptr, count) = (fd_arg(a[0]), fd_arg(a[1]), a[2], a[3] as usize);
    let out = file(ctx, out_fd)?;
    let input = file(ctx, in_fd)?;
    if !input.flags().readable() || !out.flags().writable() {
        return Err(Errno::EBADF);
    }
    // The same copy as copy_file_range's, with the output always at its file position.
    copy_at_user_offsets(ctx, &input, offset_ptr, &out, 0, count)
}

/// fadvise64(2): advice only; checks its arguments.
pub fn sys_fadvise64(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let f = file(ctx, fd_arg(a[0]))?;
    if f.node().is_none_or(|n| n.kind() == NodeKind::Fifo) && f.node().is_none() {
        return Err(Errno::ESPIPE);
    }
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
