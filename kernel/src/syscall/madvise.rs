//! madvise(2): advice on a range of the address space, checked and applied area by area as
//! Linux's madvise_walk_vmas and madvise_vma_behavior do.
//!
//! What changes here: DONTNEED drops private pages (anonymous ones refault zeroed, file
//! ones from the file), REMOVE zeroes a shared mapping's file range, DONTFORK and
//! WIPEONFORK change what fork gives the child, POPULATE_* faults pages in. The rest are
//! hints about paging, merging and huge pages that have nothing to act on here (nothing is
//! paged out), and succeed where Linux's checks let them. MADV_FREE keeps the pages, which
//! its contract allows. HWPOISON and SOFT_OFFLINE (memory-failure injection) are EINVAL,
//! as on a kernel built without CONFIG_MEMORY_FAILURE.

use ostd::mm::PAGE_SIZE;

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::vm::{Area, Prot};

const PAGE: u64 = PAGE_SIZE as u64;

const MADV_NORMAL: u64 = 0;
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;
const MADV_REMOVE: u64 = 9;
const MADV_DONTFORK: u64 = 10;
const MADV_DOFORK: u64 = 11;
const MADV_WIPEONFORK: u64 = 18;
const MADV_KEEPONFORK: u64 = 19;
const MADV_COLD: u64 = 20;
const MADV_PAGEOUT: u64 = 21;
const MADV_POPULATE_READ: u64 = 22;
const MADV_POPULATE_WRITE: u64 = 23;
const MADV_DONTNEED_LOCKED: u64 = 24;
const MADV_COLLAPSE: u64 = 25;

/// The advice Linux 6.1 on x86-64 knows (madvise_behavior_valid): 0-4, 8-25.
fn known(advice: u64) -> bool {
    matches!(advice, MADV_NORMAL..=MADV_DONTNEED | MADV_FREE..=MADV_COLLAPSE)
}

/// madvise(2), in Linux's order: EINVAL for unknown advice, a misaligned start or a length
/// that wraps; 0 for an empty range; then each mapped piece in turn (the first error
/// stops), and ENOMEM at the end if part of the range was not mapped.
pub fn sys_madvise(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, advice) = (a[0], a[1], a[2]);
    if !known(advice) || addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(PAGE - 1).map(|l| l & !(PAGE - 1)).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if end == addr {
        return Ok(0);
    }
    let pieces: alloc::vec::Vec<Area> = ctx
        .process
        .vm()
        .areas()
        .iter()
        .filter(|area| area.start < end && area.end > addr)
        .map(|area| area.piece(area.start.max(addr), area.end.min(end)))
        .collect();
    for piece in &pieces {
        advise(ctx, piece, advice)?;
    }
    let mapped: u64 = pieces.iter().map(|p| p.end - p.start).sum();
    if mapped < end - addr { Err(Errno::ENOMEM) } else { Ok(0) }
}

/// Applies `advice` to one mapped piece (Linux's madvise_vma_behavior).
fn advise(ctx: &SyscallCtx, piece: &Area, advice: u64) -> SysResult<()> {
    let vm = ctx.process.vm();
    let (start, end) = (piece.start, piece.end);
    match advice {
        MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
            if piece.locked && advice == MADV_DONTNEED {
                return Err(Errno::EINVAL);
            }
            // A shared mapping's pages are the file's: they stay (Linux drops only the
            // page-table entries, and the data is read back the same). A private one loses
            // its own copies: anonymous memory refaults zeroed, a file's pages come back.
            if !piece.shared {
                let _ = vm.space().unmap_range(start, end);
                if piece.file {
                    for (from, to, node, offset) in vm.files_in(start, end, true) {
                        let size = node.size();
                        for page in (from..to).step_by(PAGE_SIZE) {
                            let at = offset + (page - from);
                            if at < size {
                                let frame = node.page(at / PAGE)?;
                                vm.map_page(page, frame, piece.prot - Prot::WRITE)?;
                            }
                        }
                    }
                }
            }
        }
        MADV_FREE => {
            if piece.locked || piece.file {
                return Err(Errno::EINVAL);
            }
        }
        MADV_REMOVE => {
            if piece.locked || !piece.file {
                return Err(Errno::EINVAL);
            }
            if !piece.shared || !piece.prot.contains(Prot::WRITE) {
                return Err(Errno::EACCES);
            }
            let (node, offset) = vm.file_at(start, false).ok_or(Errno::EINVAL)?;
            node.punch_hole(offset, end - start)?;
        }
        MADV_DONTFORK | MADV_DOFORK => {
            let dont_fork = advice == MADV_DONTFORK;
            vm.areas().change_range(start, end, |a| a.dont_fork = dont_fork);
        }
        MADV_WIPEONFORK => {
            if piece.file || piece.shared {
                return Err(Errno::EINVAL);
            }
            vm.areas().change_range(start, end, |a| a.wipe_on_fork = true);
        }
        MADV_KEEPONFORK => vm.areas().change_range(start, end, |a| a.wipe_on_fork = false),
        MADV_COLD | MADV_PAGEOUT => {
            if piece.locked {
                return Err(Errno::EINVAL);
            }
        }
        MADV_POPULATE_READ | MADV_POPULATE_WRITE => {
            let needed = if advice == MADV_POPULATE_WRITE { Prot::WRITE } else { Prot::READ };
            if !piece.prot.contains(needed) {
                return Err(Errno::EINVAL);
            }
            // File pages are the file's and come in on access; anonymous ones are made now.
            if !piece.file {
                for page in (start..end).step_by(PAGE_SIZE) {
                    vm.ensure_page(page, piece.prot)?;
                }
            }
        }
        // No huge pages here: nothing to collapse (Linux's answer for memory that cannot be).
        MADV_COLLAPSE => return Err(Errno::EINVAL),
        // NORMAL, RANDOM, SEQUENTIAL, WILLNEED, MERGEABLE, UNMERGEABLE, HUGEPAGE,
        // NOHUGEPAGE, DONTDUMP, DODUMP: hints with nothing to act on.
        _ => {}
    }
    Ok(())
}
