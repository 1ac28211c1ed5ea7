//! `debian-ref KERNEL_ELF`: builds the Debian image (images/debian) with the reference
//! workout (tests/ref/debian-*), runs it under Debian's Linux 6.1 and under our kernel with
//! 2 GiB each, and compares the output byte for byte. `make test-debian` runs it. Not part of
//! `make test` yet: the first run debootstraps (about 130 MB of downloads).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use tests::qemu::{BootSpec, boot};
use tests::reference::{extract, first_differences, linux_kernel};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: debian-ref KERNEL_ELF");
        return ExitCode::from(2);
    };
    match run(Path::new(elf)) {
        Ok(summary) => {
            println!("debian-ref: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("debian-ref: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(elf: &Path) -> Result<String, String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let work = root.join("target/debian-ref");
    let extra = work.join("extra");
    let _ = std::fs::remove_dir_all(&extra);
    std::fs::create_dir_all(extra.join("ref")).map_err(|e| e.to_string())?;
    for (from, to) in [
        ("tests/ref/debian-init", "ref-init"),
        ("tests/ref/debian-workload.sh", "ref/debian-workload.sh"),
        ("tests/ref/python.py", "ref/python.py"),
    ] {
        std::fs::copy(root.join(from), extra.join(to)).map_err(|e| format!("copy {from}: {e}"))?;
    }
    let image = work.join("image.cpio.gz");
    let status = Command::new(root.join("images/debian/mkimage.sh")).arg(&image).arg(&extra).status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("images/debian/mkimage.sh failed: {status}"));
    }
    let linux = linux_kernel(&root.join("target/linux"))?;
    let spec = |kernel: &Path, cmdline: &str| BootSpec {
        initrd: Some(image.clone().into()),
        memory: "2G".into(),
        timeout: Duration::from_secs(600),
        ..BootSpec::pvh(kernel, cmdline)
    };
    let theirs = boot(&spec(&linux, "console=ttyS0 panic=-1 quiet rdinit=/ref-init")).map_err(|e| e.to_string())?;
    let expected = extract(&theirs.output).ok_or_else(|| format!("Linux did not finish; output ends:\n{}", tail(&theirs.output)))?;
    let ours = boot(&spec(elf, "console=ttyS0 quiet rdinit=/ref-init")).map_err(|e| e.to_string())?;
    let actual = extract(&ours.output).ok_or_else(|| format!("our kernel did not finish; output ends:\n{}", tail(&ours.output)))?;
    let outdir = PathBuf::from("target/debian-ref");
    std::fs::write(outdir.join("linux.out"), &expected).map_err(|e| e.to_string())?;
    std::fs::write(outdir.join("ours.out"), &actual).map_err(|e| e.to_string())?;
    if expected != actual {
        return Err(format!("outputs differ (target/debian-ref/*.out):\n{}", first_differences(&expected, &actual, 10)));
    }
    Ok(format!("{} identical lines (Linux {:.1} s, ours {:.1} s)", expected.lines().count(), theirs.elapsed.as_secs_f64(), ours.elapsed.as_secs_f64()))
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
