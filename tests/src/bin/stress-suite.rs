//! `stress-suite KERNEL_ELF`: Debian's stress-ng under Linux 6.1 and ours (tests::stress).
//! `stress-suite --judge`: judge the consoles of the last run again (after editing
//! tests/stress/known-differences) without booting.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: stress-suite KERNEL_ELF | --judge");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    let result = if elf == "--judge" {
        let read = |name: &str| {
            std::fs::read_to_string(root.join("target/stress").join(name))
                .map_err(|e| format!("read target/stress/{name}: {e}"))
        };
        read("linux.out").and_then(|linux| tests::stress::judge(&root, &linux, &read("ours.out")?))
    } else {
        tests::stress::run(&root, Path::new(elf))
    };
    match result {
        Ok(summary) => {
            println!("stress-suite: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("stress-suite: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
