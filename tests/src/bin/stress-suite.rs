//! `stress-suite KERNEL_ELF`: Debian's stress-ng under Linux 6.1 and ours (tests::stress).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: stress-suite KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::stress::run(&root, Path::new(elf)) {
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
