//! Robust futexes: the list of locks a thread holds (set_robust_list), walked when the
//! thread ends so that each lock it still owned is marked FUTEX_OWNER_DIED and one waiter
//! is woken to take it over (Linux's exit_robust_list and handle_futex_death).
//!
//! The list lives in user memory and is the user's to corrupt: every read may fail (the
//! walk then stops), the walk stops after [`LIST_LIMIT`] entries (a cycle cannot hold it),
//! and a word is changed only if it names the dying thread.

use alloc::sync::Arc;

use ostd::mm::VmSpace;

use super::futex;
use crate::user_mem::UserMem;

/// The size of `struct robust_list_head`, the only length set_robust_list accepts.
pub const HEAD_LEN: u64 = 24;
/// The most entries walked (Linux's ROBUST_LIST_LIMIT).
const LIST_LIMIT: usize = 2048;
/// The owner's thread ID in a robust futex word.
const TID_MASK: u32 = 0x3fff_ffff;
/// Set in the word when others wait for the lock.
const WAITERS: u32 = 0x8000_0000;
/// Set in the word when its owner died holding it.
const OWNER_DIED: u32 = 0x4000_0000;

/// Reads a list pointer: the entry, and whether it is a priority-inheritance futex (bit 0).
fn entry_at(mem: &UserMem, addr: u64) -> Option<(u64, bool)> {
    let value = mem.read_u64(addr).ok()?;
    Some((value & !1, value & 1 != 0))
}

/// Walks the robust list at `head` for thread `tid`, which is ending.
pub fn release_all(space: &Arc<VmSpace>, head: u64, tid: u32) {
    let mem = UserMem::new(space.clone());
    // struct robust_list_head { list.next; long futex_offset; list_op_pending; }
    let Some((mut entry, mut pi)) = entry_at(&mem, head) else { return };
    let Ok(offset) = mem.read_u64(head + 8) else { return };
    let Some((pending, pending_pi)) = entry_at(&mem, head + 16) else { return };
    let mut walked = 0;
    while entry != head && walked < LIST_LIMIT {
        let next = entry_at(&mem, entry);
        if entry != pending && !owner_died(space, &mem, entry.wrapping_add(offset), tid, pi, false)
        {
            return;
        }
        let Some((next_entry, next_pi)) = next else { return };
        (entry, pi) = (next_entry, next_pi);
        walked += 1;
    }
    if pending != 0 {
        owner_died(space, &mem, pending.wrapping_add(offset), tid, pending_pi, true);
    }
}

/// Marks the lock word at `uaddr` as its owner's death leaves it, if `tid` owns it, and
/// wakes a waiter; a pending operation on an unowned word wakes one too (the dying thread
/// may have been about to). Returns false if the word cannot be read or changed.
fn owner_died(
    space: &Arc<VmSpace>,
    mem: &UserMem,
    uaddr: u64,
    tid: u32,
    pi: bool,
    pending: bool,
) -> bool {
    if !uaddr.is_multiple_of(4) {
        return false;
    }
    let Ok(value) = mem.read_u32(uaddr) else { return false };
    if pending && !pi && value == 0 {
        futex::wake_address(space, uaddr);
        return true;
    }
    let updated = futex::update_word(mem, uaddr, |old| {
        (old & TID_MASK == tid).then_some((old & WAITERS) | OWNER_DIED)
    });
    match updated {
        Ok(Some(old)) => {
            if !pi && old & WAITERS != 0 {
                futex::wake_address(space, uaddr);
            }
            true
        }
        Ok(None) => true,
        Err(_) => false,
    }
}
