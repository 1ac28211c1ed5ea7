//! Comparing our kernel with Linux: the same initramfs and script under both.
//!
//! The image holds Debian's static busybox, the script, and an `/init` that prints a begin
//! marker, runs the script, prints an end marker and powers off. Only the text between the
//! markers is compared, after removing the serial console's `\r`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The markers around the script's output.
pub const BEGIN: &str = "==== REFERENCE BEGIN ====";
/// See [`BEGIN`].
pub const END: &str = "==== REFERENCE END ====";

/// Builds `out` (a gzip'd cpio newc) with busybox and `script` as /script.sh.
pub fn build_busybox_image(script: &Path, work: &Path, out: &Path) -> Result<(), String> {
    build_image(script, &[], work, out)
}

/// Compiles a C test program with `musl-gcc -static` into `out`.
pub fn compile_static_c(source: &Path, out: &Path) -> Result<(), String> {
    let status = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(out)
        .arg(source)
        .status()
        .map_err(|e| format!("cannot run musl-gcc (install musl-tools): {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("musl-gcc {} failed: {status}", source.display()))
}

/// Builds an image like [`build_busybox_image`], with `extra` files copied to `/bin/NAME`.
pub fn build_image(script: &Path, extra: &[&Path], work: &Path, out: &Path) -> Result<(), String> {
    build_image_with_host_programs(script, extra, &[], work, out)
}

/// Returns the shared libraries (and the dynamic loader) `program` needs, from `ldd`.
pub fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd").arg(program).output().map_err(|e| format!("cannot run ldd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.split_whitespace().filter(|w| w.starts_with('/')).map(PathBuf::from).collect())
}

/// Builds an image like [`build_image`], plus host programs (dynamically linked Debian
/// binaries) at their own paths, with the libraries `ldd` says they need.
pub fn build_image_with_host_programs(script: &Path, extra: &[&Path], host_programs: &[&Path], work: &Path, out: &Path) -> Result<(), String> {
    let root = work.join("root");
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "tmp", "proc", "sys", "dev", "etc"] {
        std::fs::create_dir_all(root.join(dir)).map_err(|e| format!("mkdir {dir}: {e}"))?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).map_err(|e| format!("copy /bin/busybox: {e}"))?;
    std::fs::copy(script, root.join("script.sh")).map_err(|e| format!("copy {}: {e}", script.display()))?;
    for file in extra {
        let name = file.file_name().ok_or_else(|| format!("{} has no file name", file.display()))?;
        std::fs::copy(file, root.join("bin").join(name)).map_err(|e| format!("copy {}: {e}", file.display()))?;
    }
    for program in host_programs {
        let mut files = vec![program.to_path_buf()];
        files.extend(shared_libraries(program)?);
        for file in files {
            let dest = root.join(file.strip_prefix("/").map_err(|_| format!("{} is not absolute", file.display()))?);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            }
            // Copy the target of symlinks (ld.so and libraries are links on Debian).
            std::fs::copy(&file, &dest).map_err(|e| format!("copy {}: {e}", file.display()))?;
        }
    }
    let init = format!(
        "#!/bin/busybox sh\n/bin/busybox --install -s\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\nmount -t devtmpfs devtmpfs /dev\nmount -t proc proc /proc\ncd /\necho '{BEGIN}'\nsh /script.sh 2>&1\necho '{END}'\npoweroff -f\n"
    );
    std::fs::write(root.join("init"), init).map_err(|e| format!("write init: {e}"))?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && chmod 755 init && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n > '{}'",
            root.display(),
            out.display()
        ))
        .status()
        .map_err(|e| format!("cannot run cpio: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("cpio/gzip failed: {status}"))
}

/// Returns the text between the markers, or `None` if the run did not get there.
///
/// The out-of-memory killer's report is dropped: both kernels print one line when they kill
/// a process for memory (tests/ref/oom.c makes them), with figures that cannot match.
pub fn extract(output: &str) -> Option<String> {
    let clean = output.replace('\r', "");
    let start = clean.find(BEGIN)? + BEGIN.len();
    let end = clean[start..].find(END)? + start;
    let text = clean[start..end].trim_start_matches('\n');
    Some(text.split_inclusive('\n').filter(|line| !line.contains("Out of memory: Killed process")).collect())
}

/// Fetches (once) Debian's Linux cloud kernel; returns its vmlinuz.
pub fn linux_kernel(cache: &Path) -> Result<PathBuf, String> {
    let out = Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/fetch-linux.sh"))
        .arg(cache)
        .output()
        .map_err(|e| format!("cannot run fetch-linux.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("fetch-linux.sh failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Builds the Debian guest image (images/debian, cached rootfs) with `files` added as
/// `(source in the repository, path in the guest)` pairs, at `work/image.cpio.gz`.
pub fn debian_image(root: &Path, work: &Path, files: &[(&str, &str)]) -> Result<PathBuf, String> {
    let extra = work.join("extra");
    let _ = std::fs::remove_dir_all(&extra);
    for (from, to) in files {
        let dest = extra.join(to);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        }
        std::fs::copy(root.join(from), &dest).map_err(|e| format!("copy {from}: {e}"))?;
    }
    let image = work.join("image.cpio.gz");
    let status = Command::new(root.join("images/debian/mkimage.sh")).arg(&image).arg(&extra).status().map_err(|e| format!("cannot run images/debian/mkimage.sh: {e}"))?;
    if !status.success() {
        return Err(format!("images/debian/mkimage.sh failed: {status}"));
    }
    Ok(image)
}

/// Boots `initrd` with `rdinit` under Debian's Linux 6.1 and under our kernel `elf` at the
/// same time (each QEMU is one TCG thread), with 2 GiB each. Returns (Linux, ours).
pub fn boot_both(root: &Path, elf: &Path, initrd: &Path, rdinit: &str, timeout: std::time::Duration) -> Result<(crate::qemu::BootOutcome, crate::qemu::BootOutcome), String> {
    use crate::qemu::{BootSpec, boot};
    let linux = linux_kernel(&root.join("target/linux"))?;
    let spec = |kernel: &Path, cmdline: String| BootSpec { initrd: Some(initrd.into()), memory: "2G".into(), timeout, ..BootSpec::pvh(kernel, cmdline) };
    // The consoles are written as they arrive, next to the initrd, for watching long runs.
    let log = |name: &str| initrd.parent().map(|dir| dir.join(name));
    let linux_spec = BootSpec { console_log: log("linux.console"), ..spec(&linux, format!("console=ttyS0 panic=-1 quiet rdinit={rdinit}")) };
    let ours_spec = BootSpec { console_log: log("ours.console"), ..spec(elf, format!("console=ttyS0 quiet rdinit={rdinit}")) };
    let linux_run = std::thread::spawn(move || boot(&linux_spec));
    let ours = boot(&ours_spec).map_err(|e| format!("boot ours: {e}"))?;
    let theirs = linux_run.join().map_err(|_| "the Linux boot thread panicked".to_string())?.map_err(|e| format!("boot Linux: {e}"))?;
    Ok((theirs, ours))
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Returns a unified-style list of the first differing lines.
pub fn first_differences(expected: &str, actual: &str, max: usize) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            out.push_str(&format!("line {}:\n  linux: {}\n  ours:  {}\n", i + 1, x.unwrap_or("<missing>"), y.unwrap_or("<missing>")));
            shown += 1;
            if shown == max {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_takes_the_text_between_markers_without_carriage_returns() {
        let out = format!("boot noise\r\n{BEGIN}\r\nline 1\r\nline 2\r\n{END}\r\npoweroff");
        assert_eq!(extract(&out).as_deref(), Some("line 1\nline 2\n"));
        assert_eq!(extract("no markers"), None);
    }

    #[test]
    fn differences_name_the_line() {
        let d = first_differences("a\nb\n", "a\nc\n", 5);
        assert!(d.contains("line 2") && d.contains("linux: b") && d.contains("ours:  c"));
    }
}
