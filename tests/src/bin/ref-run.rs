//! `ref-run SCRIPT KERNEL_ELF [--disk | --ext2 | --nic] [C_PROGRAM.c | /host/program ...]`: runs a busybox
//! script under Linux and under our kernel and prints both outputs and their first
//! differences. For investigating a reference mismatch. `--disk` gives each kernel a fresh
//! 8 MiB pattern disk and Linux its virtio modules, as `make test` does for tests/ref/vdisk.sh;
//! `--ext2` gives each an identical ext2 disk instead (tests/ref/ext2.sh) and afterwards checks
//! both disks with e2fsck and compares their trees. `--nic` gives each a virtio NIC on slirp
//! and Linux its virtio-net modules (tests/ref/netconf.sh).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tests::ext2_disk::{self, EXT2_BLOCK_SIZE, EXT2_SIZE};
use tests::qemu::{BootSpec, Disk, boot};
use tests::reference::{
    VIRTIO_BLK_MODULES, VIRTIO_NET_MODULES, build_image_with_host_programs, compile_static_c,
    extract, first_differences, judge, linux_kernel, linux_modules, write_pattern_disk,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (script, elf, extra) = match args.as_slice() {
        [_, script, elf, extra @ ..] => (script, elf, extra),
        _ => {
            eprintln!(
                "usage: ref-run SCRIPT KERNEL_ELF [--disk | --ext2 | --nic] [C_PROGRAM.c | /host/program ...]"
            );
            return ExitCode::from(2);
        }
    };
    match run(Path::new(script), Path::new(elf), extra) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ref-run: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(script: &Path, elf: &Path, extra: &[String]) -> Result<bool, String> {
    let work = std::env::current_dir().map_err(|e| e.to_string())?.join("target/ref-run");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let image = work.join("busybox.cpio.gz");
    let mut binaries = Vec::new();
    let ext2 = extra.iter().any(|e| e == "--ext2");
    let disk = ext2 || extra.iter().any(|e| e == "--disk");
    let nic = extra.iter().any(|e| e == "--nic");
    let (c_sources, host_programs): (Vec<&String>, Vec<&String>) = extra
        .iter()
        .filter(|e| !matches!(e.as_str(), "--disk" | "--ext2" | "--nic"))
        .partition(|e| e.ends_with(".c"));
    let c_probes = c_sources.len();
    tests::reference::require_probe_source(
        script,
        &c_sources.iter().map(|c| Path::new(c.as_str())).collect::<Vec<_>>(),
    )?;
    for source in c_sources {
        let source = Path::new(source);
        let out = work.join(source.file_stem().ok_or("a C program needs a file name")?);
        compile_static_c(source, &out)?;
        binaries.push(out);
    }
    let refs: Vec<&Path> = binaries.iter().map(|b| b.as_path()).collect();
    let hosts: Vec<&Path> = host_programs.iter().map(|p| Path::new(p.as_str())).collect();
    let linux = linux_kernel(Path::new("target/linux"))?;
    let modules = match (disk, nic) {
        (true, _) => linux_modules(&linux, &VIRTIO_BLK_MODULES)?,
        (false, true) => linux_modules(&linux, &VIRTIO_NET_MODULES)?,
        (false, false) => Vec::new(),
    };
    build_image_with_host_programs(script, &refs, &hosts, &modules, &work, &image)?;
    if ext2 {
        ext2_disk::prepare_disks(
            &work,
            EXT2_BLOCK_SIZE,
            EXT2_SIZE,
            &["linux-disk.img", "our-disk.img"],
        )?;
    }
    let spec = |kernel: &Path, cmdline: &str, name: &str| -> Result<BootSpec, String> {
        let mut disks = Vec::new();
        if ext2 {
            disks.push(Disk::writable(work.join(name)));
        } else if disk {
            let path = work.join(name);
            write_pattern_disk(&path, 8 << 20)?;
            disks.push(Disk::writable(path));
        }
        Ok(BootSpec {
            initrd: Some(image.clone().into()),
            timeout: Duration::from_secs(180),
            disks,
            nic,
            ..BootSpec::pvh(kernel, cmdline)
        })
    };
    let theirs = boot(&spec(&linux, "console=ttyS0 panic=-1 quiet", "linux-disk.img")?)
        .map_err(|e| e.to_string())?;
    let ours =
        boot(&spec(elf, "console=ttyS0 quiet", "our-disk.img")?).map_err(|e| e.to_string())?;
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
    if ext2 {
        match ext2_disk::compare_disks(&work.join("linux-disk.img"), &work.join("our-disk.img")) {
            Ok(()) => println!("disks: both clean, trees equal"),
            Err(e) => {
                println!("FAIL (disks): {e}");
                return Ok(false);
            }
        }
    }
    // The same verdict as `make test`: identical, and complete, and a clean end on ours.
    match judge(&theirs, &ours, c_probes) {
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
