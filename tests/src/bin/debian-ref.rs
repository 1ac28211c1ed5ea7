//! `debian-ref KERNEL_ELF`: the Debian workout (tests::debian_workout) under Linux 6.1 and
//! ours. `make test-debian` runs it alone; `make test` runs it among the rest.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: debian-ref KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::debian_workout::run(&root, Path::new(elf)) {
        Ok(summary) => {
            println!("debian-ref: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("debian-ref: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
