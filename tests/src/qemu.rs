//! Booting the kernel in QEMU and capturing what it prints on the serial console.
//!
//! Every boot gets `-no-reboot` (a triple fault ends QEMU instead of looping) and the
//! isa-debug-exit device, through which the kernel reports 33 (success) or 35 (failure).

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// QEMU's exit status when the kernel reports success.
pub const EXIT_SUCCESS: i32 = 33;
/// QEMU's exit status when the kernel reports failure.
pub const EXIT_FAILURE: i32 = 35;

/// How to boot.
#[derive(Clone, Debug)]
pub struct BootSpec {
    /// `-kernel` image: the PVH ELF or the bzImage.
    pub kernel: OsString,
    /// Boot the bzImage under OVMF rather than the ELF under SeaBIOS.
    pub ovmf: bool,
    /// `-append`, as raw bytes (malformed command lines are a test case).
    pub cmdline: OsString,
    /// `-initrd`, if any.
    pub initrd: Option<OsString>,
    /// `-m`.
    pub memory: String,
    /// `-machine`.
    pub machine: String,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// A file that receives the console output as it arrives (long runs can be watched).
    pub console_log: Option<std::path::PathBuf>,
    /// Run with `-icount shift=0,sleep=off`: the guest clock advances 1 ns per guest
    /// instruction, so a guest timing counts the instructions executed (deterministic, and
    /// blind to how fast TCG emulates each one). For A/B comparisons of work done.
    pub icount: bool,
    /// Virtio block disks (modern virtio-pci only), attached in order: Linux names them
    /// vda, vdb, ...
    pub disks: Vec<Disk>,
    /// Attach QEMU's Intel IOMMU (`intel-iommu,intremap=off`); the disks (and the NIC) then
    /// require the driver to go through it (`iommu_platform=on`).
    pub iommu: bool,
    /// Give the virtio devices `iommu_platform=on` (VIRTIO_F_ACCESS_PLATFORM) without an IOMMU,
    /// as a confidential VM's host does: the kernel refuses devices without it under a TEE.
    pub access_platform: bool,
    /// Attach a virtio-net NIC (modern only) on QEMU's user networking, slirp: the guest is
    /// 10.0.2.15/24, the gateway 10.0.2.2, and nothing outside is reachable but through slirp.
    pub nic: bool,
    /// TCP ports slirp forwards from the host's loopback to the guest (only with `nic`).
    pub host_forwards: Vec<HostForward>,
    /// Kill QEMU (SIGKILL: no shutdown, the guest flushes nothing) as soon as the console
    /// prints a whole line that starts with this text: a power cut at a point the guest names.
    pub kill_on: Option<String>,
}

/// A raw disk image given to the guest as a virtio block device.
#[derive(Clone, Debug)]
pub struct Disk {
    /// The image file on the host.
    pub path: std::path::PathBuf,
    /// Attach it read-only (the device then offers VIRTIO_BLK_F_RO).
    pub readonly: bool,
}

impl Disk {
    /// A writable disk backed by `path`.
    pub fn writable(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into(), readonly: false }
    }

    /// A read-only disk backed by `path`.
    pub fn readonly(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into(), readonly: true }
    }
}

/// A slirp `hostfwd` rule: connections to `127.0.0.1:host` on the host reach the guest's
/// 10.0.2.15:`guest` over TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostForward {
    /// The port on the host's loopback.
    pub host: u16,
    /// The port in the guest.
    pub guest: u16,
}

impl HostForward {
    /// Forwards a port the host's kernel picked as free to `guest`, so that parallel runs do
    /// not collide. The port is free when this returns; another program could take it before
    /// QEMU binds it, and QEMU then fails to start and says so on stderr.
    pub fn to_guest_port(guest: u16) -> std::io::Result<Self> {
        Ok(Self::to_guest_ports(&[guest])?[0])
    }

    /// [`HostForward::to_guest_port`] for several guest ports at once, on distinct host
    /// ports: each probe listener is held until all are picked (one at a time, the host's
    /// kernel may hand the same free port out twice, and QEMU then refuses the second rule).
    pub fn to_guest_ports(guests: &[u16]) -> std::io::Result<Vec<Self>> {
        let probes = guests
            .iter()
            .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
            .collect::<std::io::Result<Vec<_>>>()?;
        guests
            .iter()
            .zip(&probes)
            .map(|(&guest, probe)| Ok(Self { host: probe.local_addr()?.port(), guest }))
            .collect()
    }
}

/// Returns `-drive`/`-device` arguments for `disks`, in order. QEMU's option syntax separates
/// fields with commas, and a comma inside a value is written twice.
pub fn disk_args(disks: &[Disk], access_platform: bool) -> Vec<OsString> {
    let mut args = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        let mut drive = OsString::from("file=");
        drive.push(disk.path.as_os_str().to_string_lossy().replace(',', ",,"));
        drive.push(format!(",if=none,id=disk{i},format=raw"));
        if disk.readonly {
            drive.push(",readonly=on");
        }
        let mut device = format!("virtio-blk-pci,drive=disk{i},disable-legacy=on");
        if access_platform {
            device.push_str(",iommu_platform=on");
        }
        args.extend(["-drive".into(), drive, "-device".into(), device.into()]);
    }
    args
}

/// Returns the `-netdev`/`-device` arguments of the NIC [`BootSpec::nic`] asks for, with
/// its `hostfwd` rules.
pub fn nic_args(access_platform: bool, forwards: &[HostForward]) -> Vec<OsString> {
    let mut device = String::from("virtio-net-pci,netdev=n0,disable-legacy=on");
    if access_platform {
        device.push_str(",iommu_platform=on");
    }
    let mut netdev = String::from("user,id=n0");
    for HostForward { host, guest } in forwards {
        netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
    }
    ["-netdev", &netdev, "-device", &device].map(OsString::from).to_vec()
}

impl BootSpec {
    /// A PVH boot of `elf` with `cmdline`, 512 MiB, q35.
    pub fn pvh(elf: &Path, cmdline: impl Into<OsString>) -> Self {
        Self {
            kernel: elf.into(),
            ovmf: false,
            cmdline: cmdline.into(),
            initrd: None,
            memory: "512M".into(),
            machine: "q35".into(),
            timeout: Duration::from_secs(60),
            console_log: None,
            icount: false,
            disks: Vec::new(),
            iommu: false,
            access_platform: false,
            nic: false,
            host_forwards: Vec::new(),
            kill_on: None,
        }
    }

    /// An OVMF boot of `bzimage` with `cmdline`.
    pub fn ovmf(bzimage: &Path, cmdline: impl Into<OsString>) -> Self {
        Self { ovmf: true, timeout: Duration::from_secs(120), ..Self::pvh(bzimage, cmdline) }
    }
}

/// What a boot did.
#[derive(Debug)]
pub struct BootOutcome {
    /// QEMU's exit status (`None` if it was killed).
    pub status: Option<i32>,
    /// Everything on the serial console, `\r` removed.
    pub output: String,
    /// Whether it hit the time limit.
    pub timed_out: bool,
    /// Whether the harness killed it because the console printed the `kill_on` line.
    pub killed_on_line: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl BootOutcome {
    /// Returns whether the kernel reported success.
    pub fn succeeded(&self) -> bool {
        self.status == Some(EXIT_SUCCESS)
    }
}

/// The environment variable that profiles every boot: `COCOON_PROFILE=DIR` loads the
/// instruction-counting plugin (tests/profile/tbprof.c, built by `make profile-plugin`), which
/// writes DIR/tbprof.PID when QEMU ends; `profile-report` reads it (README, "Profiling under
/// TCG").
pub const PROFILE_ENV: &str = "COCOON_PROFILE";

/// The `-plugin` arguments [`PROFILE_ENV`] asks for (none when it is unset).
fn profile_args() -> Vec<OsString> {
    let Some(dir) = std::env::var_os(PROFILE_ENV) else { return Vec::new() };
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/profile/libtbprof.so");
    let mut arg = plugin.into_os_string();
    arg.push(",out=");
    arg.push(dir);
    vec!["-plugin".into(), arg]
}

/// The QEMU command for `spec` (TCG, `-cpu max`, serial on stdio, isa-debug-exit), built in
/// one place so that tests, the interactive session and benchmarks boot with identical flags.
pub fn qemu_command(spec: &BootSpec) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-machine", &spec.machine, "-cpu", "max", "-m", &spec.memory, "-accel", "tcg"]);
    cmd.args([
        "-display",
        "none",
        "-no-reboot",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-net",
        "none",
    ]);
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    if spec.icount {
        cmd.args(["-icount", "shift=0,sleep=off"]);
    }
    if spec.ovmf {
        cmd.args(["-bios", "/usr/share/ovmf/OVMF.fd"]);
    }
    if spec.iommu {
        cmd.args(["-device", "intel-iommu,intremap=off"]);
    }
    let access_platform = spec.iommu || spec.access_platform;
    cmd.args(disk_args(&spec.disks, access_platform));
    if spec.nic {
        cmd.args(nic_args(access_platform, &spec.host_forwards));
    }
    cmd.arg("-kernel").arg(&spec.kernel).arg("-append").arg(&spec.cmdline);
    if let Some(initrd) = &spec.initrd {
        cmd.arg("-initrd").arg(initrd);
    }
    cmd.args(profile_args());
    cmd
}

/// Waits for `child` to exit, polling every `poll`; kills it once `limit` has passed since
/// `start`. Returns its exit code (None if killed by a signal or the limit) and whether the
/// limit was hit.
pub fn wait_or_kill(
    child: &mut Child,
    start: Instant,
    limit: Duration,
    poll: Duration,
) -> std::io::Result<(Option<i32>, bool)> {
    Ok(match wait_or_kill_when(child, start, limit, poll, || false)? {
        Waited::Exited(code) => (code, false),
        // Nothing asks it to stop.
        Waited::TimedOut | Waited::Stopped => (None, true),
    })
}

/// How [`wait_or_kill_when`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waited {
    /// The child exited by itself, with this code (None: a signal).
    Exited(Option<i32>),
    /// The time limit passed; the child was killed.
    TimedOut,
    /// `stop` said so; the child was killed.
    Stopped,
}

/// As [`wait_or_kill`], and also kills the child (SIGKILL) as soon as `stop()` returns true.
fn wait_or_kill_when(
    child: &mut Child,
    start: Instant,
    limit: Duration,
    poll: Duration,
    stop: impl Fn() -> bool,
) -> std::io::Result<Waited> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Waited::Exited(status.code()));
        }
        let ending = if stop() {
            Waited::Stopped
        } else if start.elapsed() > limit {
            Waited::TimedOut
        } else {
            std::thread::sleep(poll);
            continue;
        };
        let _ = child.kill();
        let _ = child.wait();
        return Ok(ending);
    }
}

/// Finds a whole line (ended by `\n`) that starts with `prefix` in `buf`, looking at lines
/// that start at or after `*from`; advances `*from` past the whole lines it looked at, so a
/// growing buffer is scanned once.
fn find_line_start(buf: &[u8], from: &mut usize, prefix: &[u8]) -> bool {
    while let Some(len) = buf[*from..].iter().position(|&b| b == b'\n') {
        let line = &buf[*from..*from + len];
        *from += len + 1;
        if line.starts_with(prefix) {
            return true;
        }
    }
    false
}

/// Boots and waits for QEMU to exit, the time limit, or the `kill_on` line.
pub fn boot(spec: &BootSpec) -> std::io::Result<BootOutcome> {
    let mut cmd = qemu_command(spec);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut log = match &spec.console_log {
        Some(path) => Some(std::fs::File::create(path)?),
        None => None,
    };
    let seen = Arc::new(AtomicBool::new(false));
    let (kill_on, seen_by_reader) = (spec.kill_on.clone(), seen.clone());
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut scanned = 0;
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(log) = log.as_mut() {
                let _ = std::io::Write::write_all(log, &chunk[..n]);
            }
            if let Some(prefix) = &kill_on
                && find_line_start(&buf, &mut scanned, prefix.as_bytes())
            {
                seen_by_reader.store(true, Ordering::Release);
            }
        }
        buf
    });
    let stop = || seen.load(Ordering::Acquire);
    let waited =
        wait_or_kill_when(&mut child, start, spec.timeout, Duration::from_millis(20), stop)?;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let raw = reader.join().unwrap_or_default();
    let mut output = String::from_utf8_lossy(&raw).replace('\r', "");
    if !err.is_empty() {
        output.push_str("\n[qemu stderr] ");
        output.push_str(&err);
    }
    let status = match waited {
        Waited::Exited(code) => code,
        Waited::TimedOut | Waited::Stopped => None,
    };
    Ok(BootOutcome {
        status,
        output,
        timed_out: waited == Waited::TimedOut,
        killed_on_line: waited == Waited::Stopped,
        elapsed: start.elapsed(),
    })
}

/// Returns the `N passed, M failed` counts of an in-kernel test run, if it printed them.
pub fn ktest_counts(output: &str) -> Option<(usize, usize)> {
    output.lines().rev().find_map(|line| {
        let (passed, rest) = line.trim().split_once(" passed, ")?;
        let failed = rest.strip_suffix(" failed")?;
        Some((passed.parse().ok()?, failed.parse().ok()?))
    })
}

/// A QEMU whose serial console a test types into and reads from while the guest runs: the
/// guest announces states by console lines, the host acts on them (through [`HostForward`]
/// ports, say), and tells the guest to go on by typing.
pub struct Interactive {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    /// The console so far, `\r` removed.
    output: Arc<std::sync::Mutex<String>>,
    /// QEMU's own stderr (hostfwd errors, for instance).
    stderr: Arc<std::sync::Mutex<String>>,
    consumed: usize,
}

impl Interactive {
    /// Boots `spec` with the console on stdin/stdout (and copied to `spec.console_log`).
    pub fn start(spec: &BootSpec) -> std::io::Result<Self> {
        let mut cmd = qemu_command(spec);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut log = match &spec.console_log {
            Some(path) => Some(std::fs::File::create(path)?),
            None => None,
        };
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Some(log) = log.as_mut() {
                    let _ = std::io::Write::write_all(log, &buf[..n]);
                }
                let text = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
                sink.lock().map(|mut s| s.push_str(&text)).ok();
            }
        });
        let errors = Arc::new(std::sync::Mutex::new(String::new()));
        let error_sink = errors.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            error_sink.lock().map(|mut s| s.push_str(&text)).ok();
        });
        Ok(Self { child, stdin, output, stderr: errors, consumed: 0 })
    }

    /// Waits until `needle` appears in output not yet consumed; consumes through it.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        self.wait_for(timeout, &format!("{needle:?}"), |unconsumed| {
            unconsumed.find(needle).map(|pos| (pos + needle.len(), String::new()))
        })
        .map(drop)
    }

    /// Waits for a whole line that starts with `prefix` in output not yet consumed; consumes
    /// through it and returns the rest of the line after the prefix.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> Result<String, String> {
        self.wait_for(timeout, &format!("a line starting {prefix:?}"), |unconsumed| {
            let mut start = 0;
            while let Some(len) = unconsumed[start..].find('\n') {
                let line = &unconsumed[start..start + len];
                start += len + 1;
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Some((start, rest.to_string()));
                }
            }
            None
        })
    }

    /// Polls the unconsumed output with `find` (which returns how much to consume and a
    /// value) until it matches, QEMU exits, or `timeout` passes.
    fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        find: impl Fn(&str) -> Option<(usize, String)>,
    ) -> Result<String, String> {
        let start = Instant::now();
        loop {
            {
                let out = self.output.lock().map_err(|_| "output lock poisoned")?;
                if let Some((used, value)) = find(&out[self.consumed..]) {
                    self.consumed += used;
                    return Ok(value);
                }
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || start.elapsed() > timeout {
                // The reader may still hold the last bytes QEMU wrote before it exited.
                std::thread::sleep(Duration::from_millis(200));
                let why = match exited {
                    Some(status) => format!("qemu exited ({status})"),
                    None => format!("no such output within {} s", timeout.as_secs()),
                };
                return Err(format!(
                    "waiting for {what}: {why}; the console ends with:\n{}",
                    self.tail(25)
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `bytes` on the console.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        use std::io::Write;
        self.stdin
            .write_all(bytes)
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("cannot type into qemu: {e}"))
    }

    /// Returns the last `lines` lines of the console, and QEMU's stderr if it wrote any.
    pub fn tail(&self, lines: usize) -> String {
        let out = self.output.lock().map(|s| s.clone()).unwrap_or_default();
        let all: Vec<&str> = out.lines().collect();
        let mut text = all[all.len().saturating_sub(lines)..].join("\n");
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        if !err.trim().is_empty() {
            text.push_str("\n[qemu stderr] ");
            text.push_str(err.trim());
        }
        text
    }

    /// Returns everything the console printed so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits for QEMU to exit; returns its status (None: killed at the time limit).
    pub fn wait(mut self, timeout: Duration) -> Option<i32> {
        self.wait_exit(timeout)
    }

    /// As [`Interactive::wait`], keeping the console readable afterwards.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads take the last bytes.
                std::thread::sleep(Duration::from_millis(200));
                return status.code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Interactive {
    /// A test that gives up early leaves no QEMU behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ktest_counts_reads_the_last_summary_line() {
        assert_eq!(
            ktest_counts("x\n3 passed, 1 failed\nmore\n28 passed, 0 failed\n"),
            Some((28, 0))
        );
        assert_eq!(ktest_counts("no summary"), None);
        assert_eq!(ktest_counts("x passed, y failed"), None);
    }

    #[test]
    fn a_kill_line_is_found_whole_at_a_line_start_across_chunks() {
        let prefix = b"FSYNCED ";
        let mut from = 0;
        let mut buf = b"boot\r\nnot FSYNCED here\r\nFSYNC".to_vec();
        assert!(!find_line_start(&buf, &mut from, prefix));
        // The first two lines are scanned once; the partial one waits for its end.
        assert_eq!(from, b"boot\r\nnot FSYNCED here\r\n".len());
        buf.extend_from_slice(b"ED abc");
        assert!(!find_line_start(&buf, &mut from, prefix), "not a whole line yet");
        buf.extend_from_slice(b"\r\nmore");
        assert!(find_line_start(&buf, &mut from, prefix));
        assert!(!find_line_start(b"FSYNCED\n", &mut 0, prefix));
    }

    #[test]
    fn a_stop_request_kills_the_child_and_says_so() {
        let start = Instant::now();
        let mut sleeper = Command::new("sleep").arg("60").spawn().expect("sleep runs");
        let waited = wait_or_kill_when(
            &mut sleeper,
            start,
            Duration::from_secs(60),
            Duration::from_millis(1),
            || true,
        )
        .expect("wait");
        assert_eq!(waited, Waited::Stopped);
        assert!(sleeper.try_wait().expect("reaped").is_some(), "the child is gone");
        let mut quick = Command::new("sh").args(["-c", "exit 3"]).spawn().expect("sh runs");
        let waited = wait_or_kill_when(
            &mut quick,
            start,
            Duration::from_secs(60),
            Duration::from_millis(1),
            || false,
        );
        assert_eq!(waited.expect("wait"), Waited::Exited(Some(3)));
    }

    #[test]
    fn host_forwards_become_hostfwd_rules_on_the_host_loopback() {
        let forwards =
            [HostForward { host: 40001, guest: 80 }, HostForward { host: 40002, guest: 6379 }];
        let args: Vec<String> =
            nic_args(false, &forwards).iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "-netdev",
                "user,id=n0,hostfwd=tcp:127.0.0.1:40001-:80,hostfwd=tcp:127.0.0.1:40002-:6379",
                "-device",
                "virtio-net-pci,netdev=n0,disable-legacy=on",
            ]
        );
        let free = HostForward::to_guest_port(8080).expect("a free port");
        assert_eq!(free.guest, 8080);
        assert_ne!(free.host, 0, "a port the host's kernel picked");
    }

    #[test]
    fn disks_become_modern_virtio_blk_devices_in_order() {
        let disks = [Disk::writable("/tmp/a.img"), Disk::readonly("/tmp/odd,name.img")];
        let args: Vec<String> =
            disk_args(&disks, false).iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "-drive",
                "file=/tmp/a.img,if=none,id=disk0,format=raw",
                "-device",
                "virtio-blk-pci,drive=disk0,disable-legacy=on",
                "-drive",
                "file=/tmp/odd,,name.img,if=none,id=disk1,format=raw,readonly=on",
                "-device",
                "virtio-blk-pci,drive=disk1,disable-legacy=on",
            ]
        );
        let with_iommu = disk_args(&disks[..1], true);
        assert_eq!(
            with_iommu[3].to_string_lossy(),
            "virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=on"
        );
    }
}
