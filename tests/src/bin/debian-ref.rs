//! `debian-ref KERNEL_ELF`: the Debian workout (tests::debian_workout) under Linux 6.1 and
//! ours, and under ours from an ext2 root disk. `make test-debian` runs it alone; `make test`
//! runs it among the rest.
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
    let (in_memory, from_disk) = tests::debian_workout::run(&root, Path::new(elf));
    let mut ok = true;
    for (what, verdict) in [("initramfs", in_memory), ("ext2 root disk", from_disk)] {
        match verdict {
            Ok(summary) => println!("debian-ref ({what}): {summary}"),
            Err(e) => {
                println!("debian-ref ({what}): FAIL: {e}");
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
