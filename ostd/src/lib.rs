//! OSTD: the trusted core of the framekernel.
//!
//! This is the only crate of the kernel that may contain `unsafe`. It wraps the machine in
//! safe APIs whose soundness it owns, so that everything above it (`kernel/`) can be
//! `#![forbid(unsafe_code)]` and a bug there is a logic bug, never a memory-safety hole.
//!
//! The boot sequence, in order (see [`boot::ostd_boot_entry`]):
//! 1. `boot`     — the entry paths (PVH, EFI handover) hand over a [`boot::BootInfo`].
//! 2. `console`  — COM1, wired to `log`, usable from the first line of Rust.
//! 3. `cpu`      — GDT, TSS, per-CPU area, feature detection, protection switches (WP, NX,
//!    SMEP, SMAP, UMIP); `trap` — the IDT and trampolines.
//! 4. `mm`       — frame allocator, heap, the kernel page table with its direct map.
//! 5. `time`     — PIC masked, IOAPIC, local APIC timer, TSC clock.
//! 6. `task`     — the scheduler; then the kernel's `main` runs as the first task.
//!
//! The rest is the service surface: [`user`] (ring 3), [`mm::VmSpace`] (user address spaces),
//! [`mm::dma`] (the shared pool, the only door between private memory and the host),
//! [`bus::pci`], [`sync`], [`tee`] and [`ktest`].
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod boot;
pub mod bus;
pub mod console;
pub mod cpu;
mod io_port;
pub mod iommu;
pub mod ktest;
pub mod mm;
mod panic;
pub mod power;
mod rt;
pub mod sync;
pub mod task;
pub mod tee;
pub mod time;
pub mod trap;
pub mod user;
mod user_tests;

/// The kernel's entry point, and its in-kernel test registration, as macros.
///
/// These expand to the symbols and linker-section statics that the boot code and the test
/// runner look up. They live here, not in the kernel, because emitting a symbol or a linker
/// section is an `unsafe` attribute and the kernel is `#![forbid(unsafe_code)]`.
mod ostd_main_macro {
    /// Declares the kernel's main function: `ostd::main!(my_main);` with `fn my_main() -> !`.
    ///
    /// OSTD calls it once, on the first kernel task, after every part of the core is up.
    #[macro_export]
    macro_rules! main {
        ($main:path) => {
            #[unsafe(no_mangle)]
            extern "Rust" fn __ostd_main() -> ! {
                $main()
            }
        };
    }

    /// Registers in-kernel tests: `ostd::ktest! { fn name() { ... } }`.
    ///
    /// Each test runs on its own kernel task; a panic fails that test only. The runner
    /// ([`crate::ktest::run_all`]) prints `N passed, N failed`.
    #[macro_export]
    macro_rules! ktest {
        ($(fn $name:ident() $body:block)*) => {
            $(
                fn $name() $body
                const _: () = {
                    #[used]
                    #[unsafe(link_section = ".ktests")]
                    static DESCRIPTOR: $crate::ktest::KtestDescriptor =
                        $crate::ktest::KtestDescriptor {
                            module: module_path!(),
                            name: stringify!($name),
                            run: $name,
                        };
                };
            )*
        };
    }
}

/// Runs the kernel's `main` (declared with [`main!`]) on the first task.
fn kernel_main_trampoline() -> ! {
    unsafe extern "Rust" {
        fn __ostd_main() -> !;
    }
    // SAFETY: `main!` defines `__ostd_main` with exactly this signature; the kernel binary
    // fails to link without it.
    unsafe { __ostd_main() }
}
