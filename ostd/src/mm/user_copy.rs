//! Copies between kernel memory and user addresses that may fault.
//!
//! This is the only code that touches user memory from the kernel. Each copy moves eight
//! bytes per step (`rep movsq`, fast under QEMU's TCG, which emulates string instructions one
//! step at a time), then the tail with `rep movsb`. If a step faults on a user page that the
//! address space's page-fault handler cannot fill (or copy, for a write to a copy-on-write
//! page under CR0.WP), the trap handler resumes the routine at the label that matches the
//! faulting instruction:
//! - in the eight-byte loop, at `..._qfault`, which turns the steps left into bytes and
//!   finishes with `rep movsb` from where the copy stopped: that copies byte by byte up to
//!   the faulting byte, so the count returned is exact (as Linux's), not rounded to eight;
//! - in the byte loop, at `..._fault`, with `rcx` still counting the bytes left, which the
//!   copy returns.
//!
//! With SMAP on, the kernel may touch user pages only while RFLAGS.AC is set: the SMAP variant
//! sets it (STAC) before the copy and clears it (CLAC) at the fault label, which the normal
//! path and both fixups pass through. A trap taken in the middle of the copy runs its handler
//! with AC clear (every entry into Rust loads RFLAGS), and `iretq` restores the interrupted
//! RFLAGS, AC included, at the instruction or the fixup label it resumes. STAC and CLAC are
//! invalid opcodes on a CPU without SMAP, hence the plain variant.

use super::{USER_END, Vaddr};

core::arch::global_asm!(
    ".section .text.copy_user, \"ax\"",
    ".global ostd_copy_user",
    ".global ostd_copy_user_movsq",
    ".global ostd_copy_user_qfault",
    ".global ostd_copy_user_movsb",
    ".global ostd_copy_user_fault",
    "ostd_copy_user:",
    "    mov rcx, rdx",
    "    shr rcx, 3",
    "    and edx, 7",
    "ostd_copy_user_movsq:",
    "    rep movsq",
    "    mov rcx, rdx",
    "ostd_copy_user_movsb:",
    "    rep movsb",
    "ostd_copy_user_fault:",
    "    mov rax, rcx",
    "    ret",
    "ostd_copy_user_qfault:",
    "    lea rcx, [rdx + rcx * 8]",
    "    jmp ostd_copy_user_movsb",
    "",
    ".global ostd_copy_user_smap",
    ".global ostd_copy_user_smap_movsq",
    ".global ostd_copy_user_smap_qfault",
    ".global ostd_copy_user_smap_movsb",
    ".global ostd_copy_user_smap_fault",
    "ostd_copy_user_smap:",
    "    mov rcx, rdx",
    "    shr rcx, 3",
    "    and edx, 7",
    "    stac",
    "ostd_copy_user_smap_movsq:",
    "    rep movsq",
    "    mov rcx, rdx",
    "ostd_copy_user_smap_movsb:",
    "    rep movsb",
    "ostd_copy_user_smap_fault:",
    "    clac",
    "    mov rax, rcx",
    "    ret",
    "ostd_copy_user_smap_qfault:",
    "    lea rcx, [rdx + rcx * 8]",
    "    jmp ostd_copy_user_smap_movsb",
);

unsafe extern "C" {
    fn ostd_copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static ostd_copy_user_movsq: u8;
    static ostd_copy_user_qfault: u8;
    static ostd_copy_user_movsb: u8;
    static ostd_copy_user_fault: u8;
    fn ostd_copy_user_smap(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static ostd_copy_user_smap_movsq: u8;
    static ostd_copy_user_smap_qfault: u8;
    static ostd_copy_user_smap_movsb: u8;
    static ostd_copy_user_smap_fault: u8;
}

/// If `rip` is a faulting copy instruction, returns where to resume it.
pub(crate) fn fixup_for(rip: u64) -> Option<u64> {
    let routines = [
        (&raw const ostd_copy_user_movsq as u64, &raw const ostd_copy_user_qfault as u64),
        (&raw const ostd_copy_user_movsb as u64, &raw const ostd_copy_user_fault as u64),
        (&raw const ostd_copy_user_smap_movsq as u64, &raw const ostd_copy_user_smap_qfault as u64),
        (&raw const ostd_copy_user_smap_movsb as u64, &raw const ostd_copy_user_smap_fault as u64),
    ];
    routines.into_iter().find(|&(insn, _)| insn == rip).map(|(_, fault)| fault)
}

/// Returns whether `[addr, addr+len)` lies in user space without wrapping.
pub(super) fn is_user_range(addr: Vaddr, len: usize) -> bool {
    addr.checked_add(len as u64).is_some_and(|end| end <= USER_END)
}

/// Runs the copy routine that matches the CPU's SMAP setting.
///
/// # Safety
/// `dst..dst+len` and `src..src+len` must each be either a valid kernel buffer or a user-space
/// range of the active address space, with exactly one of them in user space.
unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
    // SAFETY: the caller upholds the contract above. The SMAP routine runs only when SMAP is
    // on, so the CPU has STAC and CLAC.
    unsafe {
        if crate::cpu::smap_enabled() {
            ostd_copy_user_smap(dst, src, len)
        } else {
            ostd_copy_user(dst, src, len)
        }
    }
}

/// Copies from user `src` into `dst`; returns the bytes not copied (0 on success).
///
/// The caller has checked that the range is user space and that its address space is the
/// active one.
pub(super) fn copy_from_user(dst: &mut [u8], src: Vaddr) -> usize {
    debug_assert!(is_user_range(src, dst.len()));
    // SAFETY: `dst` is a valid kernel buffer of its length. `src` is a user-half address
    // (checked by the caller), so the copy reads only user pages of the active space; any
    // fault there is resolved or redirected to the fault label by the trap handler.
    unsafe { copy(dst.as_mut_ptr(), src as *const u8, dst.len()) }
}

/// Copies `src` to user `dst`; returns the bytes not copied (0 on success).
pub(super) fn copy_to_user(dst: Vaddr, src: &[u8]) -> usize {
    debug_assert!(is_user_range(dst, src.len()));
    // SAFETY: as in `copy_from_user`, with the roles swapped; writes go only to user pages,
    // which no Rust reference in the kernel points into.
    unsafe { copy(dst as *mut u8, src.as_ptr(), src.len()) }
}
