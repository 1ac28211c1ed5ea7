//! The kernel: the Linux ABI on top of OSTD.
//!
//! Today it boots, prints the banner that says what it found, and either runs the in-kernel
//! tests (`ktest` on the command line) or powers off. The process model comes next.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod banner;

use ostd::power::{ExitCode, exit_qemu};

ostd::main!(kernel_main);

fn kernel_main() -> ! {
    banner::print();
    let cmdline = &ostd::boot::boot_info().cmdline;
    if cmdline.value("selftest") == Some("panic") {
        // Lets the test harness check the panic path: message, named backtrace, failure exit.
        panic!("deliberate panic requested by selftest=panic");
    }
    if cmdline.has_flag("ktest") {
        let summary = ostd::ktest::run_all(cmdline.value("ktest.filter"));
        exit_qemu(if summary.failed == 0 && summary.passed > 0 { ExitCode::Success } else { ExitCode::Failure });
    }
    log::info!("no init to run yet: powering off");
    exit_qemu(ExitCode::Success)
}
