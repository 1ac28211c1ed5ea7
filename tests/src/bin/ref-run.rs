//! `ref-run NAME KERNEL_ELF` runs the reference probe NAME from `make test`'s table
//! (tests/src/probes.rs: tests/ref/NAME.sh with its C programs, host programs and device)
//! under Linux and under our kernel, and prints both outputs' first differences and the
//! verdict `make test` would give. For investigating a mismatch, or a probe being written:
//!
//! `ref-run SCRIPT KERNEL_ELF [--disk | --ext2 | --nic] [C_PROGRAM.c | /host/program ...]`
//! runs any script. `--disk` gives each kernel a fresh 8 MiB pattern disk and Linux its
//! virtio modules (as for tests/ref/vdisk.sh); `--ext2` gives each an identical ext2 disk
//! instead (tests/ref/ext2.sh) and afterwards checks both disks with e2fsck and compares their
//! trees; `--nic` gives each a virtio NIC on slirp and Linux its virtio-net modules
//! (tests/ref/netconf.sh). Outputs are kept in target/ref-run/{linux,ours}.out.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

use tests::probes::{self, Probe, RefDisk};
use tests::reference::{extract, first_differences};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, script, elf, extra @ ..] = args.as_slice() else {
        eprintln!(
            "usage: ref-run NAME KERNEL_ELF\n       ref-run SCRIPT KERNEL_ELF [--disk | --ext2 | \
             --nic | --loop] [C_PROGRAM.c | /host/program ...]"
        );
        return ExitCode::from(2);
    };
    let result = match probes::find(script) {
        Some(probe) if extra.is_empty() => run(probe, Path::new(elf)),
        _ if !script.ends_with(".sh") => {
            let names: Vec<&str> = probes::PROBES.iter().map(|p| p.name()).collect();
            Err(format!("no probe named {script:?}; the probes: {}", names.join(", ")))
        }
        _ => {
            let device = |flag: &str| extra.iter().any(|e| e == flag);
            let disk = if device("--ext2") {
                RefDisk::Ext2
            } else if device("--disk") {
                RefDisk::Pattern
            } else if device("--nic") {
                RefDisk::Nic
            } else if device("--loop") {
                RefDisk::Loop
            } else {
                RefDisk::None
            };
            let (c_sources, host_programs): (Vec<&str>, Vec<&str>) = extra
                .iter()
                .map(String::as_str)
                .filter(|e| !e.starts_with("--"))
                .partition(|e| e.ends_with(".c"));
            let probe = Probe {
                what: script,
                script,
                c_sources: &c_sources,
                host_programs: &host_programs,
                disk,
            };
            run(&probe, Path::new(elf))
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ref-run: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(probe: &Probe, elf: &Path) -> Result<bool, String> {
    let work = std::env::current_dir().map_err(|e| e.to_string())?.join("target/ref-run");
    let (theirs, ours) = probes::boot_both(elf, probe, &work)?;
    let (Some(t), Some(o)) = (extract(&theirs.output), extract(&ours.output)) else {
        println!("--- linux raw ---\n{}\n--- ours raw ---\n{}", theirs.output, ours.output);
        return Ok(false);
    };
    std::fs::write(work.join("linux.out"), &t).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &o).map_err(|e| e.to_string())?;
    if t != o {
        println!("{}", first_differences(&t, &o, 20));
        println!("full outputs: target/ref-run/linux.out, target/ref-run/ours.out");
    }
    // The same verdict as `make test`: identical, complete, a clean end on ours, and with
    // an ext2 disk, both disks clean and equal.
    match probes::verdict(probe, &work, &theirs, &ours) {
        Ok(verdict) => {
            println!("pass: {verdict}");
            Ok(true)
        }
        Err(e) => {
            println!("FAIL: {e}");
            Ok(false)
        }
    }
}
