//! The Debian workout (tests/ref/debian-workload.sh and python.py: bash, coreutils at 100k
//! lines, tar/gzip, cp -a, and a python3 workout with threads, subprocess, multiprocessing,
//! fork/wait/signals) under Linux 6.1 and under ours, compared byte for byte; and once more
//! under ours with Debian on an ext2 root disk instead of in an initramfs.

use std::path::Path;
use std::time::Duration;

use crate::qemu::{BootSpec, Disk, boot};
use crate::reference::{boot_both, debian_image, debian_image_as, extract, judge};

/// The files the workout adds to the Debian image, as (repository path, guest path).
const WORKOUT_FILES: [(&str, &str); 3] = [
    ("tests/ref/debian-init", "ref-init"),
    ("tests/ref/debian-workload.sh", "ref/debian-workload.sh"),
    ("tests/ref/python.py", "ref/python.py"),
];

/// Runs the workout from an initramfs under both kernels, then once more under ours from an
/// ext2 root disk (`root=/dev/vda rw init=/ref-init`), judged against the same Linux run.
/// Returns the two verdicts: (initramfs, disk).
pub fn run(root: &Path, elf: &Path) -> (Result<String, String>, Result<String, String>) {
    let work = root.join("target/debian-ref");
    let image = match debian_image(root, &work, &WORKOUT_FILES) {
        Ok(image) => image,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    let (theirs, ours) = match boot_both(root, elf, &image, "/ref-init", Duration::from_secs(600)) {
        Ok(both) => both,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    for (name, out) in [("linux.out", &theirs), ("ours.out", &ours)] {
        let text = extract(&out.output).unwrap_or_else(|| out.output.clone());
        if let Err(e) = std::fs::write(work.join(name), text) {
            return (Err(e.to_string()), Err(e.to_string()));
        }
    }
    // The script's end marker under both, a clean power-off on ours, identical text.
    let in_memory = judge(&theirs, &ours, 0).map_err(|e| format!("{e} (target/debian-ref/*.out)"));
    let from_disk = run_from_disk(root, elf, &work, &theirs);
    (in_memory, from_disk)
}

/// The workout under ours with Debian on an ext2 root disk; afterwards the disk must pass
/// `e2fsck -fn` (the workout writes files, and init's exit syncs nothing: the kernel's
/// power-off path does not either, so only what the workout itself synced is on it).
fn run_from_disk(
    root: &Path,
    elf: &Path,
    work: &Path,
    theirs: &crate::qemu::BootOutcome,
) -> Result<String, String> {
    let disk = debian_image_as(root, work, &WORKOUT_FILES, "debian-root.img")?;
    let spec = BootSpec {
        memory: "2G".into(),
        timeout: Duration::from_secs(600),
        disks: vec![Disk::writable(&disk)],
        console_log: Some(work.join("ours-disk.console")),
        ..BootSpec::pvh(elf, "console=ttyS0 quiet root=/dev/vda rw init=/ref-init")
    };
    let ours = boot(&spec).map_err(|e| format!("boot ours from disk: {e}"))?;
    let text = extract(&ours.output).unwrap_or_else(|| ours.output.clone());
    std::fs::write(work.join("ours-disk.out"), text).map_err(|e| e.to_string())?;
    let verdict =
        judge(theirs, &ours, 0).map_err(|e| format!("{e} (target/debian-ref/ours-disk.out)"))?;
    crate::ext2_disk::fsck(&disk)?;
    Ok(format!("{verdict}; the root disk passes e2fsck -fn"))
}
