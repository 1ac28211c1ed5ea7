//! `net-services KERNEL_ELF`: Debian's busybox httpd, nginx, wget, python3 urllib and redis
//! in the guest, driven from the host, under Linux 6.1 and ours (tests::net_services).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: net-services KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    match tests::net_services::run(&root, Path::new(elf)) {
        Ok(summary) => {
            println!("net-services: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("net-services: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}
