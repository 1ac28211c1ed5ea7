//! The Debian workout (tests/ref/debian-workload.sh and python.py: bash, coreutils at 100k
//! lines, tar/gzip, cp -a, and a python3 workout with threads, subprocess, multiprocessing,
//! fork/wait/signals) under Linux 6.1 and under ours, compared byte for byte.

use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image, extract, judge};

/// Runs the workout; returns a summary, or what differed.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let work = root.join("target/debian-ref");
    let image = debian_image(
        root,
        &work,
        &[
            ("tests/ref/debian-init", "ref-init"),
            ("tests/ref/debian-workload.sh", "ref/debian-workload.sh"),
            ("tests/ref/python.py", "ref/python.py"),
        ],
    )?;
    let (theirs, ours) = boot_both(root, elf, &image, "/ref-init", Duration::from_secs(600))?;
    for (name, out) in [("linux.out", &theirs), ("ours.out", &ours)] {
        std::fs::write(work.join(name), extract(&out.output).unwrap_or_else(|| out.output.clone()))
            .map_err(|e| e.to_string())?;
    }
    // The script's end marker under both, a clean power-off on ours, identical text.
    judge(&theirs, &ours, 0).map_err(|e| format!("{e} (target/debian-ref/*.out)"))
}
