//! Comparing our kernel with Linux: the same initramfs and script under both.
//!
//! The image holds Debian's static busybox, the script, and an `/init` that prints a begin
//! marker, runs the script, prints an end marker and powers off. Only the text between the
//! markers is compared, after removing the serial console's `\r`.
//!
//! Identical text is not enough on its own: a probe that is not found, or crashes the same
//! way, on both kernels would compare equal. So [`judge`] also requires that each run is
//! complete (the script's own last line is [`SCRIPT_END`], and each C probe printed
//! `checks: N` with N > 0, see tests/ref/probe.h), and that our kernel printed nothing after
//! the end marker (a panic at shutdown) and powered off with the success status.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The markers around the script's output.
pub const BEGIN: &str = "==== REFERENCE BEGIN ====";
/// See [`BEGIN`].
pub const END: &str = "==== REFERENCE END ====";
/// The last line every script in tests/ref prints itself: it ran to its end.
pub const SCRIPT_END: &str = "==== SCRIPT END ====";
/// How a C probe's last line starts (`checks: N`, see tests/ref/probe.h).
pub const CHECKS: &str = "checks: ";

/// Builds `out` (a gzip'd cpio newc) with busybox and `script` as /script.sh.
pub fn build_busybox_image(script: &Path, work: &Path, out: &Path) -> Result<(), String> {
    build_image(script, &[], work, out)
}

/// Compiles a C test program with `musl-gcc -static` into `out`. Linux's UAPI headers
/// (linux-libc-dev's `<linux/...>`) are searched after musl's own, so that a probe declares
/// the kernel's structures and ioctl numbers with the kernel's header, not a copy of it.
pub fn compile_static_c(source: &Path, out: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(source)
        .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let status = Command::new("musl-gcc")
        .args(["-static", "-O2", "-pthread"])
        .args(["-idirafter", "/usr/include", "-idirafter", "/usr/include/x86_64-linux-gnu"])
        .args(extra_compiler_flags(&text))
        .arg("-o")
        .arg(out)
        .arg(source)
        .status()
        .map_err(|e| format!("cannot run musl-gcc (install musl-tools): {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("musl-gcc {} failed: {status}", source.display()))
}

/// The flags a source asks for on a line `// musl-gcc flags: ...` (tests/ref/gdbee.c wants
/// `-g -O0` for a debugger), after the usual ones so that they win.
fn extra_compiler_flags(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("// musl-gcc flags:"))
        .flat_map(str::split_whitespace)
        .collect()
}

/// Builds an image like [`build_busybox_image`], with `extra` files copied to `/bin/NAME`.
pub fn build_image(script: &Path, extra: &[&Path], work: &Path, out: &Path) -> Result<(), String> {
    build_image_with_host_programs(script, extra, &[], &[], work, out)
}

/// Returns the shared libraries (and the dynamic loader) `program` needs, from `ldd`.
pub fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, String> {
    let out =
        Command::new("ldd").arg(program).output().map_err(|e| format!("cannot run ldd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.split_whitespace().filter(|w| w.starts_with('/')).map(PathBuf::from).collect())
}

/// Returns every file under the host directory `dir` (following symlinks), sorted.
fn host_tree_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("read {}: {e}", dir.display()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Copies the target of `from` (ld.so and libraries are symlinks on Debian) to `to` with its
/// modification time, which Python compares with the one its compiled `__pycache__` files
/// record (a newer source is compiled again, at every start in a read-only guest).
fn copy_keeping_mtime(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to).map_err(|e| format!("copy {}: {e}", from.display()))?;
    let modified = std::fs::metadata(from)
        .and_then(|m| m.modified())
        .map_err(|e| format!("stat {}: {e}", from.display()))?;
    std::fs::File::options()
        .write(true)
        .open(to)
        .and_then(|f| f.set_modified(modified))
        .map_err(|e| format!("set the time of {}: {e}", to.display()))
}

/// Builds an image like [`build_image`], plus host programs (dynamically linked Debian
/// binaries) at their own paths, with the libraries `ldd` says they need (a directory is copied
/// whole: data files such as /usr/share/gdb), and Linux kernel modules in `/lib/ref-modules` (for a script to `insmod` under Linux).
pub fn build_image_with_host_programs(
    script: &Path,
    extra: &[&Path],
    host_programs: &[&Path],
    linux_modules: &[PathBuf],
    work: &Path,
    out: &Path,
) -> Result<(), String> {
    let root = work.join("root");
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "tmp", "proc", "sys", "dev", "etc"] {
        std::fs::create_dir_all(root.join(dir)).map_err(|e| format!("mkdir {dir}: {e}"))?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .map_err(|e| format!("copy /bin/busybox: {e}"))?;
    std::fs::copy(script, root.join("script.sh"))
        .map_err(|e| format!("copy {}: {e}", script.display()))?;
    for file in extra {
        let name =
            file.file_name().ok_or_else(|| format!("{} has no file name", file.display()))?;
        std::fs::copy(file, root.join("bin").join(name))
            .map_err(|e| format!("copy {}: {e}", file.display()))?;
    }
    if !linux_modules.is_empty() {
        let dir = root.join("lib/ref-modules");
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        for module in linux_modules {
            let name =
                module.file_name().ok_or_else(|| format!("{} is no file", module.display()))?;
            std::fs::copy(module, dir.join(name))
                .map_err(|e| format!("copy {}: {e}", module.display()))?;
        }
    }
    for program in host_programs {
        let mut files = vec![program.to_path_buf()];
        if program.is_dir() {
            files = host_tree_files(program)?;
        } else {
            files.extend(shared_libraries(program)?);
        }
        for file in files {
            let dest = root.join(
                file.strip_prefix("/")
                    .map_err(|_| format!("{} is not absolute", file.display()))?,
            );
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            }
            copy_keeping_mtime(&file, &dest)?;
        }
    }
    let init = format!(
        "#!/bin/busybox sh\n/bin/busybox --install -s\nexport PATH=/bin:/sbin:/usr/bin:/usr/sbin\n\
         mount -t devtmpfs devtmpfs /dev\nmount -t proc proc /proc\ncd /\necho '{BEGIN}'\nsh \
         /script.sh 2>&1\necho '{END}'\npoweroff -f\n"
    );
    std::fs::write(root.join("init"), init).map_err(|e| format!("write init: {e}"))?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && chmod 755 init && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip \
             -n > '{}'",
            root.display(),
            out.display()
        ))
        .status()
        .map_err(|e| format!("cannot run cpio: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("cpio/gzip failed: {status}"))
}

/// Returns the text between the markers, or `None` if the run did not get there.
pub fn extract(output: &str) -> Option<String> {
    extract_parts(output).map(|(text, _)| text)
}

/// Returns the text between the markers and what the guest printed after the end marker
/// (QEMU's own stderr, which the harness appends, excluded).
///
/// The out-of-memory killer's report is dropped from the text: both kernels print one line
/// when they kill a process for memory (tests/ref/oom.c makes them), with figures that
/// cannot match.
pub fn extract_parts(output: &str) -> Option<(String, String)> {
    let clean = output.replace('\r', "");
    let start = clean.find(BEGIN)? + BEGIN.len();
    let end = clean[start..].find(END)? + start;
    let after = &clean[end + END.len()..];
    let after = after.split_once("\n[qemu stderr] ").map_or(after, |(guest, _)| guest);
    let text = clean[start..end].trim_start_matches('\n');
    let text = text
        .split_inclusive('\n')
        .filter(|line| !line.contains("Out of memory: Killed process"))
        .collect();
    Some((text, after.trim().to_string()))
}

/// Checks that a run of `script` includes its C probe: `X.sh` runs `/bin/X` when `X.c` sits
/// next to it, and without the program both kernels would print the same "not found".
pub fn require_probe_source(script: &Path, c_sources: &[&Path]) -> Result<(), String> {
    let probe = script.with_extension("c");
    if probe.exists() && !c_sources.iter().any(|c| c.file_name() == probe.file_name()) {
        return Err(format!(
            "{} runs the C probe {}: pass it too",
            script.display(),
            probe.display()
        ));
    }
    Ok(())
}

/// Checks that one kernel ran the script to completion: the [`SCRIPT_END`] line appears once
/// (it is each script's last command, but for a script that ends by killing its own shell,
/// after which init's shell reports the kill), and there are exactly `c_probes` `checks: N`
/// lines, each with N > 0. Returns the number of checks the C probes ran.
pub fn check_complete(text: &str, c_probes: usize) -> Result<usize, String> {
    match text.lines().filter(|l| *l == SCRIPT_END).count() {
        1 => {}
        0 => return Err(format!("the script did not reach its end ({SCRIPT_END:?})")),
        n => return Err(format!("{SCRIPT_END:?} printed {n} times")),
    }
    let counts: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix(CHECKS)).collect();
    if counts.len() != c_probes {
        return Err(format!(
            "{} of {c_probes} C probes printed their `{CHECKS}N` line (not found, crashed or \
             stopped early?)",
            counts.len()
        ));
    }
    let mut total = 0;
    for count in counts {
        match count.parse::<usize>() {
            Ok(n) if n > 0 => total += n,
            _ => return Err(format!("a C probe printed `{CHECKS}{count}`: it ran no checks")),
        }
    }
    Ok(total)
}

/// Judges a reference run: both kernels ran the script to completion, ours printed nothing
/// after the end marker and powered off with the success status, and the outputs are
/// identical. Returns a summary, or what is wrong (with the end of the output concerned).
pub fn judge(
    linux: &crate::qemu::BootOutcome,
    ours: &crate::qemu::BootOutcome,
    c_probes: usize,
) -> Result<String, String> {
    let complete =
        |who: &str, out: &crate::qemu::BootOutcome| -> Result<(String, String, usize), String> {
            let (text, after) = extract_parts(&out.output).ok_or_else(|| {
                format!(
                    "{who} did not run the script to the end marker; output ends:\n{}",
                    tail(&out.output, 15)
                )
            })?;
            let checks = check_complete(&text, c_probes)
                .map_err(|e| format!("{who}: {e}; output ends:\n{}", tail(&text, 15)))?;
            Ok((text, after, checks))
        };
    let (expected, _, checks) = complete("Linux", linux)?;
    let (actual, after, _) = complete("our kernel", ours)?;
    if !after.is_empty() {
        return Err(format!("our kernel printed after the end marker:\n{}", tail(&after, 15)));
    }
    if !ours.succeeded() {
        let status = if ours.timed_out {
            "timed out".to_string()
        } else {
            format!("qemu status {:?}", ours.status)
        };
        return Err(format!("our kernel did not power off with the success status ({status})"));
    }
    if expected != actual {
        return Err(format!("outputs differ:\n{}", first_differences(&expected, &actual, 10)));
    }
    let probes = if c_probes > 0 { format!(", {checks} probe checks") } else { String::new() };
    Ok(format!(
        "{} identical lines{probes} (Linux {:.1} s, ours {:.1} s)",
        expected.lines().count(),
        linux.elapsed.as_secs_f64(),
        ours.elapsed.as_secs_f64()
    ))
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

/// The modules Linux needs for a virtio disk on PCI, in load order.
pub const VIRTIO_BLK_MODULES: [&str; 6] = [
    "drivers/virtio/virtio_ring",
    "drivers/virtio/virtio",
    "drivers/virtio/virtio_pci_modern_dev",
    "drivers/virtio/virtio_pci_legacy_dev",
    "drivers/virtio/virtio_pci",
    "drivers/block/virtio_blk",
];

/// The modules Linux needs for a virtio NIC on PCI, in load order.
pub const VIRTIO_NET_MODULES: [&str; 8] = [
    "drivers/virtio/virtio_ring",
    "drivers/virtio/virtio",
    "drivers/virtio/virtio_pci_modern_dev",
    "drivers/virtio/virtio_pci_legacy_dev",
    "drivers/virtio/virtio_pci",
    "net/core/failover",
    "drivers/net/net_failover",
    "drivers/net/virtio_net",
];

/// Finds `modules` (paths under `kernel/`, without `.ko`) in the package `vmlinuz` came
/// from ([`linux_kernel`] unpacks the whole package).
pub fn linux_modules(vmlinuz: &Path, modules: &[&str]) -> Result<Vec<PathBuf>, String> {
    let package = vmlinuz
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in an unpacked package", vmlinuz.display()))?;
    let version = vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .ok_or_else(|| format!("{} is not named vmlinuz-VERSION", vmlinuz.display()))?;
    let dir = package.join("lib/modules").join(version).join("kernel");
    modules
        .iter()
        .map(|m| {
            let path = dir.join(format!("{m}.ko"));
            path.exists().then_some(path.clone()).ok_or_else(|| {
                format!("{} is missing (the Linux package has no such module)", path.display())
            })
        })
        .collect()
}

/// Writes an image of `bytes` bytes (a multiple of 512) whose sector `k` starts with `k` as
/// a little-endian u64, the rest zero: disks whose every sector says where it is.
pub fn write_pattern_disk(path: &Path, bytes: u64) -> Result<(), String> {
    let mut image = vec![0u8; bytes as usize];
    for (k, sector) in image.chunks_mut(512).enumerate() {
        sector[..8].copy_from_slice(&(k as u64).to_le_bytes());
    }
    std::fs::write(path, &image).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Builds the Debian guest image (images/debian, cached rootfs) with `files` added as
/// `(source in the repository, path in the guest)` pairs, at `work/image.cpio.gz`.
pub fn debian_image(root: &Path, work: &Path, files: &[(&str, &str)]) -> Result<PathBuf, String> {
    debian_image_as(root, work, files, "image.cpio.gz")
}

/// As [`debian_image`], but written as `name` under `work`: a name ending in `.img` gives an
/// ext2 root disk instead of an initramfs.
pub fn debian_image_as(
    root: &Path,
    work: &Path,
    files: &[(&str, &str)],
    name: &str,
) -> Result<PathBuf, String> {
    let extra = work.join("extra");
    let _ = std::fs::remove_dir_all(&extra);
    for (from, to) in files {
        let dest = extra.join(to);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        }
        std::fs::copy(root.join(from), &dest).map_err(|e| format!("copy {from}: {e}"))?;
    }
    let image = work.join(name);
    let status = Command::new(root.join("images/debian/mkimage.sh"))
        .arg(&image)
        .arg(&extra)
        .status()
        .map_err(|e| format!("cannot run images/debian/mkimage.sh: {e}"))?;
    if !status.success() {
        return Err(format!("images/debian/mkimage.sh failed: {status}"));
    }
    Ok(image)
}

/// Boots `initrd` with `rdinit` under Debian's Linux 6.1 and under our kernel `elf` at the
/// same time (each QEMU is one TCG thread), with 2 GiB each. Returns (Linux, ours).
pub fn boot_both(
    root: &Path,
    elf: &Path,
    initrd: &Path,
    rdinit: &str,
    timeout: std::time::Duration,
) -> Result<(crate::qemu::BootOutcome, crate::qemu::BootOutcome), String> {
    use crate::qemu::{BootSpec, boot};
    let linux = linux_kernel(&root.join("target/linux"))?;
    let spec = |kernel: &Path, cmdline: String| BootSpec {
        initrd: Some(initrd.into()),
        memory: "2G".into(),
        timeout,
        ..BootSpec::pvh(kernel, cmdline)
    };
    // The consoles are written as they arrive, next to the initrd, for watching long runs.
    let log = |name: &str| initrd.parent().map(|dir| dir.join(name));
    let linux_spec = BootSpec {
        console_log: log("linux.console"),
        ..spec(&linux, format!("console=ttyS0 panic=-1 quiet rdinit={rdinit}"))
    };
    let ours_spec = BootSpec {
        console_log: log("ours.console"),
        ..spec(elf, format!("console=ttyS0 quiet rdinit={rdinit}"))
    };
    let linux_run = std::thread::spawn(move || boot(&linux_spec));
    let ours = boot(&ours_spec).map_err(|e| format!("boot ours: {e}"))?;
    let theirs = linux_run
        .join()
        .map_err(|_| "the Linux boot thread panicked".to_string())?
        .map_err(|e| format!("boot Linux: {e}"))?;
    Ok((theirs, ours))
}

/// The rest of the first line of `output` that starts with `tag` (trailing space dropped),
/// or an error naming the tag: how the tee scripts report values to the host.
pub fn tagged_line(output: &str, tag: &str) -> Result<String, String> {
    output
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(tag).map(str::to_string))
        .ok_or_else(|| format!("the guest printed no `{tag}` line"))
}

/// [`tagged_line`], hex-decoded.
pub fn tagged_hex(output: &str, tag: &str) -> Result<Vec<u8>, String> {
    hex::decode(tagged_line(output, tag)?).map_err(|e| format!("{tag}: {e}"))
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
            out.push_str(&format!(
                "line {}:\n  linux: {}\n  ours:  {}\n",
                i + 1,
                x.unwrap_or("<missing>"),
                y.unwrap_or("<missing>")
            ));
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

    fn outcome(status: i32, output: &str) -> crate::qemu::BootOutcome {
        crate::qemu::BootOutcome {
            status: Some(status),
            output: output.into(),
            timed_out: false,
            killed_on_line: false,
            elapsed: std::time::Duration::ZERO,
        }
    }

    fn console(script_output: &str, after: &str) -> String {
        format!("boot noise\n{BEGIN}\n{script_output}{END}\n{after}")
    }

    const GOOD: &str = "errno line ok\nchecks: 12\nexit 0\n==== SCRIPT END ====\n";
    const OK: i32 = crate::qemu::EXIT_SUCCESS;

    #[test]
    fn a_complete_identical_run_passes() {
        let run = console(GOOD, "\n[qemu stderr] qemu: warning: host noise\n");
        let verdict = judge(&outcome(0, &run), &outcome(OK, &run), 1).unwrap();
        assert!(verdict.contains("4 identical lines, 12 probe checks"), "{verdict}");
    }

    #[test]
    fn the_same_failure_on_both_kernels_is_not_a_pass() {
        let not_found = console("sh: /bin/errno: not found\nexit 127\n==== SCRIPT END ====\n", "");
        assert!(
            judge(&outcome(0, &not_found), &outcome(OK, &not_found), 1)
                .unwrap_err()
                .contains("0 of 1 C probes")
        );
        let no_checks = console(&GOOD.replace("checks: 12", "checks: 0"), "");
        assert!(
            judge(&outcome(0, &no_checks), &outcome(OK, &no_checks), 1)
                .unwrap_err()
                .contains("ran no checks")
        );
        let cut = console("first line\n", "");
        assert!(
            judge(&outcome(0, &cut), &outcome(OK, &cut), 0)
                .unwrap_err()
                .contains("did not reach its end")
        );
        let twice = console(&format!("{GOOD}{GOOD}"), "");
        assert!(
            judge(&outcome(0, &twice), &outcome(OK, &twice), 2).unwrap_err().contains("2 times")
        );
    }

    #[test]
    fn our_kernel_must_end_cleanly() {
        let linux = outcome(0, &console(GOOD, "reboot: Power down\n"));
        let panic =
            outcome(crate::qemu::EXIT_FAILURE, &console(GOOD, "kernel panic in task init: oops\n"));
        assert!(judge(&linux, &panic, 1).unwrap_err().contains("printed after the end marker"));
        let status = outcome(crate::qemu::EXIT_FAILURE, &console(GOOD, ""));
        assert!(judge(&linux, &status, 1).unwrap_err().contains("success status"));
        let diff = outcome(OK, &console(&GOOD.replace("ok", "EFAULT"), ""));
        assert!(judge(&linux, &diff, 1).unwrap_err().contains("outputs differ"));
        assert!(
            judge(&linux, &outcome(OK, "no markers"), 1)
                .unwrap_err()
                .contains("our kernel did not run the script")
        );
    }

    #[test]
    fn a_probe_script_cannot_run_without_its_program() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ref");
        let (script, probe) = (dir.join("errno.sh"), dir.join("errno.c"));
        assert!(require_probe_source(&script, &[]).unwrap_err().contains("errno.c"));
        assert!(require_probe_source(&script, &[&probe]).is_ok());
        assert!(
            require_probe_source(&dir.join("busybox-basics.sh"), &[]).is_ok(),
            "a script with no probe"
        );
    }

    #[test]
    fn differences_name_the_line() {
        let d = first_differences("a\nb\n", "a\nc\n", 5);
        assert!(d.contains("line 2") && d.contains("linux: b") && d.contains("ours:  c"));
    }
}
