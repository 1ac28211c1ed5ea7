//! Reading and writing another process's memory (PEEKDATA, POKEDATA), through its frames
//! rather than its page tables: its address space need not be the active one.
//!
//! As Linux's FOLL_FORCE, a ptrace write goes through write protection: a page the tracee
//! may not write (its text, or a copy-on-write page shared with another process) is first
//! replaced by a private copy, so that a breakpoint lands in the tracee alone.
//! process_vm_writev writes only where the process itself could ([`write_page_as_owner`]).

use ostd::mm::{PAGE_SIZE, PageAccess, PageFaultInfo, PageFlags, VmSpace};

use crate::error::{Errno, SysResult};

const PAGE: u64 = PAGE_SIZE as u64;

/// Returns the frame at `page`, faulting it in as the tracee's own `access` would.
fn frame_at(space: &VmSpace, page: u64, access: PageAccess) -> SysResult<ostd::mm::Frame> {
    if let Some(frame) = space.clone_frame_at(page) {
        return Ok(frame);
    }
    let info = PageFaultInfo { addr: page, access, present: false, user: true };
    space.handle_page_fault(&info).map_err(|()| Errno::EIO)?;
    space.clone_frame_at(page).ok_or(Errno::EIO)
}

/// Copies `buf.len()` bytes of `space` at `addr` into `buf`.
///
/// # Errors
/// EIO if any byte is not mapped (or cannot be faulted in).
pub fn read(space: &VmSpace, addr: u64, buf: &mut [u8]) -> SysResult<()> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = addr.checked_add(done as u64).ok_or(Errno::EIO)?;
        let (page, offset) = (at & !(PAGE - 1), (at % PAGE) as usize);
        let n = (PAGE_SIZE - offset).min(buf.len() - done);
        let frame = frame_at(space, page, PageAccess::Read)?;
        frame.read_bytes(offset, &mut buf[done..done + n]);
        done += n;
    }
    Ok(())
}

/// Copies `buf` into `space` at `addr`, through write protection.
///
/// # Errors
/// EIO if any byte is not mapped, or no frame is free for a private copy.
pub fn write(space: &VmSpace, addr: u64, buf: &[u8]) -> SysResult<()> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = addr.checked_add(done as u64).ok_or(Errno::EIO)?;
        let (page, offset) = (at & !(PAGE - 1), (at % PAGE) as usize);
        let n = (PAGE_SIZE - offset).min(buf.len() - done);
        let frame = frame_at(space, page, PageAccess::Read)?;
        let (_, flags) = space.translate(page).ok_or(Errno::EIO)?;
        if flags.contains(PageFlags::WRITE) {
            // Writable by the tracee: its own page, or a shared mapping's (whose write-back
            // must hear of it).
            frame.write_bytes(offset, &buf[done..done + n]);
            space.mark_dirty(page);
        } else {
            let copy = crate::memory::alloc_user_frame().ok_or(Errno::EIO)?;
            copy.copy_from(&frame);
            copy.write_bytes(offset, &buf[done..done + n]);
            space.replace(page, copy, flags).map_err(|_| Errno::EIO)?;
        }
        done += n;
    }
    Ok(())
}

/// Copies `buf` (within one page) into `space` at `addr` as the owner's own write would:
/// a copy-on-write page is copied first, a page it may not write is refused.
///
/// # Errors
/// EFAULT if the page is not mapped writable (or cannot be faulted in).
pub fn write_page_as_owner(space: &VmSpace, addr: u64, buf: &[u8]) -> SysResult<()> {
    let (page, offset) = (addr & !(PAGE - 1), (addr % PAGE) as usize);
    if offset + buf.len() > PAGE_SIZE {
        return Err(Errno::EFAULT);
    }
    let writable = |space: &VmSpace| {
        space.translate(page).is_some_and(|(_, flags)| flags.contains(PageFlags::WRITE))
    };
    if !writable(space) {
        let present = space.translate(page).is_some();
        let info = PageFaultInfo { addr: page, access: PageAccess::Write, present, user: true };
        space.handle_page_fault(&info).map_err(|()| Errno::EFAULT)?;
        if !writable(space) {
            return Err(Errno::EFAULT);
        }
    }
    let frame = space.clone_frame_at(page).ok_or(Errno::EFAULT)?;
    frame.write_bytes(offset, buf);
    space.mark_dirty(page);
    Ok(())
}
