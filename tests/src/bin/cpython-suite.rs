//! `cpython-suite KERNEL_ELF [MODULE_LIST]`: CPython's regression modules (tests/cpython/modules,
//! or tests/cpython/modules-extended for the slow ones) under Linux 6.1 and ours, judged
//! against tests/cpython/known-gaps (see tests::cpython).
//! `cpython-suite --judge`: judge the consoles of the last run again (after editing
//! known-gaps) without booting.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (elf, list) = match args.as_slice() {
        [_, elf] => (elf, tests::cpython::MODULES),
        [_, elf, list] => (elf, list.as_str()),
        _ => {
            eprintln!("usage: cpython-suite KERNEL_ELF [MODULE_LIST] | --judge [MODULE_LIST]");
            return ExitCode::from(2);
        }
    };
    let root = std::env::current_dir().expect("a current directory");
    let result = if elf == "--judge" {
        let read = |name: &str| {
            std::fs::read_to_string(root.join("target/cpython").join(name))
                .map_err(|e| format!("read target/cpython/{name}: {e}"))
        };
        read("linux.out")
            .and_then(|linux| tests::cpython::judge_list(&root, list, &linux, &read("ours.out")?))
    } else {
        tests::cpython::run_modules(&root, Path::new(elf), list)
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
