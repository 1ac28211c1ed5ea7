//! `mkbzimage KERNEL_ELF OUT`: wraps the kernel ELF as a bzImage for UEFI loaders.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf, out] = args.as_slice() else {
        eprintln!("usage: mkbzimage KERNEL_ELF OUT");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(elf) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mkbzimage: cannot read {elf}: {e}");
            return ExitCode::from(1);
        }
    };
    match images::bzimage::build(&bytes) {
        Ok(image) => match std::fs::write(out, image) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mkbzimage: cannot write {out}: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("mkbzimage: {elf}: {e}");
            ExitCode::from(1)
        }
    }
}
