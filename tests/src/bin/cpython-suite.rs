//! `cpython-suite KERNEL_ELF`: CPython's regression modules (tests/cpython/modules) under
//! Linux 6.1 and ours, judged against tests/cpython/known-gaps (see tests::cpython).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: cpython-suite KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::cpython::run_suite(&root, Path::new(elf)) {
        Ok(summary) => {
            println!("cpython-suite: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("cpython-suite: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
