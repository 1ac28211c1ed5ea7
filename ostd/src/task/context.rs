//! Saving one task's callee-saved state and resuming another's.
//!
//! A switch is a function call, so the SysV ABI lets us save only rbp, rbx, r12–r15, RFLAGS
//! and the SSE/x87 control words; every other register is already dead at the call. RFLAGS is
//! kept per task so that no flag (AC inside a user copy, say) leaks from one task to the next.
//! User-mode state never lives here: it is in the task's `UserContext`, saved on kernel entry.

core::arch::global_asm!(
    ".section .text.context_switch, \"ax\"",
    ".global ostd_context_switch",
    "ostd_context_switch:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    pushfq",
    "    sub rsp, 8",
    "    stmxcsr [rsp]",
    "    fnstcw [rsp + 4]",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    ldmxcsr [rsp]",
    "    fldcw [rsp + 4]",
    "    add rsp, 8",
    "    popfq",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
);

unsafe extern "C" {
    fn ostd_context_switch(save_rsp: *mut u64, next_rsp: u64);
}

/// A suspended task's stack pointer; everything else is on that stack.
#[derive(Debug, Default)]
#[repr(C)]
pub(super) struct TaskContext {
    pub rsp: u64,
}

/// Builds the initial stack of a task that starts in `entry`, returning its `rsp`.
///
/// The frame matches what `ostd_context_switch` pops: control words, RFLAGS (interrupts off,
/// DF and AC clear), six registers, then the return address; `entry` then starts with the
/// ABI's stack alignment.
pub(super) fn initial_frame(
    stack_top: u64,
    entry: extern "C" fn() -> !,
    write: impl Fn(u64, u64),
) -> u64 {
    let top = stack_top & !0xf;
    write(top - 8, 0); // alignment pad, as if a call had pushed a return address
    write(top - 16, entry as usize as u64);
    for i in 3..=8 {
        write(top - 8 * i, 0); // rbp, rbx, r12..r15
    }
    write(top - 72, 0x2); // RFLAGS: only the always-one bit
    write(top - 80, 0x037f_u64 << 32 | 0x1f80); // FCW (high dword), MXCSR (low dword)
    top - 80
}

/// Saves the running context into `save` and resumes the one whose stack pointer is `next`.
///
/// # Safety
/// `save` must be valid for a write and stay so until this context is resumed. `next` must
/// be a stack pointer saved by this function (or built by [`initial_frame`]) for a stack
/// that is alive and not in use by any other context. Interrupts must be disabled.
pub(super) unsafe fn switch(save: *mut TaskContext, next: u64) {
    // SAFETY: the caller upholds the contract above, which is exactly what the assembly
    // needs: a writable save slot and a valid, unused, saved stack to switch to.
    unsafe { ostd_context_switch(&raw mut (*save).rsp, next) }
}
