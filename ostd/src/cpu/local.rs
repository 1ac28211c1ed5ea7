//! The per-CPU area, reached through the GS base while in the kernel.
//!
//! The entry code (syscall and trap trampolines from user mode) finds the kernel stack and the
//! current user context here with `gs:[offset]`, after `swapgs`. Layout is fixed: the
//! offsets are part of the contract with `trap/entry.S` and `user.rs`.

use core::sync::atomic::{AtomicBool, Ordering};

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
    /// Live [`DisabledIrqGuard`](crate::sync::DisabledIrqGuard)s on this CPU (offset 32).
    /// Rust only, with local interrupts off; see `sync::irq_guard`.
    pub irq_depth: u64,
    /// Whether interrupts were on when the outermost live guard was made (offset 40).
    pub irq_outer_enabled: bool,
}

// The offsets are shared with trap/entry.S (PCPU_SCRATCH, PCPU_KERNEL_RSP, PCPU_USER_CTX).
const _: () = {
    assert!(core::mem::offset_of!(PerCpu, scratch) == 8);
    assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == 16);
    assert!(core::mem::offset_of!(PerCpu, user_ctx) == 24);
};

/// The bootstrap CPU's block. Only the entry assembly reads or writes it, through GS.
static mut BSP: PerCpu = PerCpu {
    self_ptr: 0,
    scratch: 0,
    kernel_rsp: 0,
    user_ctx: 0,
    irq_depth: 0,
    irq_outer_enabled: false,
};

/// Whether GS points at the per-CPU block. Before that only the bootstrap CPU runs, so
/// [`this_cpu`] can name its block directly. A CPU brought up later must set its GS base
/// before it takes its first lock.
static GS_READY: AtomicBool = AtomicBool::new(false);

pub(super) fn init() {
    let base = &raw mut BSP as u64;
    // SAFETY: writing our own block's address into its first field before anything reads
    // it; nothing else references the static.
    unsafe { (*(&raw mut BSP)).self_ptr = base };
    GsBase::write(VirtAddr::new(base));
    KernelGsBase::write(VirtAddr::new(0));
    GS_READY.store(true, Ordering::Release);
}

/// Returns a pointer to the running CPU's block.
///
/// The pointer is valid for the kernel's lifetime (the blocks are statics). It stays *this*
/// CPU's only while the caller cannot migrate, that is, with local interrupts off.
#[inline]
pub(crate) fn this_cpu() -> *mut PerCpu {
    if !GS_READY.load(Ordering::Acquire) {
        return &raw mut BSP;
    }
    let block: u64;
    // The only windows with the user's GS are a few instructions in entry.S around each
    // swapgs, with IF clear; the NMI and machine check, which IF does not mask, never run
    // Rust that reads GS (entry.S, trap_fatal_event).
    // SAFETY: in all Rust code GS points at this CPU's block (set by `init`, swapped back on
    // every way in from user mode), whose first field is its own address; the load reads
    // only that field and changes no register but the output, nor the flags.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) block, options(nostack, preserves_flags, readonly))
    };
    block as *mut PerCpu
}
