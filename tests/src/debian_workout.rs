//! The Debian workout (tests/ref/debian-workload.sh and python.py: bash, coreutils at 100k
//! lines, tar/gzip, cp -a, and a python3 workout with threads, subprocess, multiprocessing,
//! fork/wait/signals) under Linux 6.1 and under ours, compared byte for byte.

use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image, extract, first_differences, tail};

/// Runs the workout; returns a summary, or what differed.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let work = root.join("target/debian-ref");
    let image = debian_image(
        root,
        &work,
        &[("tests/ref/debian-init", "ref-init"), ("tests/ref/debian-workload.sh", "ref/debian-workload.sh"), ("tests/ref/python.py", "ref/python.py")],
    )?;
    let (theirs, ours) = boot_both(root, elf, &image, "/ref-init", Duration::from_secs(600))?;
    let expected = extract(&theirs.output).ok_or_else(|| format!("Linux did not finish; output ends:\n{}", tail(&theirs.output, 20)))?;
    let actual = extract(&ours.output).ok_or_else(|| format!("our kernel did not finish; output ends:\n{}", tail(&ours.output, 20)))?;
    std::fs::write(work.join("linux.out"), &expected).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &actual).map_err(|e| e.to_string())?;
    if expected != actual {
        return Err(format!("outputs differ (target/debian-ref/*.out):\n{}", first_differences(&expected, &actual, 10)));
    }
    Ok(format!("{} identical lines (Linux {:.1} s, ours {:.1} s)", expected.lines().count(), theirs.elapsed.as_secs_f64(), ours.elapsed.as_secs_f64()))
}
