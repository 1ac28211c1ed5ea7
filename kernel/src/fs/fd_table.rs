//! File descriptor tables.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::file::FileLike;
use crate::error::{Errno, SysResult};

/// RLIMIT_NOFILE's default soft limit: the most descriptors a process may have open.
pub const DEFAULT_NOFILE: usize = 1024;
/// RLIMIT_NOFILE's default hard limit (Linux's INR_OPEN_MAX).
pub const DEFAULT_NOFILE_HARD: usize = 4096;
/// The ceiling even root cannot raise RLIMIT_NOFILE past (Linux's fs.nr_open: from 64 to
/// the largest multiple of 64 that is an int).
pub static NR_OPEN: crate::sysctl::IntTunable =
    crate::sysctl::IntTunable::new(1 << 20, 64, 2_147_483_584);

/// One slot.
#[derive(Clone)]
pub struct FdEntry {
    /// The open file.
    pub file: Arc<dyn FileLike>,
    /// FD_CLOEXEC.
    pub cloexec: bool,
}

/// A process's descriptors, and RLIMIT_NOFILE, which bounds them (inherited with them).
#[derive(Clone)]
pub struct FdTable {
    slots: Vec<Option<FdEntry>>,
    /// RLIMIT_NOFILE (soft, hard).
    limit: (usize, usize),
}

impl Default for FdTable {
    fn default() -> Self {
        Self { slots: Vec::new(), limit: (DEFAULT_NOFILE, DEFAULT_NOFILE_HARD) }
    }
}

impl FdTable {
    /// Creates an empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// RLIMIT_NOFILE: (soft, hard).
    pub fn limit(&self) -> (usize, usize) {
        self.limit
    }

    /// Sets RLIMIT_NOFILE (the caller checked privilege and soft <= hard <= NR_OPEN).
    pub fn set_limit(&mut self, soft: usize, hard: usize) {
        self.limit = (soft, hard);
    }

    /// Returns the file at `fd`.
    pub fn get(&self, fd: i32) -> SysResult<Arc<dyn FileLike>> {
        self.entry(fd).map(|e| e.file.clone())
    }

    /// Returns the slot at `fd`.
    pub fn entry(&self, fd: i32) -> SysResult<&FdEntry> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .ok_or(Errno::EBADF)
    }

    /// Sets FD_CLOEXEC on `fd`.
    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> SysResult<()> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)?;
        slot.cloexec = cloexec;
        Ok(())
    }

    /// Installs `file` at the lowest free descriptor `>= min`.
    pub fn insert_from(
        &mut self,
        min: usize,
        file: Arc<dyn FileLike>,
        cloexec: bool,
    ) -> SysResult<i32> {
        if min >= self.limit.0 {
            return Err(Errno::EINVAL);
        }
        let fd = (min..self.limit.0)
            .find(|&i| self.slots.get(i).is_none_or(|s| s.is_none()))
            .ok_or(Errno::EMFILE)?;
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(FdEntry { file, cloexec });
        Ok(fd as i32)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: Arc<dyn FileLike>, cloexec: bool) -> SysResult<i32> {
        self.insert_from(0, file, cloexec)
    }

    /// Installs `file` at exactly `fd`, closing what was there; returns the old file.
    pub fn insert_at(
        &mut self,
        fd: i32,
        file: Arc<dyn FileLike>,
        cloexec: bool,
    ) -> SysResult<Option<Arc<dyn FileLike>>> {
        let i = usize::try_from(fd).ok().filter(|&i| i < self.limit.0).ok_or(Errno::EBADF)?;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        Ok(self.slots[i].replace(FdEntry { file, cloexec }).map(|e| e.file))
    }

    /// Closes `fd`, returning the file.
    pub fn remove(&mut self, fd: i32) -> SysResult<Arc<dyn FileLike>> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.take())
            .map(|e| e.file)
            .ok_or(Errno::EBADF)
    }

    /// Closes the descriptors in `first..=last` (or marks them close-on-exec), returning
    /// the closed files so they are dropped outside the table's lock.
    pub fn close_range(
        &mut self,
        first: usize,
        last: usize,
        cloexec_only: bool,
    ) -> Vec<Arc<dyn FileLike>> {
        let mut closed = Vec::new();
        let end = last.saturating_add(1).min(self.slots.len());
        for slot in self.slots.iter_mut().take(end).skip(first) {
            if cloexec_only {
                if let Some(e) = slot.as_mut() {
                    e.cloexec = true;
                }
            } else if let Some(e) = slot.take() {
                closed.push(e.file);
            }
        }
        closed
    }

    /// Closes every close-on-exec descriptor, returning the files.
    pub fn close_on_exec(&mut self) -> Vec<Arc<dyn FileLike>> {
        let mut closed = Vec::new();
        for slot in self.slots.iter_mut() {
            if slot.as_ref().is_some_and(|e| e.cloexec)
                && let Some(e) = slot.take()
            {
                closed.push(e.file);
            }
        }
        closed
    }

    /// Returns the open descriptors.
    pub fn fds(&self) -> impl Iterator<Item = (i32, &FdEntry)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|e| (i as i32, e)))
    }
}
