//! Copies between kernel memory and user addresses that may fault.
//!
//! This is the only code that touches user memory from the kernel. Each copy moves 64 bytes
//! per step through eight registers (the shape of `crate::rt::copy_forward`, several times
//! faster than string instructions under QEMU's TCG), then the tail with `rep movsb`. `rcx`
//! counts the bytes left, and `rsi`/`rdi` advance only when a whole block is done. If a load
//! or store faults on a user page that the address space's page-fault handler cannot fill (or
//! copy, for a write to a copy-on-write page under CR0.WP), the trap handler resumes the
//! routine at the label that matches the faulting instruction:
//! - in the 64-byte loop, at `..._movsb`: the block restarts byte by byte from its start
//!   (bytes it already moved are moved again, harmlessly) up to the faulting byte, so the
//!   count returned is exact (as Linux's), not rounded to a block;
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
    ".global ostd_copy_user_loop",
    ".global ostd_copy_user_loop_end",
    ".global ostd_copy_user_movsb",
    ".global ostd_copy_user_fault",
    "ostd_copy_user:",
    "    mov rcx, rdx",
    "ostd_copy_user_loop:",
    "    cmp rcx, 64",
    "    jb ostd_copy_user_movsb",
    crate::rt::copy_64_bytes!(),
    "    jmp ostd_copy_user_loop",
    "ostd_copy_user_loop_end:",
    "ostd_copy_user_movsb:",
    "    rep movsb",
    "ostd_copy_user_fault:",
    "    mov rax, rcx",
    "    ret",
    "",
    ".global ostd_copy_user_smap",
    ".global ostd_copy_user_smap_loop",
    ".global ostd_copy_user_smap_loop_end",
    ".global ostd_copy_user_smap_movsb",
    ".global ostd_copy_user_smap_fault",
    "ostd_copy_user_smap:",
    "    mov rcx, rdx",
    "    stac",
    "ostd_copy_user_smap_loop:",
    "    cmp rcx, 64",
    "    jb ostd_copy_user_smap_movsb",
    crate::rt::copy_64_bytes!(),
    "    jmp ostd_copy_user_smap_loop",
    "ostd_copy_user_smap_loop_end:",
    "ostd_copy_user_smap_movsb:",
    "    rep movsb",
    "ostd_copy_user_smap_fault:",
    "    clac",
    "    mov rax, rcx",
    "    ret",
);

unsafe extern "C" {
    fn ostd_copy_user(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static ostd_copy_user_loop: u8;
    static ostd_copy_user_loop_end: u8;
    static ostd_copy_user_movsb: u8;
    static ostd_copy_user_fault: u8;
    fn ostd_copy_user_smap(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static ostd_copy_user_smap_loop: u8;
    static ostd_copy_user_smap_loop_end: u8;
    static ostd_copy_user_smap_movsb: u8;
    static ostd_copy_user_smap_fault: u8;
}

/// If `rip` is a faulting copy instruction, returns where to resume it.
pub(crate) fn fixup_for(rip: u64) -> Option<u64> {
    let routines = [
        (
            &raw const ostd_copy_user_loop as u64,
            &raw const ostd_copy_user_loop_end as u64,
            &raw const ostd_copy_user_movsb as u64,
            &raw const ostd_copy_user_fault as u64,
        ),
        (
            &raw const ostd_copy_user_smap_loop as u64,
            &raw const ostd_copy_user_smap_loop_end as u64,
            &raw const ostd_copy_user_smap_movsb as u64,
            &raw const ostd_copy_user_smap_fault as u64,
        ),
    ];
    routines.into_iter().find_map(|(loop_start, loop_end, movsb, fault)| {
        if (loop_start..loop_end).contains(&rip) {
            // A load or store of the 64-byte loop: the block restarts byte by byte.
            Some(movsb)
        } else {
            (rip == movsb).then_some(fault)
        }
    })
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

/// Copies `len` bytes from kernel memory at `src` to user `dst`; returns the bytes not
/// copied (0 on success).
///
/// # Safety
/// `dst..dst + len` is user space of the active address space; `src..src + len` is kernel
/// memory readable for the whole call.
pub(super) unsafe fn copy_to_user_raw(dst: Vaddr, src: *const u8, len: usize) -> usize {
    debug_assert!(is_user_range(dst, len));
    // SAFETY: the caller's contract is `copy`'s, with the user range on the destination side.
    unsafe { copy(dst as *mut u8, src, len) }
}

/// Copies `len` bytes from user `src` to kernel memory at `dst`; returns the bytes not
/// copied (0 on success).
///
/// # Safety
/// `src..src + len` is user space of the active address space; `dst..dst + len` is kernel
/// memory writable for the whole call that no Rust reference points into.
pub(super) unsafe fn copy_from_user_raw(dst: *mut u8, src: Vaddr, len: usize) -> usize {
    debug_assert!(is_user_range(src, len));
    // SAFETY: the caller's contract is `copy`'s, with the user range on the source side.
    unsafe { copy(dst, src as *const u8, len) }
}
