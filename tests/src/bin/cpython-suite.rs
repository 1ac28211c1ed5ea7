//! `cpython-suite KERNEL_ELF`: CPython's regression modules (tests/cpython/modules) from
//! Debian's libpython3.11-testsuite, under Debian's Linux 6.1 and under our kernel at the same
//! time (one QEMU each), compared case by case against tests/cpython/known-gaps.
//!
//! Prints a table per module (passed/failed/skipped under each kernel, gaps listed and not)
//! and fails if a case that passes under Linux fails here without being listed, if a listed
//! case no longer fails (shrink the file), or if a module did not finish here. The raw console
//! output is kept in target/cpython/{linux,ours}.out.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use tests::cpython::{compare, module_names, parse_known_gaps, parse_run};
use tests::qemu::{BootSpec, boot};
use tests::reference::linux_kernel;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: cpython-suite KERNEL_ELF");
        return ExitCode::from(2);
    };
    match run(Path::new(elf)) {
        Ok(summary) => {
            println!("cpython-suite: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("cpython-suite: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(elf: &Path) -> Result<String, String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let module_list = read("tests/cpython/modules")?;
    let known = parse_known_gaps(&read("tests/cpython/known-gaps")?)?;
    let modules = module_names(&module_list);

    let work = root.join("target/cpython");
    let extra = work.join("extra");
    let _ = std::fs::remove_dir_all(&extra);
    std::fs::create_dir_all(extra.join("cpython")).map_err(|e| e.to_string())?;
    std::fs::copy(root.join("tests/cpython/rdinit"), extra.join("cpython-init")).map_err(|e| format!("copy rdinit: {e}"))?;
    std::fs::write(extra.join("cpython/modules"), &module_list).map_err(|e| e.to_string())?;
    let image = work.join("image.cpio.gz");
    let status = Command::new(root.join("images/debian/mkimage.sh")).arg(&image).arg(&extra).status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("images/debian/mkimage.sh failed: {status}"));
    }
    let linux = linux_kernel(&root.join("target/linux"))?;
    let spec = |kernel: &Path, cmdline: &str| BootSpec {
        initrd: Some(image.clone().into()),
        memory: "2G".into(),
        timeout: Duration::from_secs(40 * 60),
        ..BootSpec::pvh(kernel, cmdline)
    };
    // The two kernels run side by side: each QEMU is one TCG thread.
    let linux_spec = spec(&linux, "console=ttyS0 panic=-1 quiet rdinit=/cpython-init");
    let ours_spec = spec(elf, "console=ttyS0 quiet rdinit=/cpython-init");
    let linux_run = std::thread::spawn(move || boot(&linux_spec));
    let ours = boot(&ours_spec).map_err(|e| format!("boot ours: {e}"))?;
    let theirs = linux_run.join().map_err(|_| "the Linux boot thread panicked".to_string())?.map_err(|e| format!("boot Linux: {e}"))?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;

    let comparison = compare(&modules, &parse_run(&theirs.output), &parse_run(&ours.output), &known);
    print!("{}", comparison.table());
    let mut problems = Vec::new();
    for id in comparison.unlisted() {
        problems.push(format!("passes under Linux, not here, not in tests/cpython/known-gaps: {id}"));
    }
    for pattern in &comparison.stale {
        problems.push(format!("known-gaps lists {pattern}, which no longer fails here (or fails under Linux too): remove it"));
    }
    for m in comparison.modules.iter().filter(|m| m.linux_finished && !m.ours_finished) {
        problems.push(format!("{} did not finish on our kernel (see target/cpython/ours.out)", m.module));
    }
    for m in comparison.modules.iter().filter(|m| !m.linux_finished) {
        println!("note: {} did not finish under Linux either (see target/cpython/linux.out)", m.module);
    }
    let timing = format!("Linux {:.0} s, ours {:.0} s", theirs.elapsed.as_secs_f64(), ours.elapsed.as_secs_f64());
    if problems.is_empty() {
        Ok(format!("{} modules; every case that passes under Linux passes here except {} listed gaps ({timing})", modules.len(), comparison.listed_count()))
    } else {
        for p in problems.iter().take(40) {
            println!("  {p}");
        }
        Err(format!("{} problems ({timing})", problems.len()))
    }
}
