//! Copies between kernel memory and user addresses that may fault.
//!
//! `copy_user` is one `rep movsb`. If it faults on a user page that the address space's
//! page-fault handler cannot fill, the trap handler resumes it at `copy_user_fault` with
//! `rcx` still counting the bytes left, and the copy returns that count.

use super::{USER_END, Vaddr};

core::arch::global_asm!(
    ".section .text.copy_user, \"ax\"",
    ".global ostd_copy_user",
    ".global ostd_copy_user_movsb",
    ".global ostd_copy_user_fault",
    "ostd_copy_user:",
    "    mov rcx, rdx",
    "ostd_copy_user_movsb:",
    "    rep movsb",
    "ostd_copy_user_fault:",
    "    mov rax, rcx",
    "    ret",
);

unsafe extern "C" {
    fn ostd_copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static ostd_copy_user_movsb: u8;
    static ostd_copy_user_fault: u8;
}

/// If `rip` is the faulting copy instruction, returns where to resume it.
pub(crate) fn fixup_for(rip: u64) -> Option<u64> {
    let (movsb, fault) = (&raw const ostd_copy_user_movsb as u64, &raw const ostd_copy_user_fault as u64);
    (rip == movsb).then_some(fault)
}

/// Returns whether `[addr, addr+len)` lies in user space without wrapping.
pub(super) fn is_user_range(addr: Vaddr, len: usize) -> bool {
    addr.checked_add(len as u64).is_some_and(|end| end <= USER_END)
}

/// Copies from user `src` into `dst`; returns the bytes not copied (0 on success).
///
/// The caller has checked that the range is user space and that its address space is the
/// active one.
pub(super) fn copy_from_user(dst: &mut [u8], src: Vaddr) -> usize {
    debug_assert!(is_user_range(src, dst.len()));
    // SAFETY: `dst` is a valid kernel buffer of its length. `src` is a user-half address
    // (checked by the caller), so the copy reads only user pages of the active space; any
    // fault there is resolved or redirected to `ostd_copy_user_fault` by the trap handler.
    unsafe { ostd_copy_user(dst.as_mut_ptr(), src as *const u8, dst.len()) }
}

/// Copies `src` to user `dst`; returns the bytes not copied (0 on success).
pub(super) fn copy_to_user(dst: Vaddr, src: &[u8]) -> usize {
    debug_assert!(is_user_range(dst, src.len()));
    // SAFETY: as in `copy_from_user`, with the roles swapped; writes go only to user pages,
    // which no Rust reference in the kernel points into.
    unsafe { ostd_copy_user(dst as *mut u8, src.as_ptr(), src.len()) }
}
