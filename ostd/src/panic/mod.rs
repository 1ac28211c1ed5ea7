//! The panic handler: a message, a frame-pointer backtrace, then either the end of one
//! in-kernel test or the end of the machine.
//!
//! The kernel is built with frame pointers, so each frame starts with (saved rbp, return
//! address). The walk stops at a null or misaligned rbp, an address outside the current
//! stack, or after 32 frames, so a corrupt chain cannot fault inside the panic handler.
//! Each address is followed by its function's name when the image carries a symbol table
//! (`make kernel` writes one; see [`symbols`]).

mod symbols;

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    let task = crate::task::current_if_any();
    let is_test =
        task.as_ref().is_some_and(|t| t.is_test.load(core::sync::atomic::Ordering::Relaxed));
    crate::console::emergency_print(format_args!(
        "\n{}panic in task {}: {info}\n",
        if is_test { "test " } else { "kernel " },
        task.as_ref().map_or("<boot>", |t| t.name()),
    ));
    print_backtrace(task.as_ref().and_then(|t| t.stack_range()));
    if let Some(task) = task.filter(|_| is_test) {
        task.test_failed.store(true, core::sync::atomic::Ordering::Relaxed);
        drop(task);
        crate::task::exit_current();
    }
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}

fn print_backtrace(stack: Option<(u64, u64)>) {
    let rbp: u64;
    // SAFETY: reads the frame-pointer register only.
    unsafe {
        core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags))
    };
    print_backtrace_from(rbp, stack.unwrap_or_else(boot_stack_range));
}

/// Prints the frame-pointer chain that starts at `rbp`, following it only within `lo..hi`.
pub(crate) fn print_backtrace_from(mut rbp: u64, (lo, hi): (u64, u64)) {
    crate::console::emergency_print(format_args!("backtrace:\n"));
    for depth in 0..32 {
        if !rbp.is_multiple_of(8) || rbp < lo || rbp.checked_add(16).is_none_or(|end| end > hi) {
            break;
        }
        let frame = rbp as *const u64;
        // SAFETY: `rbp..rbp+16` lies within `lo..hi`, which the callers pass as the current
        // task's (or the boot) stack, mapped, and is 8-aligned (both checked above).
        let (next, ret) = unsafe { (frame.read(), frame.add(1).read()) };
        if ret == 0 {
            break;
        }
        crate::console::emergency_print(format_args!("  #{depth:<2} {ret:#018x}"));
        symbols::print_symbol(ret);
        crate::console::emergency_print(format_args!("\n"));
        rbp = next;
    }
}

/// Prints ` name+0xoff` for a code address, if the symbol table has it.
pub(crate) fn print_symbol(addr: u64) {
    symbols::print_symbol(addr);
}

fn boot_stack_range() -> (u64, u64) {
    unsafe extern "C" {
        static boot_stack_bottom: u8;
        static boot_stack_top: u8;
    }
    (&raw const boot_stack_bottom as u64, &raw const boot_stack_top as u64)
}

crate::ktest! {
    fn arithmetic_overflow_in_kernel_code_panics() {
        // The kernel's release profile has overflow checks on (Cargo.toml): a wrapped add
        // panics instead of yielding a small number. The probe runs on a task of its own,
        // marked as a test, so its panic ends only that task.
        let probe = crate::task::spawn("overflow-probe", || {
            crate::task::current().is_test.store(true, core::sync::atomic::Ordering::Relaxed);
            let wrapped = core::hint::black_box(u32::MAX) + core::hint::black_box(1);
            crate::early_println!("overflow-probe: u32::MAX + 1 = {wrapped} without a panic");
        });
        let task = probe.join();
        assert!(
            task.test_failed.load(core::sync::atomic::Ordering::Relaxed),
            "u32::MAX + 1 did not panic"
        );
    }
}
