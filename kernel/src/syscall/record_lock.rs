//! fcntl's lock commands: F_GETLK/F_SETLK/F_SETLKW (a process's locks) and
//! F_OFD_GETLK/F_OFD_SETLK/F_OFD_SETLKW (an open file description's), on `struct flock`.
//! The locks themselves are `crate::fs::record_lock`'s; this reads and checks the request as
//! Linux's `fcntl_getlk`/`fcntl_setlk` and `flock_to_posix_lock` do.

use alloc::sync::Arc;

use super::SyscallCtx;
use super::fs::fd_arg;
use crate::error::{Errno, SysResult};
use crate::fs::record_lock::{self, FileKey, Kind, OFFSET_MAX, Owner};
use crate::fs::{FileLike, OpenFlags};

const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;

const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;

const SEEK_SET: i16 = 0;
const SEEK_CUR: i16 = 1;
const SEEK_END: i16 = 2;

/// `struct flock` on x86-64: l_type, l_whence (i16 each), padding, l_start, l_len (i64),
/// l_pid (i32), padding: 32 bytes.
const FLOCK_SIZE: usize = 32;

/// Whether `cmd` is one of the lock commands.
pub fn is_lock_command(cmd: u64) -> bool {
    matches!(cmd, F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW)
}

/// Runs lock command `cmd` on descriptor `a[0]` with the `struct flock` at `a[2]`.
pub fn fcntl_lock(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let cmd = a[1];
    let file = super::fs::file(ctx, fd_arg(a[0]))?;
    let mut raw = [0u8; FLOCK_SIZE];
    ctx.mem().read(a[2], &mut raw)?;
    let l_type = i16::from_le_bytes([raw[0], raw[1]]);
    let l_whence = i16::from_le_bytes([raw[2], raw[3]]);
    let l_start = i64::from_le_bytes(raw[8..16].try_into().map_err(|_| Errno::EINVAL)?);
    let l_len = i64::from_le_bytes(raw[16..24].try_into().map_err(|_| Errno::EINVAL)?);
    let l_pid = i32::from_le_bytes(raw[24..28].try_into().map_err(|_| Errno::EINVAL)?);
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    // An O_PATH descriptor holds no file open for locking (Linux's fdget skips it).
    if file.flags().contains(OpenFlags::PATH) {
        return Err(Errno::EBADF);
    }
    // Files of the VFS hold locks. Linux also locks pipes and sockets; here they answer
    // EINVAL (nothing seen to lock them).
    let key = FileKey::of(&file).ok_or(Errno::EINVAL)?;
    let owner = if ofd {
        // The description's identity, as flock's: shared by dup and fork.
        Owner::Description(Arc::as_ptr(&file) as *const u8 as usize)
    } else {
        Owner::Process(ctx.process.pid())
    };
    let type_of = |t: i16| match t {
        F_RDLCK => Ok(Some(Kind::Read)),
        F_WRLCK => Ok(Some(Kind::Write)),
        F_UNLCK => Ok(None),
        _ => Err(Errno::EINVAL),
    };
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        // Linux's fcntl_getlk: the type, the range, then an OFD request's l_pid.
        let kind = type_of(l_type)?.ok_or(Errno::EINVAL)?;
        let (start, end) = range(&file, l_whence, l_start, l_len)?;
        if ofd && l_pid != 0 {
            return Err(Errno::EINVAL);
        }
        match record_lock::test(&key, owner, kind, start, end) {
            // Only the type changes when nothing is in the way, as on Linux.
            None => raw[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(lock) => {
                let t = if lock.kind == Kind::Write { F_WRLCK } else { F_RDLCK };
                let len = if lock.end == OFFSET_MAX { 0 } else { lock.end - lock.start + 1 };
                let pid = match lock.owner {
                    Owner::Process(_) => lock.pid,
                    Owner::Description(_) => -1,
                };
                raw[0..2].copy_from_slice(&t.to_le_bytes());
                raw[2..4].copy_from_slice(&SEEK_SET.to_le_bytes());
                raw[8..16].copy_from_slice(&lock.start.to_le_bytes());
                raw[16..24].copy_from_slice(&len.to_le_bytes());
                raw[24..28].copy_from_slice(&pid.to_le_bytes());
            }
        }
        ctx.mem().write(a[2], &raw)?;
        return Ok(0);
    }
    // Linux's fcntl_setlk: the range, the type, the open mode, then an OFD l_pid.
    let (start, end) = range(&file, l_whence, l_start, l_len)?;
    let kind = type_of(l_type)?;
    let flags = file.flags();
    match kind {
        Some(Kind::Read) if !flags.readable() => return Err(Errno::EBADF),
        Some(Kind::Write) if !flags.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    if ofd && l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
    let pid = ctx.process.pid();
    record_lock::set(&key, owner, pid, kind, start, end, wait)?;
    // Another thread may have closed the descriptor while this one slept: the close found
    // nothing to release, so the lock just placed would outlive every descriptor. Undo it,
    // as Linux's fcntl_setlk does.
    if kind.is_some() && !ofd {
        let same = ctx.process.with_files(|files| files.get(fd_arg(a[0])).ok());
        if !same.is_some_and(|f| Arc::ptr_eq(&f, &file)) {
            record_lock::set(&key, owner, pid, None, start, end, false)?;
            return Err(Errno::EBADF);
        }
    }
    Ok(0)
}

/// The inclusive byte range `struct flock` names, as Linux's `flock_to_posix_lock`:
/// `l_start` from the start, the current offset or the end; `l_len` bytes forward, to end
/// of file if 0, or backward from `l_start` if negative.
fn range(file: &Arc<dyn FileLike>, whence: i16, l_start: i64, l_len: i64) -> SysResult<(i64, i64)> {
    let base = match whence {
        SEEK_SET => 0,
        // The offset, read by a seek that moves nothing.
        SEEK_CUR => i64::try_from(file.seek(0, SEEK_CUR as u32)?).map_err(|_| Errno::EOVERFLOW)?,
        SEEK_END => file.stat().size,
        _ => return Err(Errno::EINVAL),
    };
    if l_start > OFFSET_MAX - base {
        return Err(Errno::EOVERFLOW);
    }
    let start = base + l_start;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    if l_len > 0 {
        if l_len - 1 > OFFSET_MAX - start {
            return Err(Errno::EOVERFLOW);
        }
        Ok((start, start + (l_len - 1)))
    } else if l_len < 0 {
        let from = start.checked_add(l_len).filter(|&s| s >= 0).ok_or(Errno::EINVAL)?;
        Ok((from, start - 1))
    } else {
        Ok((start, OFFSET_MAX))
    }
}
