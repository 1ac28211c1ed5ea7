//! Where a transfer's bytes go and come from, so that O_DIRECT costs one copy where a driver
//! bounces through the shared pool: a read copies from the bounce buffers straight into the
//! caller's memory ([`ReadTarget`]), a write copies the caller's memory straight into bounce
//! buffers before any lock is taken ([`WriteData`]).

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::mm::dma::{DmaStream, FromDevice, ToDevice};

use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

/// The destination of a read of `len()` bytes; offsets are from its start.
pub enum ReadTarget<'a> {
    /// A kernel buffer.
    Kernel(&'a mut [u8]),
    /// `len` bytes of the calling process's memory from `addr`. Copies into it may fault in
    /// pages, which may read files: hold no filesystem or device lock while putting bytes
    /// here.
    User { mem: &'a UserMem, addr: u64, len: usize },
}

impl ReadTarget<'_> {
    /// The bytes the target holds.
    pub fn len(&self) -> usize {
        match self {
            Self::Kernel(buf) => buf.len(),
            Self::User { len, .. } => *len,
        }
    }

    /// The first `n` bytes of the target (all of it if it is shorter).
    pub fn prefix(&mut self, n: usize) -> ReadTarget<'_> {
        match self {
            Self::Kernel(buf) => {
                let n = n.min(buf.len());
                ReadTarget::Kernel(&mut buf[..n])
            }
            Self::User { mem, addr, len } => {
                ReadTarget::User { mem, addr: *addr, len: n.min(*len) }
            }
        }
    }

    /// EIO (a caller's bug, logged) unless `at..at + len` lies inside the target.
    fn check(&self, at: usize, len: usize) -> SysResult<()> {
        if at.checked_add(len).is_some_and(|end| end <= self.len()) {
            return Ok(());
        }
        log::error!("a read put {len} bytes at {at} into a target of {}", self.len());
        Err(Errno::EIO)
    }

    /// Fills bytes `at..at + len` with `read`, which is handed a buffer of `len` bytes and
    /// returns how many it filled: the kernel target's own memory, or for a user target a
    /// buffer copied out afterwards (for a source that cannot reach user memory itself).
    /// Returns what `read` returned.
    pub fn fill_with(
        &mut self,
        at: usize,
        len: usize,
        read: impl FnOnce(&mut [u8]) -> SysResult<usize>,
    ) -> SysResult<usize> {
        self.check(at, len)?;
        match self {
            Self::Kernel(buf) => read(&mut buf[at..at + len]),
            Self::User { .. } => {
                let mut data = alloc::vec![0u8; len];
                let n = read(&mut data)?.min(len);
                self.put(at, &data[..n])?;
                Ok(n)
            }
        }
    }

    /// Copies `bytes` to `at`.
    pub fn put(&mut self, at: usize, bytes: &[u8]) -> SysResult<()> {
        self.check(at, bytes.len())?;
        match self {
            Self::Kernel(buf) => {
                buf[at..at + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
            Self::User { mem, addr, .. } => mem.write(*addr + at as u64, bytes),
        }
    }

    /// Copies `len` bytes a device wrote into `bounce` at `from` to `at`.
    pub fn put_bounced(
        &mut self,
        at: usize,
        bounce: &DmaStream<FromDevice>,
        from: usize,
        len: usize,
    ) -> SysResult<()> {
        self.check(at, len)?;
        match self {
            Self::Kernel(buf) => {
                bounce.sync_from_device(from, &mut buf[at..at + len]).map_err(|_| Errno::EIO)
            }
            Self::User { mem, addr, .. } => {
                mem.write_from_device(*addr + at as u64, bounce, from, len)
            }
        }
    }

    /// Fills `len` bytes at `at` with zeros (a hole in a file).
    pub fn zero(&mut self, at: usize, len: usize) -> SysResult<()> {
        self.check(at, len)?;
        match self {
            Self::Kernel(buf) => {
                buf[at..at + len].fill(0);
                Ok(())
            }
            Self::User { mem, addr, .. } => {
                const ZEROS: [u8; 4096] = [0; 4096];
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(ZEROS.len());
                    mem.write(*addr + (at + done) as u64, &ZEROS[..n])?;
                    done += n;
                }
                Ok(())
            }
        }
    }
}

/// The bytes of a direct write, copied in from the caller before any filesystem or device
/// lock is taken (the copy may fault in a page of a file on the same disk). A device makes
/// it ([`super::BlockDevice::prepare_write`]): a bounce buffer in the shared pool if it
/// bounces, private memory otherwise.
pub enum WriteData {
    /// A bounce buffer the device reads from; parts of it may go to several places.
    Bounce(Arc<DmaStream<ToDevice>>),
    /// Private memory.
    Memory(Vec<u8>),
}

impl WriteData {
    /// The bytes held.
    pub fn len(&self) -> usize {
        match self {
            Self::Bounce(b) => b.len(),
            Self::Memory(v) => v.len(),
        }
    }

    /// Fills the whole buffer from user address `addr` (EFAULT if any of it is not readable).
    pub fn fill_from_user(&mut self, mem: &UserMem, addr: u64) -> SysResult<()> {
        match self {
            Self::Bounce(b) => mem.read_to_device(addr, b, 0, b.len()),
            Self::Memory(v) => mem.read(addr, v),
        }
    }

    /// The private bytes `from..from + len`, for a device that does not bounce (EIO, a
    /// caller's bug, for a bounce buffer, which is never read back: the host may have
    /// changed it).
    pub fn memory(&self, from: usize, len: usize) -> SysResult<&[u8]> {
        match self {
            Self::Memory(v) if from.checked_add(len).is_some_and(|end| end <= v.len()) => {
                Ok(&v[from..from + len])
            }
            _ => {
                log::error!("a direct write asked for private bytes {from}+{len} it does not have");
                Err(Errno::EIO)
            }
        }
    }
}
