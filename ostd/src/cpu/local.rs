//! The per-CPU area, reached through the GS base while in the kernel.
//!
//! The entry code (syscall and trap trampolines from user mode) finds the kernel stack and the
//! current user context here with `gs:[offset]`, after `swapgs`. Layout is fixed: the
//! offsets are part of the contract with `trap/entry.S` and `user.rs`.

use x86_64::VirtAddr;
use x86_64::registers::model_specific::{GsBase, KernelGsBase};

/// The per-CPU block.
#[repr(C)]
pub(crate) struct PerCpu {
    /// This block's own address (offset 0).
    pub self_ptr: u64,
    /// Scratch for the entry code (offset 8).
    pub scratch: u64,
    /// The kernel stack pointer saved when entering user mode (offset 16).
    pub kernel_rsp: u64,
    /// The `UserContext` being run (offset 24).
    pub user_ctx: u64,
}

// The offsets are shared with trap/entry.S (PCPU_SCRATCH, PCPU_KERNEL_RSP, PCPU_USER_CTX).
const _: () = {
    assert!(core::mem::offset_of!(PerCpu, scratch) == 8);
    assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == 16);
    assert!(core::mem::offset_of!(PerCpu, user_ctx) == 24);
};

/// The bootstrap CPU's block. Only the entry assembly reads or writes it, through GS.
static mut BSP: PerCpu = PerCpu { self_ptr: 0, scratch: 0, kernel_rsp: 0, user_ctx: 0 };

pub(super) fn init() {
    let base = &raw mut BSP as u64;
    // SAFETY: writing our own block's address into its first field before anything reads
    // it; nothing else references the static.
    unsafe { (*(&raw mut BSP)).self_ptr = base };
    GsBase::write(VirtAddr::new(base));
    KernelGsBase::write(VirtAddr::new(0));
}
