//! Traps: exceptions, interrupts and the syscall instruction.
//!
//! `entry.S` holds the trampolines (see its header for the IST scheme). Kernel-mode traps
//! reach [`handler`]; user-mode traps and syscalls return to `user::UserMode::execute`,
//! which handles interrupts itself and hands syscalls and exceptions to the kernel.

mod frame;
mod handler;
mod idt;
pub mod irq;

pub use frame::TrapFrame;
pub(crate) use handler::{
    exception_name, page_fault_info as page_fault_info_pub, set_breakpoint_hook,
};
pub use irq::{IrqError, IrqLine};

core::arch::global_asm!(
    include_str!("entry.S"),
    kstack_pml4_index = const (crate::mm::KSTACK_AREA as i64) >> 39,
    options(att_syntax)
);

/// Installs the IDT and the SYSCALL MSRs on this CPU.
pub(crate) fn init() {
    idt::init();
    init_syscall_msrs();
}

fn init_syscall_msrs() {
    use x86_64::VirtAddr;
    use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
    use x86_64::registers::rflags::RFlags;
    use x86_64::registers::segmentation::SegmentSelector;
    unsafe extern "C" {
        fn ostd_syscall_entry();
    }
    LStar::write(VirtAddr::new(ostd_syscall_entry as *const () as u64));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK
            | RFlags::IOPL_LOW
            | RFlags::IOPL_HIGH,
    );
    Star::write(
        SegmentSelector(crate::cpu::USER_CS),
        SegmentSelector(crate::cpu::USER_SS),
        SegmentSelector(crate::cpu::KERNEL_CS),
        SegmentSelector(crate::cpu::KERNEL_DS),
    )
    .expect("GDT layout does not fit SYSCALL/SYSRET");
    // SAFETY: turning on SYSCALL only makes the instruction available; LSTAR, STAR and
    // SFMASK were set above, so it enters the kernel through the syscall trampoline.
    unsafe { Efer::update(|f| *f |= EferFlags::SYSTEM_CALL_EXTENSIONS) };
}

mod tests;
