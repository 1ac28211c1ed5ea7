//! `power-cut KERNEL_ELF`: the unclean power-off test (tests::power_cut) alone, under Linux
//! 6.1 and ours; `make test` runs it among the rest. The disks are left in target/power-cut.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: power-cut KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::power_cut::run(&root, Path::new(elf)) {
        Ok(summary) => {
            println!("power-cut: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("power-cut: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
