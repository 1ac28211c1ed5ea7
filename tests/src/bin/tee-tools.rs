//! Unmodified TEE tools in the guest under the simulated TEE (`make tee-tools`, not part of
//! `make test`: building them takes minutes). Today: virtee's `snpguest`, built from
//! crates.io into target/tools at a pinned version, run against `/dev/sev-guest` with the
//! sim playing SEV-SNP, after the same ioctl probe `make test` runs (tests::sev_guest).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The snpguest release run here.
const SNPGUEST_VERSION: &str = "0.11.0";

fn main() -> ExitCode {
    let Some(elf) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: tee-tools KERNEL_ELF");
        return ExitCode::from(2);
    };
    let tools = Path::new("target/tools");
    let snpguest = tools.join("bin/snpguest");
    if !snpguest.exists() {
        eprintln!("tee-tools: building snpguest {SNPGUEST_VERSION} into {}", tools.display());
        let built = Command::new("cargo")
            .args(["install", "--locked", "snpguest", "--version", SNPGUEST_VERSION, "--root"])
            .arg(tools)
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("tee-tools: cargo install snpguest failed");
            return ExitCode::FAILURE;
        }
    }
    let scratch = Path::new("target/tee-tools");
    if let Err(e) = std::fs::create_dir_all(scratch) {
        eprintln!("tee-tools: mkdir {}: {e}", scratch.display());
        return ExitCode::FAILURE;
    }
    let describe = |out: &tests::qemu::BootOutcome, what: &str| -> String {
        format!("{what}; guest output:\n{}", out.output)
    };
    // Copied into the image at its own path, with the libraries ldd names: absolute.
    let snpguest = match std::path::absolute(&snpguest) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("tee-tools: {}: {e}", snpguest.display());
            return ExitCode::FAILURE;
        }
    };
    match tests::sev_guest::run(&elf, scratch, describe, Some(&snpguest)) {
        Ok(summary) => {
            println!("PASS  snpguest {SNPGUEST_VERSION} and the ioctl probe: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("FAIL  snpguest {SNPGUEST_VERSION} and the ioctl probe: {e}");
            ExitCode::FAILURE
        }
    }
}
