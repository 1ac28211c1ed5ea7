//! Reading and writing the calling process's memory, for syscalls.
//!
//! Every pointer a syscall receives goes through here: a bad one is `EFAULT`, never a
//! kernel fault. The address space must be the active one (it is, on the calling task).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::mm::dma::{DmaStream, FromDevice, ToDevice, UserDmaError};
use ostd::mm::{PAGE_SIZE, VmSpace};

use crate::error::{Errno, SysResult};

/// Checks that `[addr, addr + len)` lies in the user half of the address space, as Linux's
/// `access_ok` does before a call that may not touch the memory at all (a wake on a futex
/// word, an empty event list): a kernel or non-canonical pointer is `EFAULT` even then.
pub fn range_ok(addr: u64, len: u64) -> SysResult<()> {
    match addr.checked_add(len) {
        Some(end) if end <= ostd::mm::USER_END => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// A process's user memory.
#[derive(Clone)]
pub struct UserMem {
    space: Arc<VmSpace>,
}

impl UserMem {
    /// Wraps an address space.
    pub fn new(space: Arc<VmSpace>) -> Self {
        Self { space }
    }

    /// Copies `buf.len()` bytes from user address `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> SysResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.space.read_bytes(addr, buf).map_err(|_| Errno::EFAULT)
    }

    /// Copies `buf` to user address `addr`.
    pub fn write(&self, addr: u64, buf: &[u8]) -> SysResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.space.write_bytes(addr, buf).map_err(|_| Errno::EFAULT)
    }

    /// Copies `len` bytes a device wrote into `bounce` at `offset` to user address `addr`
    /// (an O_DIRECT read: one copy, from the shared pool to the caller).
    pub fn write_from_device(
        &self,
        addr: u64,
        bounce: &DmaStream<FromDevice>,
        offset: usize,
        len: usize,
    ) -> SysResult<()> {
        match bounce.sync_from_device_to_user(offset, &self.space, addr, len) {
            Ok(()) => Ok(()),
            Err(UserDmaError::User(_)) => Err(Errno::EFAULT),
            // The caller's offsets lie inside its own buffer: a kernel bug, not the user's.
            Err(UserDmaError::Dma(e)) => {
                log::error!("a direct read's bounce range is wrong: {e:?}");
                Err(Errno::EIO)
            }
        }
    }

    /// Copies `len` bytes from user address `addr` into `bounce` at `offset`, for a device
    /// to read (an O_DIRECT write: one copy, from the caller to the shared pool).
    pub fn read_to_device(
        &self,
        addr: u64,
        bounce: &DmaStream<ToDevice>,
        offset: usize,
        len: usize,
    ) -> SysResult<()> {
        match bounce.sync_to_device_from_user(offset, &self.space, addr, len) {
            Ok(()) => Ok(()),
            Err(UserDmaError::User(_)) => Err(Errno::EFAULT),
            Err(UserDmaError::Dma(e)) => {
                log::error!("a direct write's bounce range is wrong: {e:?}");
                Err(Errno::EIO)
            }
        }
    }

    /// Reads a little-endian u64.
    pub fn read_u64(&self, addr: u64) -> SysResult<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Reads a little-endian u32.
    pub fn read_u32(&self, addr: u64) -> SysResult<u32> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Writes a little-endian u64.
    pub fn write_u64(&self, addr: u64, v: u64) -> SysResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    /// Writes a little-endian u32.
    pub fn write_u32(&self, addr: u64, v: u32) -> SysResult<()> {
        self.write(addr, &v.to_le_bytes())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (not counting the NUL).
    /// Longer is `ENAMETOOLONG`; invalid UTF-8 is accepted byte-for-byte (lossy).
    pub fn read_cstring(&self, addr: u64, max: usize) -> SysResult<String> {
        let bytes = self.read_cbytes(addr, max)?;
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Reads a NUL-terminated byte string of at most `max` bytes, as it is (ENAMETOOLONG if
    /// longer): for names that are bytes, not text (extended attributes).
    pub fn read_cbytes(&self, addr: u64, max: usize) -> SysResult<Vec<u8>> {
        let mut bytes = Vec::new();
        let mut at = addr;
        loop {
            // Never cross a page in one copy: a fault then means this page is bad.
            let chunk = (PAGE_SIZE as u64 - at % PAGE_SIZE as u64).min(256) as usize;
            let mut buf = [0u8; 256];
            self.read(at, &mut buf[..chunk])?;
            if let Some(nul) = buf[..chunk].iter().position(|&b| b == 0) {
                bytes.extend_from_slice(&buf[..nul]);
                break;
            }
            bytes.extend_from_slice(&buf[..chunk]);
            if bytes.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            at = at.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
        }
        if bytes.len() > max {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(bytes)
    }

    /// Reads a NULL-terminated array of string pointers (argv, envp), within Linux's limits.
    pub fn read_string_array(&self, addr: u64) -> SysResult<Vec<String>> {
        const MAX_STRINGS: usize = 0x7fff_ffff / 8;
        const MAX_TOTAL: usize = 2 * 1024 * 1024;
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        let mut total = 0;
        for i in 0..MAX_STRINGS {
            let ptr = self.read_u64(addr + 8 * i as u64)?;
            if ptr == 0 {
                return Ok(out);
            }
            // MAX_ARG_STRLEN (32 pages) counts the NUL.
            let s = self
                .read_cstring(ptr, 128 * 1024 - 1)
                .map_err(|e| if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e })?;
            total += s.len() + 1 + 8;
            if total > MAX_TOTAL {
                return Err(Errno::E2BIG);
            }
            out.push(s);
        }
        Err(Errno::E2BIG)
    }
}
