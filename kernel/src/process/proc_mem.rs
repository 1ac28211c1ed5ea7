//! /proc/PID/mem: a process's memory as a file whose offsets are its addresses. Debuggers
//! (gdb) read and write the inferior through it rather than one word per PTRACE_PEEKDATA.
//!
//! As Linux's `mem_rw` (fs/proc/base.c): a transfer goes page by page and stops at the first
//! address that is not mapped, returning what it moved, or EIO if that was nothing; writes
//! go through write protection as ptrace's do (FOLL_FORCE), so a breakpoint can be planted
//! in text. A process that has exited has no memory left: reads and writes move nothing.
//!
//! Who may open it: the file is mode 0600 and belongs to the process's effective user (root
//! for a non-dumpable process), which is the part of Linux's PTRACE_MODE_ATTACH check that a
//! file's permissions can express; the process is looked up at each transfer, not at open.

use ostd::mm::PAGE_SIZE;

use super::ptrace::remote_mem;
use super::registry;
use crate::error::{Errno, SysResult};
use crate::fs::node::Generated;

const PAGE: u64 = PAGE_SIZE as u64;

/// The contents of /proc/PID/mem, for the process with this PID.
pub struct ProcMem(pub i32);

impl ProcMem {
    /// Moves `len` bytes at `addr` a page at a time through `step(addr, range)`; returns
    /// how many moved before the first failure.
    fn transfer(
        &self,
        addr: u64,
        len: usize,
        mut step: impl FnMut(&ostd::mm::VmSpace, u64, core::ops::Range<usize>) -> SysResult<()>,
    ) -> SysResult<usize> {
        let Some(process) = registry::get(self.0).filter(|p| !p.is_zombie()) else {
            return Ok(0);
        };
        let vm = process.vm();
        let mut done = 0usize;
        while done < len {
            let Some(at) = addr.checked_add(done as u64) else { break };
            let n = ((PAGE - at % PAGE) as usize).min(len - done);
            if step(vm.space(), at, done..done + n).is_err() {
                break;
            }
            done += n;
        }
        if done == 0 && len > 0 { Err(Errno::EIO) } else { Ok(done) }
    }
}

impl Generated for ProcMem {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let len = buf.len();
        self.transfer(offset, len, |space, at, range| remote_mem::read(space, at, &mut buf[range]))
    }

    fn write(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.transfer(offset, buf.len(), |space, at, range| {
            remote_mem::write(space, at, &buf[range])
        })
    }
}
