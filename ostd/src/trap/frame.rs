//! The registers of interrupted kernel code, as the trap trampoline saved them.

/// Kernel-mode trap state. Handlers may change it; the trampoline restores it on return.
#[repr(C)]
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// The IDT vector.
    pub vector: u64,
    /// The CPU's error code, or 0.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// The layout is shared with entry.S.
const _: () = {
    assert!(core::mem::offset_of!(TrapFrame, rbp) == 64);
    assert!(core::mem::offset_of!(TrapFrame, vector) == 120);
    assert!(core::mem::offset_of!(TrapFrame, rip) == 136);
    assert!(core::mem::size_of::<TrapFrame>() == 176);
};
