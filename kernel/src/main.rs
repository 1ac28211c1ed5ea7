//! The kernel: the Linux ABI on top of OSTD.
//!
//! Boot, in order: the banner; the root filesystem (ramfs with /dev, then the initramfs
//! unpacked into it); the console tty; then init (`rdinit=`, else `init=`, else `/init`,
//! else `/sbin/init`) as pid 1. With `ktest` on the command line the in-kernel tests run
//! instead. When init exits, the machine powers off.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]
#![allow(
    clippy::collapsible_match,
    reason = "an arm that tests a condition inside stops the match for every value it names; \
              a guard would let the others fall through to later arms (clippy's own fix broke \
              MSG_COPY's search and the seccomp and madvise checks this way)"
)]

extern crate alloc;

mod attest;
mod banner;
mod block;
mod device;
mod error;
mod fs;
mod ipc;
mod memory;
mod net;
mod page_span;
mod process;
mod random;
mod seccomp;
mod syscall;
mod sysctl;
mod time;
mod tty;
mod user_mem;
mod wait;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ostd::power::{ExitCode, exit_qemu};

ostd::main!(kernel_main);

/// Recurses until the kernel stack runs out (for `selftest=stack-overflow`).
///
/// Each frame keeps a 256-byte array alive across the call, so the recursion can be neither
/// turned into a loop nor have its frames shrunk; it stops only at an impossible depth.
fn overflow_stack(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    if core::hint::black_box(depth) == u64::MAX {
        return frame[0];
    }
    overflow_stack(depth + 1).wrapping_add(core::hint::black_box(frame)[31])
}

fn kernel_main() -> ! {
    banner::print();
    time::init();
    let cmdline = &ostd::boot::boot_info().cmdline;
    // Measured boot, event 1: before anything below acts on the command line.
    attest::measure::command_line(cmdline.as_str());
    if cmdline.value("selftest") == Some("panic") {
        // Lets the test harness check the panic path: message, named backtrace, failure exit.
        panic!("deliberate panic requested by selftest=panic");
    }
    if cmdline.value("selftest") == Some("stack-overflow") {
        // Lets the test harness check that a kernel stack overflow hits the guard page and
        // is reported as one, naming the task.
        let depth = overflow_stack(0);
        panic!("selftest=stack-overflow: {depth} frames did not exhaust the kernel stack");
    }
    if cmdline.has_flag("ktest") {
        let summary = ostd::ktest::run_all(cmdline.value("ktest.filter"));
        exit_qemu(if summary.failed == 0 && summary.passed > 0 {
            ExitCode::Success
        } else {
            ExitCode::Failure
        });
    }
    log::info!("{} syscalls implemented", syscall::table::TABLE.len());
    device::probe();
    block::loopback::init();

    let root = fs::root();
    if let Err(e) = fs::devfs::populate(&root) {
        log::error!("cannot create /dev: {e:?}");
    }
    let initrd = ostd::boot::initrd_bytes();
    if let Some(image) = initrd {
        attest::measure::initramfs(image);
    }
    match initrd {
        Some(image) => match fs::initramfs::unpack(image, &root) {
            Ok(u) => log::info!(
                "initramfs: {} entries, {} bytes{}",
                u.entries,
                u.bytes,
                if u.compressed { " (gzip)" } else { "" }
            ),
            Err(e) => log::error!("initramfs: {e}"),
        },
        None => log::info!("no initramfs"),
    }
    let _ = fs::devfs::populate(&root);
    tty::init();
    process::itimer::init();
    net::init();
    wait::set_signal_check(process::registry::current_interrupted);
    process::namespaces::init();
    fs::mount_busy::set_holders_hook(process::registry::any_holds);
    fs::mount::register_filesystem("proc", process::procfs::new_root);
    fs::mount::register_filesystem("configfs", attest::tsm::new_root);
    process::run::set_syscall_entries(process::run::SyscallEntries {
        native: syscall::dispatch,
        legacy: syscall::i386::dispatch,
    });

    // As Linux: the initramfs's own init first; only without one, the root= disk.
    let rdinit = cmdline.value("rdinit").unwrap_or("/init");
    let memory_root = fs::root();
    let start = fs::path::Start::kernel(&memory_root);
    let has_rdinit = fs::path::resolve(&start, rdinit, true).is_ok();
    let disk_root = match fs::rootfs::RootSpec::from_cmdline(cmdline) {
        Some(spec) if !has_rdinit => match fs::rootfs::mount_root(&spec) {
            Ok(root) => {
                log::info!("root: {} ({}) mounted", spec.device, spec.fstype);
                Some(root)
            }
            Err(e) => {
                log::error!("{}; powering off", fs::rootfs::explain(&spec, e));
                exit_qemu(ExitCode::Failure);
            }
        },
        _ => None,
    };
    if disk_root.is_none() {
        attest::measure::root("initramfs");
    }
    // A container image (`images build`): its spec says what pid 1 is, unless init= does.
    if let Some(root) = disk_root.as_ref().filter(|_| cmdline.value("init").is_none())
        && let Some(spec) = process::container::read_spec(root)
    {
        start_container(root.clone(), spec);
    }
    let (root, candidates): (_, Vec<&str>) = match disk_root {
        Some(root) => {
            let inits =
                cmdline.value("init").map_or(fs::rootfs::ROOT_INITS.to_vec(), |p| alloc::vec![p]);
            (root, inits)
        }
        None => match cmdline.value("rdinit").or(cmdline.value("init")) {
            Some(path) => (memory_root, alloc::vec![path]),
            None => (memory_root, alloc::vec!["/init", "/sbin/init"]),
        },
    };
    let mut envp: Vec<String> = alloc::vec!["HOME=/".to_string(), "TERM=linux".to_string()];
    let mut extra_args: Vec<String> = Vec::new();
    for arg in cmdline.args() {
        match (arg.key, arg.value) {
            (
                "console" | "rdinit" | "init" | "quiet" | "hz" | "tee" | "ktest" | "ktest.filter"
                | "selftest" | "root" | "rootfstype" | "ro" | "rw" | "rootwait" | "ip",
                _,
            ) => {}
            (k, Some(v)) if !k.contains('.') => envp.push(alloc::format!("{k}={v}")),
            (k, None) if !k.contains('.') => extra_args.push(k.to_string()),
            _ => {}
        }
    }
    for path in &candidates {
        let mut argv = alloc::vec![path.to_string()];
        argv.extend(cmdline.init_args().map(String::from));
        argv.extend(extra_args.iter().cloned());
        let identity = process::run::InitIdentity::default();
        match process::run::start_init(root.clone(), path, argv, envp.clone(), &identity) {
            Ok(()) => wait_for_init(),
            Err(e) => log::warn!("cannot run {path} as init: {e:?}"),
        }
    }
    log::error!("no init found (tried {}); powering off", candidates.join(", "));
    exit_qemu(ExitCode::Failure)
}

/// Starts the container `spec` read from `root` as pid 1 and waits for it; a spec that cannot
/// be used powers off with a failure, naming why.
fn start_container(
    root: alloc::sync::Arc<fs::Node>,
    spec: Result<(guest_image::container::ContainerSpec, Vec<u8>), String>,
) -> ! {
    let launch = spec.and_then(|(spec, bytes)| process::container::prepare(&root, spec, bytes));
    let launch = match launch {
        Ok(launch) => launch,
        Err(e) => {
            log::error!("container: {e}; powering off");
            exit_qemu(ExitCode::Failure);
        }
    };
    attest::measure::container_spec(&launch.spec_bytes);
    let identity = process::run::InitIdentity {
        cwd: Some(launch.cwd.clone()),
        uid: launch.uid,
        gid: launch.gid,
        groups: launch.groups.clone(),
    };
    match process::run::start_init(root, &launch.program, launch.argv, launch.envp, &identity) {
        Ok(()) => wait_for_init(),
        Err(e) => {
            log::error!("container: cannot run {}: {e:?}; powering off", launch.program);
            exit_qemu(ExitCode::Failure)
        }
    }
}

/// Waits until pid 1 exits, then powers off with its verdict.
fn wait_for_init() -> ! {
    let status =
        ostd::task::wait_ticks_until(|| process::registry::get(1).and_then(|p| p.exit_status()));
    log::info!("init exited ({status:?}); powering off");
    exit_qemu(if status == process::ExitStatus::Exited(0) {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
