//! `cpython-suite KERNEL_ELF`: CPython's regression modules (tests/cpython/modules) under
//! Linux 6.1 and ours, judged against tests/cpython/known-gaps (see tests::cpython).
//! `cpython-suite --judge`: judge the consoles of the last run again (after editing
//! known-gaps) without booting.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: cpython-suite KERNEL_ELF | --judge");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    let result = if elf == "--judge" {
        let read = |name: &str| {
            std::fs::read_to_string(root.join("target/cpython").join(name))
                .map_err(|e| format!("read target/cpython/{name}: {e}"))
        };
        read("linux.out").and_then(|linux| tests::cpython::judge(&root, &linux, &read("ours.out")?))
    } else {
        tests::cpython::run_suite(&root, Path::new(elf))
    };
    match result {
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
