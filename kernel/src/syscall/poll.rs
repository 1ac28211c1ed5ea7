//! Polling syscalls: poll, ppoll, select, pselect6.

use super::SyscallCtx;
use super::decode::{read_timespec, read_timeval};
use crate::error::{Errno, SysResult};

/// poll(2).
pub fn sys_poll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let timeout_ms = a[2] as i32;
    let deadline = (timeout_ms >= 0).then(|| crate::time::monotonic_ns() + timeout_ms as u64 * 1_000_000);
    poll(ctx, a[0], a[1], deadline)
}

/// ppoll(2).
pub fn sys_ppoll(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[2] == 0 {
        None
    } else {
        let t = read_timespec(&ctx.mem(), a[2])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    poll(ctx, a[0], a[1], deadline)
}

fn poll(ctx: &SyscallCtx, fds_addr: u64, nfds: u64, deadline: Option<u64>) -> SysResult<u64> {
    const POLLIN: u16 = 1;
    const POLLOUT: u16 = 4;
    const POLLHUP: u16 = 0x10;
    const POLLNVAL: u16 = 0x20;
    if nfds > ctx.process.files.lock().limit().0 as u64 {
        return Err(Errno::EINVAL);
    }
    let mem = ctx.mem();
    let mut raw = alloc::vec![0u8; nfds as usize * 8];
    mem.read(fds_addr, &mut raw)?;
    let process = ctx.process.clone();
    let ready = ostd::task::wait_ticks_until(|| {
        let mut count = 0u64;
        for entry in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]);
            let mut revents = 0u16;
            if fd >= 0 {
                match process.files.lock().get(fd) {
                    Ok(f) => {
                        let r = f.readiness();
                        if r.readable && events & POLLIN != 0 {
                            revents |= POLLIN;
                        }
                        if r.writable && events & POLLOUT != 0 {
                            revents |= POLLOUT;
                        }
                        if r.hangup {
                            revents |= POLLHUP;
                        }
                    }
                    Err(_) => revents = POLLNVAL,
                }
            }
            entry[6..8].copy_from_slice(&revents.to_le_bytes());
            if revents != 0 {
                count += 1;
            }
        }
        if count > 0 || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Ok(count))
        } else if process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })?;
    mem.write(fds_addr, &raw)?;
    Ok(ready)
}

/// pselect6(2) / select(2).
pub fn sys_pselect6(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let t = read_timespec(&ctx.mem(), a[4])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

/// select(2).
pub fn sys_select(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let deadline = if a[4] == 0 {
        None
    } else {
        let t = read_timeval(&ctx.mem(), a[4])?;
        Some(crate::time::deadline_after(t.sec as u64, t.nsec as u64))
    };
    select(ctx, a[0], [a[1], a[2], a[3]], deadline)
}

fn select(ctx: &SyscallCtx, nfds: u64, sets: [u64; 3], deadline: Option<u64>) -> SysResult<u64> {
    // nfds is an int; Linux clips it to the descriptor table's size rather than refusing it.
    let nfds = u64::try_from(nfds as i32).map_err(|_| Errno::EINVAL)?.min(ctx.process.files.lock().limit().0 as u64);
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mem = ctx.mem();
    let mut input = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.read(addr, &mut input[i])?;
        }
    }
    // The descriptors named in any set, with which sets name them: looked up once, here
    // (EBADF for a closed one), so each wake-up only asks the files for their readiness.
    let mut watched: alloc::vec::Vec<(usize, [bool; 3], alloc::sync::Arc<dyn crate::fs::FileLike>)> = alloc::vec::Vec::new();
    let files = ctx.process.files.lock();
    for (word, chunk) in (0..bytes / 8).map(|w| (w, w * 8..w * 8 + 8)) {
        let words = [0, 1, 2].map(|i| u64::from_le_bytes(input[i][chunk.clone()].try_into().unwrap_or([0; 8])));
        let mut any = words[0] | words[1] | words[2];
        while any != 0 {
            let bit = any.trailing_zeros() as usize;
            any &= any - 1;
            let fd = word * 64 + bit;
            if fd >= nfds as usize {
                break;
            }
            let file = files.get(fd as i32).map_err(|_| Errno::EBADF)?;
            watched.push((fd, [0, 1, 2].map(|i| words[i] & (1 << bit) != 0), file));
        }
    }
    drop(files);
    let (count, output) = ostd::task::wait_ticks_until(|| {
        let mut out = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
        let mut count = 0u64;
        for (fd, wanted, file) in &watched {
            let r = file.readiness();
            for (i, ready) in [r.readable || r.hangup, r.writable, false].into_iter().enumerate() {
                if ready && wanted[i] {
                    out[i][fd / 8] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
        if count > 0 || deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Ok((count, out)))
        } else if ctx.process.has_pending_signal() {
            Some(Err(Errno::EINTR))
        } else {
            None
        }
    })?;
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 {
            mem.write(addr, &output[i])?;
        }
    }
    Ok(count)
}
