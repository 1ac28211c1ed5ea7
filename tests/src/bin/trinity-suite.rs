//! `trinity-suite KERNEL_ELF`: runs Debian's trinity under Linux 6.1 and under our kernel
//! (tests/trinity/) and prints the verdict; the consoles are in target/trinity/.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: trinity-suite KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::trinity::run(&root, Path::new(elf)) {
        Ok(summary) => {
            println!("PASS  trinity: {summary}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("FAIL  trinity: {reason}");
            ExitCode::FAILURE
        }
    }
}
