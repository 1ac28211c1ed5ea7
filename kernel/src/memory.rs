//! The memory budget: what user programs may take, and what always stays for the kernel.
//!
//! The kernel heap grows by taking frames, and an allocation that fails inside the kernel
//! has nowhere to report to. So memory taken on a user's behalf (anonymous pages, page
//! copies, file data in ramfs) stops short of a reserve that only the kernel may use. When a
//! user allocation hits the reserve, the caller answers ENOMEM/ENOSPC or, for a page fault,
//! asks the out-of-memory killer (`process::oom`) to make room.

use alloc::vec::Vec;

use ostd::mm::{Frame, PAGE_SIZE, frame_stats};

use crate::error::{Errno, SysResult};

/// Frames kept for the kernel: 1/32 of memory, at least 4 MiB.
fn reserve_frames(total: usize) -> usize {
    (total / 32).max((4 << 20) / PAGE_SIZE)
}

/// Returns whether `bytes` more may be taken for users without eating into the reserve.
pub fn user_may_take(bytes: usize) -> bool {
    let stats = frame_stats();
    stats.free.saturating_sub(bytes.div_ceil(PAGE_SIZE)) >= reserve_frames(stats.total)
}

/// Allocates a zeroed frame for a user page, or `None` if that would eat into the reserve.
pub fn alloc_user_frame() -> Option<Frame> {
    if !user_may_take(PAGE_SIZE) {
        return None;
    }
    Frame::alloc_zeroed()
}

/// vm.overcommit_memory: 0, Linux's heuristic (a single commitment larger than all of RAM
/// is refused), or 1, never refuse. Linux's 2 (strict accounting against a commit limit)
/// is refused with EINVAL: nothing here counts committed memory, and accepting it would
/// promise a limit that is not kept.
pub static OVERCOMMIT_MEMORY: crate::sysctl::IntTunable = crate::sysctl::IntTunable::new(0, 0, 1);

/// Returns whether a single commitment of `bytes` could ever be met: Linux's heuristic
/// overcommit (vm.overcommit_memory=0) refuses one larger than all of RAM (there is no
/// swap); with vm.overcommit_memory=1 every one could.
pub fn could_ever_fit(bytes: u64) -> bool {
    OVERCOMMIT_MEMORY.get() == 1 || bytes.div_ceil(PAGE_SIZE as u64) <= frame_stats().total as u64
}

/// Allocates a zeroed kernel buffer of `len` bytes whose size a user chose (a message to
/// send, say): ENOMEM, not a kernel panic, when it would not fit beside the reserve.
pub fn user_sized_buffer(len: usize) -> SysResult<Vec<u8>> {
    if !user_may_take(len) {
        return Err(Errno::ENOMEM);
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buf.resize(len, 0);
    Ok(buf)
}
