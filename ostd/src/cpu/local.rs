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
    /// Live [`DisabledIrqGuard`](crate::sync::DisabledIrqGuard)s on this CPU (offset 32).
    /// Rust only, with local interrupts off; see `sync::irq_guard`.
    pub irq_depth: u64,
    /// Whether interrupts were on when the outermost live guard was made (offset 40).
    pub irq_outer_enabled: bool,
}

// The offsets are shared with trap/entry.S (PCPU_SCRATCH, PCPU_KERNEL_RSP, PCPU_USER_CTX) and
// with the gs-relative accessors below.
const IRQ_DEPTH_OFFSET: usize = 32;
const IRQ_OUTER_ENABLED_OFFSET: usize = 40;
const _: () = {
    assert!(core::mem::offset_of!(PerCpu, scratch) == 8);
    assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == 16);
    assert!(core::mem::offset_of!(PerCpu, user_ctx) == 24);
    assert!(core::mem::offset_of!(PerCpu, irq_depth) == IRQ_DEPTH_OFFSET);
    assert!(core::mem::offset_of!(PerCpu, irq_outer_enabled) == IRQ_OUTER_ENABLED_OFFSET);
};

/// The bootstrap CPU's block. Only GS-relative accesses reach it once `init` has run.
static mut BSP: PerCpu = PerCpu {
    self_ptr: 0,
    scratch: 0,
    kernel_rsp: 0,
    user_ctx: 0,
    irq_depth: 0,
    irq_outer_enabled: false,
};

/// Points GS at the bootstrap CPU's block. `boot::ostd_boot_entry` calls it before any
/// other Rust code runs, so that every lock (whose interrupt guard counts in this block
/// through GS) finds it; nothing after that loads a GS selector in the kernel. A CPU brought
/// up later must do the same before its first lock.
///
/// On the EFI path this runs while the firmware's boot services are still in use: UEFI's
/// x64 firmware does not use GS (the calling convention leaves it to the OS), so the
/// firmware calls made before ExitBootServices are unaffected.
pub(crate) fn init() {
    let base = &raw mut BSP as u64;
    // SAFETY: writing our own block's address into its first field before anything reads
    // it; nothing else references the static.
    unsafe { BSP.self_ptr = base };
    GsBase::write(VirtAddr::new(base));
    KernelGsBase::write(VirtAddr::new(0));
}

// In all Rust code GS points at this CPU's block (set by `init` before any other Rust code,
// swapped back on every way in from user mode). The only windows with the user's GS are a
// few instructions in entry.S around each swapgs, with IF clear; the NMI and machine check,
// which IF does not mask, never run Rust that reads GS (entry.S, trap_fatal_event).

/// Returns the number of live interrupt guards on this CPU (`sync::irq_guard`).
#[inline(always)]
pub(crate) fn irq_depth() -> u64 {
    let depth: u64;
    // SAFETY: GS points at this CPU's block (above); the load reads one of its fields and
    // changes no register but the output, nor the flags.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{off}]", out(reg) depth, off = const IRQ_DEPTH_OFFSET,
            options(nostack, preserves_flags, readonly)
        )
    };
    depth
}

/// Returns whether interrupts were on when this CPU's outermost live guard was made.
#[inline(always)]
pub(crate) fn irq_outer_enabled() -> bool {
    let enabled: u8;
    // SAFETY: as in `irq_depth`; the field is a `bool`, so the byte is 0 or 1.
    unsafe {
        core::arch::asm!(
            "mov {}, byte ptr gs:[{off}]", out(reg_byte) enabled,
            off = const IRQ_OUTER_ENABLED_OFFSET, options(nostack, preserves_flags, readonly)
        )
    };
    enabled != 0
}

/// Sets this CPU's interrupt-guard depth.
///
/// # Safety
/// Local interrupts are off, and the caller is `sync::irq_guard`, keeping its invariant
/// (the depth counts the live guards of the running task).
#[inline(always)]
pub(crate) unsafe fn set_irq_depth(depth: u64) {
    // SAFETY: GS points at this CPU's block (above); the store writes one of its fields,
    // which no reference covers (they are reached only through these accessors).
    unsafe {
        core::arch::asm!(
            "mov gs:[{off}], {}", in(reg) depth, off = const IRQ_DEPTH_OFFSET,
            options(nostack, preserves_flags)
        )
    };
}

/// Sets whether interrupts were on when this CPU's outermost live guard was made.
///
/// # Safety
/// As for [`set_irq_depth`].
#[inline(always)]
pub(crate) unsafe fn set_irq_outer_enabled(enabled: bool) {
    // SAFETY: as in `set_irq_depth`; a `bool` is stored as 0 or 1.
    unsafe {
        core::arch::asm!(
            "mov byte ptr gs:[{off}], {}", in(reg_byte) u8::from(enabled),
            off = const IRQ_OUTER_ENABLED_OFFSET, options(nostack, preserves_flags)
        )
    };
}
