//! `ksyms KERNEL_ELF`: writes the kernel's function symbols into its `.ksyms` section.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: ksyms KERNEL_ELF");
        return ExitCode::from(2);
    };
    let result =
        std::fs::read(elf).map_err(|e| format!("cannot read {elf}: {e}")).and_then(|mut image| {
            let count = images::ksyms::fill(&mut image).map_err(|e| format!("{elf}: {e}"))?;
            std::fs::write(elf, &image).map_err(|e| format!("cannot write {elf}: {e}"))?;
            Ok(count)
        });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ksyms: {e}");
            ExitCode::from(1)
        }
    }
}
