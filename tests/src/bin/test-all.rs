//! `make test`: host tests, the in-kernel tests under PVH, the bzImage under OVMF, boots
//! with bad input, probes compared with Linux 6.1, and Debian's userland (a workout,
//! CPython's regression modules, stress-ng) under both kernels. Prints one line per check
//! and one summary line; exits non-zero if any check failed.
//!
//! Usage: test-all --elf KERNEL_ELF --bzimage BZIMAGE
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tests::host_checks;
use tests::probes::{self, PROBES};
use tests::qemu::{BootOutcome, BootSpec, Disk, boot};

const BANNER: &str = "cocoon 0.1.0: booted via";

struct Check {
    name: String,
    result: Result<String, String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(elf), Some(bzimage), Some(initramfs)) =
        (flag(&args, "--elf"), flag(&args, "--bzimage"), flag(&args, "--initramfs"))
    else {
        eprintln!(
            "usage: test-all --elf KERNEL_ELF --bzimage BZIMAGE --initramfs BUSYBOX_INITRAMFS"
        );
        return ExitCode::from(2);
    };
    let scratch = PathBuf::from("target/test-all");
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("test-all: cannot create {}: {e}", scratch.display());
        return ExitCode::from(2);
    }

    let mut checks = Vec::new();
    // Each check is evaluated just before it is recorded, so the time since the previous
    // record is its own wall time (builds included): where the 30-minute budget goes.
    let mut previous = std::time::Instant::now();
    let mut record = |name: &str, result: Result<String, String>| {
        let took = previous.elapsed().as_secs();
        previous = std::time::Instant::now();
        match &result {
            Ok(detail) => println!("PASS  {name}: {detail} [{took} s]"),
            Err(reason) => println!("FAIL  {name} [{took} s]: {reason}"),
        }
        checks.push(Check { name: name.into(), result });
    };

    record("host tests (cargo test)", host_checks::host_tests());
    record("formatting (cargo fmt --all --check, rustfmt.toml)", host_checks::formatting());
    record(
        "clippy on the host crates (-D warnings, Cargo.toml's [workspace.lints])",
        host_checks::clippy(),
    );
    record(
        "the verifier's Kubernetes manifests (deploy/k8s) validate against Kubernetes' schemas",
        tests::deploy_manifests::check(&scratch),
    );
    record(
        "in-kernel tests under PVH, with two virtio-blk disks and a virtio-net NIC on slirp",
        pattern_disks(&scratch).and_then(|disks| {
            ktests(&elf, "console=ttyS0 ktest ktest.disk=pattern ktest.net=user", &[], disks)
        }),
    );
    record(
        "in-kernel tests behind intel-iommu (DMA remapped to the shared pool only; a descriptor \
         at a private frame faults)",
        pattern_disks(&scratch).and_then(|disks| {
            let cmdline = "console=ttyS0 ktest ktest.disk=pattern ktest.net=user ktest.iommu=on";
            ktests_with(&elf, cmdline, &[], disks, true)
        }),
    );
    record(
        "in-kernel tests under tee=sim: the release-build shared-pool check, 256 MiB of \
         unaccepted memory accepted lazily, measurement registers, and a report that attest \
         verify --allow-sim affirms on the host",
        sim_ktests_and_evidence(&elf, &scratch),
    );
    record(
        "measured boot under tee=sim: configfs-tsm binds a nonce, /sys/firmware/acpi/tables/\
         data/CCEL replays to the report's registers, and each event's digest is predicted on \
         the host (command line, initramfs, root, init)",
        tests::measured_boot::run(&elf, &scratch, describe_failure),
    );
    record(
        "launch → attest → secret under tee=sim, with registers and without (as SNP: the log \
         bound into the report data): cocoon-attest walks the KBS protocol with attest serve on \
         the host over HTTPS (the CA in the image) and prints the secret; one byte changed in \
         the image is refused, naming measurement.rtmr2 and the cocoon.initramfs event; an \
         impostor verifier with another CA's certificate is refused by the guest",
        tests::secret_release::run(&elf, &scratch, describe_failure),
    );
    record(
        "/dev/sev-guest under tee=sim sim.registers=none (the sim playing SEV-SNP): bad ioctl \
         arguments answered as Linux's driver answers them, reports in SNP's layout bound to \
         the event log and affirmed by attest verify --allow-sim",
        tests::sev_guest::run(&elf, &scratch, describe_failure, None),
    );
    record(
        "a container image boots: images build turns a 2-layer OCI image into an ext2 root disk \
         with its hash tree, and the kernel starts its entrypoint with the config's Env, \
         WorkingDir and User; a changed byte reads as EIO",
        tests::container_boot::run(&elf, &scratch, describe_failure),
    );
    record(
        "a container image attests under tee=sim with the reference values images build \
         predicted offline, and gets its secret; a changed command line is refused naming \
         measurement.rtmr2 and the cocoon.cmdline event",
        tests::container_attest::run(&elf, &scratch, describe_failure),
    );
    record("bzImage under OVMF reaches the banner", ovmf_banner(&bzimage));
    record(
        "bzImage under OVMF takes its command line and initrd",
        ovmf_with_initrd(&bzimage, &scratch),
    );
    record("a kernel panic prints a named backtrace and fails the run", panic_path(&elf));
    record(
        "a kernel stack overflow hits the guard page and is reported as one",
        stack_overflow_path(&elf),
    );
    record(
        "interactive busybox shell: commands, ^C, background jobs, /proc, exit",
        interactive_shell(&elf, &initramfs),
    );
    record(
        "console flood: 64 KiB typed at once is capped, and the shell survives",
        console_flood(&elf, &initramfs),
    );
    for probe in PROBES {
        record(probe.what, probes::check(&elf, probe));
    }
    record(
        "unclean power-off: QEMU killed (SIGKILL) right after fsync returns on an ext2 disk, \
         and again after unsynced writes outgrew the cache; e2fsck -fy, then -fn clean, and the \
         fsynced files and new directory read back intact (Linux 6.1 too)",
        tests::power_cut::run(&std::env::current_dir().expect("a current directory"), &elf),
    );
    for (name, spec, expect) in bad_input_cases(&elf, &scratch) {
        record(&format!("bad boot input: {name}"), expect_banner(&spec, expect));
    }
    // Debian's userland (images/debian: built once, then cached by package list), side by
    // side with Linux 6.1.
    let root = std::env::current_dir().expect("a current directory");
    let (in_memory, from_disk) = tests::debian_workout::run(&root, &elf);
    record("Debian workout (bash, coreutils, python3) matches Linux 6.1", in_memory);
    record(
        "Debian workout from an ext2 root disk (root=/dev/vda) matches Linux 6.1 from an \
         initramfs, and the disk passes e2fsck -fn",
        from_disk,
    );
    record(
        "Debian's network programs on virtio-net (guest busybox httpd and nginx serve random files \
         the host fetches through hostfwd, SHA-256 equal; guest wget and python3 urllib fetch \
         from the host; redis-server with redis-cli and redis-benchmark in the guest and from \
         the host) under ours and Linux 6.1",
        tests::net_services::run(&root, &elf),
    );
    record(
        "CPython's regression modules: what passes under Linux passes here, or is a listed gap",
        tests::cpython::run_suite(&root, &elf),
    );
    record(
        "stress-ng: every stressor finishes, and ends with 0 wherever it does under Linux (or is a \
         listed difference)",
        tests::stress::run(&root, &elf),
    );
    record(
        "trinity as nobody: the fuzzer runs its syscalls, no panic, no hang, programs run \
         afterwards",
        tests::trinity::run(&root, &elf),
    );

    let failed: Vec<&Check> = checks.iter().filter(|c| c.result.is_err()).collect();
    let passed = checks.len() - failed.len();
    if failed.is_empty() {
        println!("test-all: {passed} passed, 0 failed");
        ExitCode::SUCCESS
    } else {
        let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
        println!("test-all: {passed} passed, {} failed ({})", failed.len(), names.join("; "));
        ExitCode::FAILURE
    }
}

fn flag(args: &[String], name: &str) -> Option<PathBuf> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(PathBuf::from)
}

fn tail(out: &BootOutcome) -> String {
    let lines: Vec<&str> = out.output.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n      ")
}

fn describe_failure(out: &BootOutcome, what: &str) -> String {
    let status =
        if out.timed_out { "timed out".into() } else { format!("qemu status {:?}", out.status) };
    format!(
        "{what} ({status}, {:.1} s); last output:\n      {}",
        out.elapsed.as_secs_f64(),
        tail(out)
    )
}

/// Boots the in-kernel tests with `cmdline`; `filtered_dirs` names the source directories
/// whose tests a `ktest.filter` selects (empty: all of them must run).
fn ktests(
    elf: &Path,
    cmdline: &str,
    filtered_dirs: &[&str],
    disks: Vec<Disk>,
) -> Result<String, String> {
    ktests_with(elf, cmdline, filtered_dirs, disks, false)
}

/// As [`ktests`], with QEMU's Intel IOMMU attached (and the disks behind it) when `iommu`;
/// then the IOMMU fault test must also have run and made the IOMMU log its fault.
fn ktests_with(
    elf: &Path,
    cmdline: &str,
    filtered_dirs: &[&str],
    disks: Vec<Disk>,
    iommu: bool,
) -> Result<String, String> {
    let in_source =
        tests::ktests::count_in_tree(&[Path::new("ostd/src"), Path::new("kernel/src")])?;
    let expected = if filtered_dirs.is_empty() {
        in_source
    } else {
        let dirs: Vec<&Path> = filtered_dirs.iter().map(Path::new).collect();
        tests::ktests::count_in_tree(&dirs)?
    };
    // The NIC is attached exactly when the command line tells the kernel it is, so the two
    // cannot disagree (a promised NIC that is missing fails the net tests).
    let nic = cmdline.contains("ktest.net=user");
    let spec = BootSpec { disks, iommu, nic, ..BootSpec::pvh(elf, cmdline) };
    let out = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    for line in out.output.lines().filter(|l| l.ends_with(" FAILED")) {
        println!("      {line}");
    }
    tests::ktests::judge_selection(&out.output, out.succeeded(), in_source, expected)
        .and_then(|verdict| {
            if iommu {
                tests::ktests::judge_iommu_fault(&out.output)?;
            }
            Ok(verdict)
        })
        .map(|verdict| format!("{verdict} in {:.1} s", out.elapsed.as_secs_f64()))
        .map_err(|e| describe_failure(&out, &e))
}

/// The DMA, TEE-platform and evidence ktests under the simulated TEE, then the report they
/// printed, checked by the verifier on the host (tests::sim_evidence).
fn sim_ktests_and_evidence(elf: &Path, scratch: &Path) -> Result<String, String> {
    let cmdline =
        "console=ttyS0 ktest tee=sim sim.unaccepted=256 ktest.filter=mm::dma,tee::,attest::";
    let in_source =
        tests::ktests::count_in_tree(&[Path::new("ostd/src"), Path::new("kernel/src")])?;
    let expected = tests::ktests::count_in_tree(&[
        Path::new("ostd/src/mm/dma"),
        Path::new("ostd/src/tee"),
        Path::new("kernel/src/attest"),
    ])?;
    let out = boot(&BootSpec::pvh(elf, cmdline)).map_err(|e| format!("cannot start qemu: {e}"))?;
    let verdict = tests::ktests::judge_selection(&out.output, out.succeeded(), in_source, expected)
        .map_err(|e| describe_failure(&out, &e))?;
    let evidence = tests::sim_evidence::check(&out.output, cmdline, scratch)?;
    Ok(format!("{verdict} in {:.1} s; {evidence}", out.elapsed.as_secs_f64()))
}

/// Two fresh 8 MiB disks for the in-kernel virtio tests (`ktest.disk=pattern`: sector `k`
/// starts with `k`). Fresh each run, as the tests write.
fn pattern_disks(scratch: &Path) -> Result<Vec<Disk>, String> {
    (0..2)
        .map(|i| {
            let path = scratch.join(format!("ktest-disk{i}.img"));
            tests::reference::write_pattern_disk(&path, 8 << 20)?;
            Ok(Disk::writable(path))
        })
        .collect()
}

fn ovmf_banner(bzimage: &Path) -> Result<String, String> {
    expect_banner(&BootSpec::ovmf(bzimage, "console=ttyS0"), &["booted via Linux/EFI handover"])
}

fn interactive_shell(elf: &Path, initramfs: &Path) -> Result<String, String> {
    use std::time::Duration;
    let spec =
        BootSpec { initrd: Some(initramfs.into()), ..BootSpec::pvh(elf, "console=ttyS0 quiet") };
    let mut s =
        tests::qemu::Interactive::start(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    let long = Duration::from_secs(60);
    let short = Duration::from_secs(20);
    let prompt = "~ # ";
    s.expect(prompt, long)?;
    s.send(b"echo hello-$((6 * 7))\r")?;
    s.expect("hello-42", short)?;
    s.expect(prompt, short)?;
    // ^C reaches the foreground job, not the shell.
    s.send(b"sleep 30\r")?;
    std::thread::sleep(Duration::from_millis(700));
    s.send(b"\x03")?;
    s.expect(prompt, short)?;
    s.send(b"echo status=$?\r")?;
    s.expect("status=130", short)?;
    // A background job and wait.
    s.send(b"sleep 1 & jobs; wait; echo waited-$?\r")?;
    s.expect("Running", short)?;
    s.expect("waited-0", short)?;
    // Pipes, redirection, /proc.
    s.send(
        b"echo piped | tr a-z A-Z > /tmp/out; cat /tmp/out; echo self-count=$(ls /proc | grep \
          -c '^self$')\r",
    )?;
    s.expect("\nPIPED", short)?;
    s.expect("self-count=1", short)?;
    s.send(b"exit\r")?;
    match s.wait(short) {
        Some(tests::qemu::EXIT_SUCCESS) => {
            Ok("prompt, ^C (130), jobs, pipes, /proc, clean power-off".into())
        }
        other => Err(format!("after exit, qemu status {other:?}")),
    }
}

/// The host can send console input faster than anything reads it; the kernel's buffers are
/// capped (what does not fit is dropped and counted), so a flood costs bytes, not memory.
fn console_flood(elf: &Path, initramfs: &Path) -> Result<String, String> {
    use std::time::Duration;
    let spec =
        BootSpec { initrd: Some(initramfs.into()), ..BootSpec::pvh(elf, "console=ttyS0 quiet") };
    let mut s =
        tests::qemu::Interactive::start(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    s.expect("~ # ", Duration::from_secs(60))?;
    s.send(&vec![b'a'; 64 * 1024])?;
    std::thread::sleep(Duration::from_secs(3));
    s.send(b"\x03")?;
    s.send(b"\recho alive-$((40 + 2))\r")?;
    s.expect("alive-42", Duration::from_secs(60))?;
    s.send(b"exit\r")?;
    match s.wait(Duration::from_secs(20)) {
        Some(tests::qemu::EXIT_SUCCESS) => {
            Ok("the shell answers after the flood; clean power-off".into())
        }
        other => Err(format!("after exit, qemu status {other:?}")),
    }
}

fn panic_path(elf: &Path) -> Result<String, String> {
    let out = boot(&BootSpec::pvh(elf, "console=ttyS0 selftest=panic"))
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let expected = [
        "kernel panic in task main",
        "deliberate panic requested by selftest=panic",
        "backtrace:",
        "kernel::kernel_main+0x",
    ];
    if let Some(missing) = expected.iter().find(|e| !out.output.contains(*e)) {
        return Err(describe_failure(&out, &format!("panic output lacks {missing:?}")));
    }
    if out.status != Some(tests::qemu::EXIT_FAILURE) {
        return Err(describe_failure(&out, "the run did not end with the failure status"));
    }
    Ok("message, named frames, failure status".into())
}

fn stack_overflow_path(elf: &Path) -> Result<String, String> {
    let out = boot(&BootSpec::pvh(elf, "console=ttyS0 selftest=stack-overflow"))
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let expected = [
        "FATAL: kernel stack overflow in task main",
        "bytes below its stack",
        "backtrace:",
        "kernel::overflow_stack+0x",
    ];
    if let Some(missing) = expected.iter().find(|e| !out.output.contains(*e)) {
        return Err(describe_failure(&out, &format!("stack-overflow output lacks {missing:?}")));
    }
    if out.status != Some(tests::qemu::EXIT_FAILURE) {
        return Err(describe_failure(&out, "the run did not end with the failure status"));
    }
    Ok("guard-page fault named as an overflow of task main, backtrace, failure status".into())
}

fn ovmf_with_initrd(bzimage: &Path, scratch: &Path) -> Result<String, String> {
    let initrd = scratch.join("ovmf-initrd.img");
    let bytes: Vec<u8> = b"070701".iter().copied().chain((0..5000u32).map(|i| i as u8)).collect();
    std::fs::write(&initrd, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", initrd.display()))?;
    let spec = BootSpec {
        initrd: Some(initrd.into()),
        ..BootSpec::ovmf(bzimage, "console=ttyS0 rdinit=/bin/sh marker=ovmf-42")
    };
    expect_banner(
        &spec,
        &[
            "marker=ovmf-42",
            "initrd: 5006 bytes",
            "cpio newc",
            "initramfs: malformed cpio entry at offset 0x0: ino field",
            "tried /bin/sh",
        ],
    )
}

fn expect_banner(spec: &BootSpec, expect: &[&str]) -> Result<String, String> {
    let out = boot(spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    if !out.output.contains(BANNER) {
        return Err(describe_failure(&out, "no banner"));
    }
    if let Some(missing) = expect.iter().find(|e| !out.output.contains(*e)) {
        return Err(describe_failure(&out, &format!("banner lacks {missing:?}")));
    }
    // These boots have no usable init: the kernel must say so and power off with the
    // failure status (Linux panics here), never hang or triple-fault.
    if !out.output.contains("no init found") || out.status != Some(tests::qemu::EXIT_FAILURE) {
        return Err(describe_failure(&out, "expected 'no init found' and a clean failure exit"));
    }
    Ok(format!("banner, then 'no init found', in {:.1} s", out.elapsed.as_secs_f64()))
}

type Case = (&'static str, BootSpec, &'static [&'static str]);

fn bad_input_cases(elf: &Path, scratch: &Path) -> Vec<Case> {
    let write = |name: &str, bytes: &[u8]| -> OsString {
        let path = scratch.join(name);
        std::fs::write(&path, bytes).expect("cannot write a test initrd");
        path.into_os_string()
    };
    // A gzip member of "hello" (fixed bytes: deterministic, no tool needed).
    let gzip: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
        0x86, 0xa6, 0x10, 0x36, 0x05, 0, 0, 0,
    ];
    use tests::bad_initrd::{gzip_zeros, newc_entry, newc_trailer};
    let bomb = gzip_zeros(300 << 20, 300 << 20);
    let bomb_liar = gzip_zeros(300 << 20, 4096);
    // A directory, then a 5000-byte file cut off 1000 bytes into its data.
    let mut truncated = newc_entry(0o040755, "bin", &[]);
    truncated.extend(newc_entry(0o100644, "bin/data", &[7; 5000]));
    truncated.truncate(0x74 + 120 + 1000);
    // A good file, then an entry whose mode has no file type.
    let mut bogus = newc_entry(0o100644, "ok", b"hi\n");
    bogus.extend(newc_entry(0o170644, "bogus", &[]));
    bogus.extend(newc_trailer());
    let corrupt: Vec<u8> =
        (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let malformed = b"console=ttyS0 key=\xff\xfe\x01 quote=\"never closed tail".to_vec();
    let overlong = format!("console=ttyS0 {}", "x".repeat(3000));
    let plain = || BootSpec::pvh(elf, "console=ttyS0");
    let with_initrd = |initrd: OsString| BootSpec { initrd: Some(initrd), ..plain() };
    vec![
        (
            "malformed command line",
            BootSpec::pvh(elf, OsString::from_vec(malformed)),
            &["non-printable bytes shown as '?'"],
        ),
        ("overlong command line", BootSpec::pvh(elf, overlong), &["bytes past 2048 dropped"]),
        ("no initrd", plain(), &["initrd: none"]),
        (
            "gzip initrd that is not a cpio archive",
            with_initrd(write("hello.gz", gzip)),
            &[
                "initrd: 25 bytes",
                "gzip",
                "initramfs: malformed cpio entry at offset 0x0: truncated header (5 bytes left",
            ],
        ),
        (
            "gzip bomb initrd (300 MiB of zeros)",
            with_initrd(write("bomb.gz", &bomb)),
            &[
                "gzip",
                "initramfs: the archive decompresses to more than",
                "a quarter of free memory",
            ],
        ),
        (
            "gzip bomb whose trailer understates its size",
            with_initrd(write("bomb-liar.gz", &bomb_liar)),
            &[
                "gzip",
                "initramfs: the deflate stream inflates past the 4096 bytes its gzip trailer \
                 declares",
            ],
        ),
        (
            "truncated cpio archive",
            with_initrd(write("truncated.cpio", &truncated)),
            &[
                "cpio newc",
                "initramfs: malformed cpio entry \"bin/data\" at offset 0x74: its 5000 bytes of \
                 data run past the end of the archive (1000 left)",
            ],
        ),
        (
            "cpio archive with a bogus entry",
            with_initrd(write("bogus.cpio", &bogus)),
            &[
                "cpio newc",
                "initramfs: malformed cpio entry \"bogus\" at offset 0x78: mode 0o170644 is no \
                 known file type",
            ],
        ),
        (
            "corrupt initrd",
            with_initrd(write("corrupt.img", &corrupt)),
            &["initrd: 70000 bytes", "unrecognised format", "initramfs: not gzip or cpio newc"],
        ),
        ("empty initrd", with_initrd(write("empty.img", &[])), &["initrd: none"]),
        (
            "memory map with holes (3 GiB around the PCI hole)",
            BootSpec { memory: "3G".into(), ..plain() },
            &["MiB usable"],
        ),
        ("tiny memory (-m 32)", BootSpec { memory: "32M".into(), ..plain() }, &["MiB usable"]),
        (
            "legacy pc machine (no MCFG: port I/O PCI)",
            BootSpec { machine: "pc".into(), ..plain() },
            &["via port I/O"],
        ),
        (
            "bad hz= value",
            BootSpec::pvh(elf, "console=ttyS0 hz=banana"),
            &["ignoring hz=banana", "250 Hz tick"],
        ),
    ]
}
