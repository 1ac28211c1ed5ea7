//! What happens after a kernel-mode trap: the dispatch that `entry.S` calls.

use super::TrapFrame;
use crate::mm::{PageAccess, PageFaultInfo};
use crate::sync::SpinLock;

/// Returns the name of an exception vector.
pub(crate) fn exception_name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "NMI",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "bound range (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack fault (#SS)",
        13 => "general protection (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating point (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating point (#XM)",
        20 => "virtualization (#VE)",
        21 => "control protection (#CP)",
        29 => "VMM communication (#VC)",
        32..=255 => "interrupt",
        _ => "reserved exception",
    }
}

type BreakpointHook = fn(&mut TrapFrame);
static BREAKPOINT_HOOK: SpinLock<Option<BreakpointHook>> = SpinLock::new(None);

/// Routes kernel-mode `int3` to `hook` (for in-kernel tests; `None` restores the default,
/// which logs and continues).
pub(crate) fn set_breakpoint_hook(hook: Option<BreakpointHook>) {
    *BREAKPOINT_HOOK.lock() = hook;
}

/// Decodes a page-fault error code.
pub(crate) fn page_fault_info(addr: u64, error_code: u64) -> PageFaultInfo {
    let access = if error_code & 0x10 != 0 {
        PageAccess::Execute
    } else if error_code & 0x2 != 0 {
        PageAccess::Write
    } else {
        PageAccess::Read
    };
    PageFaultInfo { addr, access, present: error_code & 1 != 0, user: error_code & 4 != 0 }
}

#[unsafe(no_mangle)]
extern "C" fn ostd_trap_from_kernel(frame: &mut TrapFrame) {
    match frame.vector {
        3 => {
            let hook = *BREAKPOINT_HOOK.lock();
            match hook {
                Some(hook) => hook(frame),
                None => log::warn!("int3 in kernel at {:#x}", frame.rip),
            }
        }
        14 => {
            let addr = x86_64::registers::control::Cr2::read_raw();
            let info = page_fault_info(addr, frame.error_code);
            // Only the user-copy routine may touch user memory from the kernel; a fault
            // anywhere else is a kernel bug, even at a user address.
            if let Some(resume) = crate::mm::user_copy_fixup(frame.rip) {
                if !crate::mm::vm_space_fault(&info) {
                    frame.rip = resume;
                }
                return;
            }
            panic!(
                "kernel page fault: {:?} of {addr:#x} ({}) at rip {:#x}, error {:#x}",
                info.access,
                if info.present { "protection" } else { "not present" },
                frame.rip,
                frame.error_code
            );
        }
        crate::tee::ve_glue::VE_VECTOR if crate::tee::platform() == crate::tee::Platform::Tdx => {
            crate::tee::ve_glue::handle_kernel(frame);
        }
        crate::tee::ve_glue::VC_VECTOR
            if crate::tee::platform() == crate::tee::Platform::SevSnp =>
        {
            crate::tee::ve_glue::handle_vc_kernel(frame);
        }
        vector @ 32..=255 => {
            super::irq::dispatch(vector as u8);
            crate::task::preempt_after_irq();
        }
        vector => panic!(
            "{} in kernel at rip {:#x}, error {:#x}\n{frame:#x?}",
            exception_name(vector),
            frame.rip,
            frame.error_code
        ),
    }
}

/// Reports a kernel-mode page fault in the kernel-stack area (a guard page) and stops the
/// machine: the faulting stack is exhausted, and whatever it was doing cannot go on.
///
/// `entry.S` calls it on a stack of its own, with `frame` on the IST stack.
#[unsafe(no_mangle)]
extern "C" fn ostd_kernel_stack_fault(frame: &TrapFrame) -> ! {
    // Copy first: a nested trap would reuse the IST stack that holds `frame`.
    let frame = frame.clone();
    let addr = x86_64::registers::control::Cr2::read_raw();
    let access = page_fault_info(addr, frame.error_code).access;
    let task = crate::task::current_if_any();
    let name = task.as_ref().map_or("<unknown>", |t| t.name());
    let stack = task.as_ref().and_then(|t| t.stack_range());
    match (task.as_ref().and_then(|t| t.stack_guard_range()), stack) {
        (Some((guard_lo, guard_hi)), Some((lo, hi))) if (guard_lo..guard_hi).contains(&addr) => {
            crate::console::emergency_print(format_args!(
                "\nFATAL: kernel stack overflow in task {name} (id {}): {access:?} of {addr:#x}, \
                 {} bytes below its stack {lo:#x}..{hi:#x}, at rip {:#x}",
                task.as_ref().map_or(0, |t| t.id()),
                guard_hi - addr,
                frame.rip,
            ));
        }
        _ => crate::console::emergency_print(format_args!(
            "\nFATAL: kernel page fault in the kernel-stack area, outside the guard of the running \
             task {name}: {access:?} of {addr:#x} at rip {:#x} (a stale or corrupt stack pointer?)",
            frame.rip,
        )),
    }
    crate::panic::print_symbol(frame.rip);
    crate::console::emergency_print(format_args!("\n"));
    if let Some(range) = stack {
        crate::panic::print_backtrace_from(frame.rbp, range);
    }
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}

/// An NMI or machine check (entry.S, `trap_fatal_event`): reported and fatal. It may have
/// interrupted the kernel with the user's GS base or stack pointer still loaded, so this uses
/// nothing but the serial port: no per-CPU data, no locks, no allocation.
#[unsafe(no_mangle)]
extern "C" fn ostd_fatal_event(frame: &TrapFrame) -> ! {
    let what = if frame.vector == 2 { "NMI (from the host)" } else { "machine check" };
    crate::console::emergency_print(format_args!(
        "\nFATAL: {what} at rip {:#x} (cs {:#x}, rsp {:#x}): stopping\n",
        frame.rip, frame.cs, frame.rsp
    ));
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}

#[unsafe(no_mangle)]
extern "C" fn ostd_double_fault(frame: &TrapFrame) -> ! {
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    crate::console::emergency_print(format_args!(
        "\nFATAL: double fault at rip {:#x}, rsp {:#x}, CR2 {cr2:#x}{}\n",
        frame.rip,
        frame.rsp,
        if crate::mm::in_kernel_stack_area(cr2) {
            " (in the kernel-stack area: a kernel stack overflow?)"
        } else {
            ""
        },
    ));
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}
