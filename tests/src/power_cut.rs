//! The unclean power-off test: a guest writes files on an ext2 disk, fsyncs them and the
//! directories that name them, and changes more without syncing (tests/ref/power-cut.sh);
//! the harness kills QEMU (SIGKILL, no shutdown) at a line the guest prints, at one of two
//! points ([`Cut`]). On the host, `e2fsck -fy` may repair what the cut left half-written;
//! after it, `e2fsck -fn` must find the disk clean and debugfs must read every fsynced file
//! back exactly. The same runs under Linux 6.1 check the test itself.
//!
//! Killing QEMU loses what the guest kernel holds in memory, not what QEMU has written to
//! the image (that is in the host's page cache), so this tests that fsync wrote the data to
//! the device before returning, not that it also asked the device to flush.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ext2_disk::{self, hex};
use crate::qemu::{BootOutcome, BootSpec, Disk, boot};
use crate::reference::{self, tail};

/// The guest script, relative to the repository.
pub const SCRIPT: &str = "tests/ref/power-cut.sh";
/// How the line starts that the guest prints once fsync has returned; the SHA-256 of
/// `/big.txt` as the guest reads it back follows.
pub const FSYNCED: &str = "FSYNCED ";
/// The directory the script creates and fsyncs (with its parent).
pub const FSYNCED_DIR: &str = "/newdir";
/// The guest's memory: small, so that the unsynced writes of [`Cut::AfterWriteBack`]
/// outgrow a cache of a quarter of it.
const MEMORY: &str = "256M";

/// Where the power is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// As soon as fsync has returned. What the guest changes afterwards stays far below what
    /// a cache holds, so the disk can hold only what fsync (or an earlier write-back) put
    /// there: a fsync that wrote too little shows.
    AfterFsync,
    /// After the guest has also written more than a quarter of its memory (which makes our
    /// cache write back everything dirty, in the middle of a write) and then changed more:
    /// a half-written disk, which e2fsck must repair without losing what was fsynced. (Our
    /// kernel's write-back would also save files a broken fsync left behind; the first cut
    /// is the one that catches that.)
    AfterWriteBack,
}

impl Cut {
    /// Both cuts.
    pub const ALL: [Cut; 2] = [Cut::AfterFsync, Cut::AfterWriteBack];

    /// The word on the kernel command line that tells the script which cut it is (both
    /// kernels pass it to init, and so to the script, as the variable `power_cut`).
    fn param(self) -> &'static str {
        match self {
            Cut::AfterFsync => "power_cut=fsync",
            Cut::AfterWriteBack => "power_cut=writeback",
        }
    }

    /// How the line starts at which the harness kills QEMU.
    pub fn kill_on(self) -> &'static str {
        match self {
            Cut::AfterFsync => FSYNCED,
            Cut::AfterWriteBack => "WRITTEN BACK",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cut::AfterFsync => "fsync",
            Cut::AfterWriteBack => "writeback",
        }
    }
}

/// The files the script writes and fsyncs, with their contents.
pub fn fsynced_files() -> [(&'static str, Vec<u8>); 3] {
    // `seq 1 800000`: 5.2 MiB whose every 1 KiB block differs, so a block written to the
    // wrong place shows.
    let big: String = (1..=800_000).map(|i| format!("{i}\n")).collect();
    [
        ("/big.txt", big.into_bytes()),
        ("/small.txt", b"a small fsynced file\n".to_vec()),
        ("/newdir/inner.txt", b"a file in a new directory\n".to_vec()),
    ]
}

/// Checks the guest's side of a run: QEMU was killed at the `cut`'s line (a run that ended
/// any other way cut nothing), and the guest had read back the `/big.txt` it was meant to
/// write after fsync returned.
pub fn judge_run(out: &BootOutcome, cut: Cut) -> Result<(), String> {
    if !out.killed_on_line {
        let how = if out.timed_out {
            "timed out".to_string()
        } else {
            format!("qemu exited with {:?}", out.status)
        };
        return Err(format!(
            "the guest never printed {:?} ({how}); output ends:\n{}",
            cut.kill_on(),
            tail(&out.output, 15)
        ));
    }
    let digest = out
        .output
        .lines()
        .find_map(|l| l.strip_prefix(FSYNCED))
        .map(str::trim)
        .ok_or_else(|| format!("killed, but no {FSYNCED:?} line in the output"))?;
    let expected = hex(&Sha256::digest(&fsynced_files()[0].1));
    if digest != expected {
        return Err(format!("the guest read back /big.txt with sha256 {digest}, not {expected}"));
    }
    Ok(())
}

/// The host's verdict on a disk after the cut: `e2fsck -fy` exits 0 or 1 (repairs are what
/// it is for), `e2fsck -fn` then finds nothing, [`FSYNCED_DIR`] is a directory and every
/// fsynced file has exactly its contents.
pub fn judge_disk(img: &Path) -> Result<String, String> {
    let repaired = ext2_disk::repair(img)?;
    ext2_disk::fsck(img).map_err(|e| format!("after e2fsck -fy: {e}"))?;
    match ext2_disk::lookup(img, FSYNCED_DIR)? {
        Some((0o040000, _)) => {}
        Some((kind, _)) => return Err(format!("{FSYNCED_DIR} is not a directory (type {kind:o})")),
        None => return Err(format!("{FSYNCED_DIR} does not exist")),
    }
    let mut bytes = 0;
    for (path, expected) in fsynced_files() {
        let found = ext2_disk::read_file(img, path)?;
        if found != expected {
            return Err(format!(
                "{path} holds {} bytes with sha256 {}, not the {} fsynced ({})",
                found.len(),
                hex(&Sha256::digest(&found)),
                expected.len(),
                hex(&Sha256::digest(&expected))
            ));
        }
        bytes += found.len();
    }
    let fsck = if repaired == 0 { "found nothing to fix" } else { "repaired the disk" };
    Ok(format!(
        "e2fsck -fy {fsck}, -fn then clean; {FSYNCED_DIR} and the {} fsynced files ({bytes} \
         bytes) intact",
        fsynced_files().len()
    ))
}

/// Runs both cuts under Linux 6.1, then under our kernel `elf`, each on a fresh copy of
/// the ext2 workload's disk. Linux failing means the test is wrong, and fails it too.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let work = root.join("target/power-cut");
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let linux = reference::linux_kernel(&root.join("target/linux"))?;
    let modules = reference::linux_modules(&linux, &reference::VIRTIO_BLK_MODULES)?;
    let image = work.join("image.cpio.gz");
    reference::build_image_with_host_programs(
        &root.join(SCRIPT),
        &[],
        &[],
        &modules,
        &work,
        &image,
    )?;
    // (who, disk name prefix, kernel, command line)
    let kernels = [
        ("Linux 6.1", "linux", linux.as_path(), "console=ttyS0 panic=-1 quiet"),
        ("ours", "ours", elf, "console=ttyS0 quiet"),
    ];
    let names: Vec<String> = kernels
        .iter()
        .flat_map(|(_, tag, ..)| Cut::ALL.map(|cut| format!("{tag}-{}.img", cut.name())))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    use ext2_disk::{EXT2_BLOCK_SIZE, EXT2_SIZE, prepare_disks};
    let mut disks = prepare_disks(&work, EXT2_BLOCK_SIZE, EXT2_SIZE, &names)?.into_iter();
    let mut verdicts = Vec::new();
    for (who, _, kernel, cmdline) in kernels {
        for cut in Cut::ALL {
            let disk = disks.next().ok_or("fewer disks than runs")?;
            let cmdline = format!("{cmdline} {}", cut.param());
            let verdict = power_cut(kernel, &cmdline, &image, &disk, cut).map_err(|e| {
                let wrong = if who == "ours" { "" } else { " (is the test wrong?)" };
                format!("{who}, cut at {:?}{wrong}: {e}", cut.kill_on())
            })?;
            verdicts.push(format!("{who}, cut at {:?}: {verdict}", cut.kill_on()));
        }
    }
    Ok(verdicts.join("; "))
}

/// Boots `kernel` with the script's `initrd` and `disk`, cuts the power where `cut` says
/// and judges the run and the disk.
fn power_cut(
    kernel: &Path,
    cmdline: &str,
    initrd: &Path,
    disk: &Path,
    cut: Cut,
) -> Result<String, String> {
    let spec = BootSpec {
        initrd: Some(initrd.into()),
        memory: MEMORY.into(),
        timeout: Duration::from_secs(300),
        disks: vec![Disk::writable(disk)],
        kill_on: Some(cut.kill_on().into()),
        ..BootSpec::pvh(kernel, cmdline)
    };
    let out = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    judge_run(&out, cut)?;
    let verdict = judge_disk(disk).map_err(|e| format!("{}: {e}", disk.display()))?;
    Ok(format!("killed {:.1} s after boot; {verdict}", out.elapsed.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    fn outcome(output: &str, killed_on_line: bool) -> BootOutcome {
        BootOutcome {
            status: if killed_on_line { None } else { Some(crate::qemu::EXIT_SUCCESS) },
            output: output.into(),
            timed_out: false,
            killed_on_line,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn only_a_kill_at_the_marker_with_the_right_digest_is_a_cut() {
        let digest = hex(&Sha256::digest(&fsynced_files()[0].1));
        let good = format!("boot\nFSYNCED {digest}\n");
        assert!(judge_run(&outcome(&good, true), Cut::AfterFsync).is_ok());
        let written_back = format!("{good}WRITTEN BACK\n");
        assert!(judge_run(&outcome(&written_back, true), Cut::AfterWriteBack).is_ok());
        // The script stopped early and init powered off: nothing was cut.
        let err = judge_run(&outcome("mount: failed\n", false), Cut::AfterFsync).unwrap_err();
        assert!(err.contains("never printed \"FSYNCED \"") && err.contains("mount: failed"));
        // A marker, but the guest powered off by itself.
        let err = judge_run(&outcome(&good, false), Cut::AfterWriteBack).unwrap_err();
        assert!(err.contains("never printed \"WRITTEN BACK\""), "{err}");
        let wrong = format!("FSYNCED {}\nWRITTEN BACK\n", "0".repeat(64));
        let err = judge_run(&outcome(&wrong, true), Cut::AfterWriteBack).unwrap_err();
        assert!(err.contains("read back"), "{err}");
    }

    /// A scratch directory holding an ext2 image of the fsynced files and one more.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, small: &[u8]) -> Self {
            let dir = std::env::temp_dir().join(format!("power-cut-{}-{name}", std::process::id()));
            let src = dir.join("src");
            std::fs::create_dir_all(src.join("newdir")).unwrap();
            for (path, data) in fsynced_files() {
                let data = if path == "/small.txt" { small.to_vec() } else { data };
                std::fs::write(src.join(&path[1..]), data).unwrap();
            }
            std::fs::write(src.join("unsynced"), b"junk\n").unwrap();
            ext2_disk::make_image(&src, &dir.join("disk.img"), 1024, "16M").unwrap();
            Self(dir)
        }

        fn img(&self) -> PathBuf {
            self.0.join("disk.img")
        }

        /// Removes `path`'s directory entry but not its inode (as a cut between writing
        /// the two can leave them): e2fsck then finds an inode with no name.
        fn unlink(&self, path: &str) {
            let tool = ext2_disk::tool("debugfs").unwrap();
            let out = Command::new(tool)
                .args(["-w", "-R", &format!("unlink {path}")])
                .arg(self.img())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_disk_with_the_fsynced_files_passes_even_after_repairs() {
        let intact = Scratch::new("intact", b"a small fsynced file\n");
        let verdict = judge_disk(&intact.img()).unwrap();
        assert!(verdict.contains("found nothing to fix"), "{verdict}");
        // Damage elsewhere is repaired (e2fsck -fy exits 1), and that is allowed.
        intact.unlink("/unsynced");
        let verdict = judge_disk(&intact.img()).unwrap();
        assert!(verdict.contains("repaired"), "{verdict}");
        assert!(verdict.contains("3 fsynced files (5488942 bytes)"), "{verdict}");
    }

    #[test]
    fn a_lost_or_changed_fsynced_file_fails() {
        let lost = Scratch::new("lost", b"a small fsynced file\n");
        lost.unlink("/newdir/inner.txt");
        // e2fsck -fy moves the inode to /lost+found: the data is there, its name is not.
        let err = judge_disk(&lost.img()).unwrap_err();
        assert!(err.contains("/newdir/inner.txt does not exist"), "{err}");
        let no_dir = Scratch::new("no-dir", b"a small fsynced file\n");
        no_dir.unlink("/newdir");
        assert!(judge_disk(&no_dir.img()).unwrap_err().contains("/newdir does not exist"));
        let changed = Scratch::new("changed", b"a small fsynced filE\n");
        let err = judge_disk(&changed.img()).unwrap_err();
        assert!(err.contains("/small.txt holds 21 bytes"), "{err}");
    }
}
