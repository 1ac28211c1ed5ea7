//! Booting the benchmark image under both kernels: QEMU with timestamped serial lines, the
//! interleaved A/B runs, and the minimum-memory bisection.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::judge::memory_probe_ok;
use super::parse;
use super::stats::bisect_min;
use crate::qemu::{BootSpec, qemu_command, wait_or_kill};

/// The kernel command line of every boot, under both kernels.
pub const CMDLINE: &str = "console=ttyS0 quiet panic=-1 rdinit=/init";

/// One of the two kernels being compared.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// `Linux` or `ours`.
    pub label: &'static str,
    /// The `-kernel` image: Linux's vmlinuz, or our PVH ELF.
    pub image: PathBuf,
    /// Whether this is our kernel (whose boot may end at the banner).
    pub ours: bool,
    /// Wall-clock limit of one benchmark boot.
    pub timeout: Duration,
}

/// What one timed boot printed, each line with the time since QEMU was started.
#[derive(Debug)]
pub struct TimedBoot {
    /// QEMU's exit status (`None` if it was killed).
    pub status: Option<i32>,
    /// Serial lines, console noise removed, each with its arrival time.
    pub lines: Vec<(Duration, String)>,
    /// QEMU's stderr.
    pub stderr: String,
    /// Whether the time limit was hit.
    pub timed_out: bool,
    /// Wall-clock time until QEMU exited.
    pub elapsed: Duration,
}

impl TimedBoot {
    /// All serial output as one string.
    pub fn output(&self) -> String {
        self.lines.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// The arrival time of the first line for which `pred` holds.
    pub fn first_line_at(&self, pred: impl Fn(&str) -> bool) -> Option<Duration> {
        self.lines.iter().find(|(_, l)| pred(l)).map(|(t, _)| *t)
    }

    /// The last `n` lines, for error reports.
    pub fn tail(&self, n: usize) -> String {
        let start = self.lines.len().saturating_sub(n);
        self.lines[start..].iter().map(|(_, l)| format!("    | {l}\n")).collect()
    }
}

/// Boots `spec`, timestamping each serial line as it streams in, until QEMU exits or the limit.
pub fn boot_timed(spec: &BootSpec) -> std::io::Result<TimedBoot> {
    let mut cmd = qemu_command(spec);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut stdout = BufReader::new(stdout);
        let mut buf = Vec::new();
        while matches!(stdout.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let at = start.elapsed();
            let text = parse::strip_console_noise(&String::from_utf8_lossy(&buf));
            lines.push((at, text.trim_end_matches('\n').to_string()));
            buf.clear();
        }
        lines
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (status, timed_out) =
        wait_or_kill(&mut child, start, spec.timeout, Duration::from_millis(5))?;
    let elapsed = start.elapsed();
    let lines = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(TimedBoot { status, lines, stderr, timed_out, elapsed })
}

/// The boot of the benchmark image under `kernel` with `memory_mib` and extra command-line words.
pub fn spec_for(
    kernel: &Kernel,
    initrd: &Path,
    memory_mib: u32,
    extra: &str,
    timeout: Duration,
) -> BootSpec {
    let mut cmdline = OsString::from(CMDLINE);
    if !extra.is_empty() {
        cmdline.push(" ");
        cmdline.push(extra);
    }
    BootSpec {
        kernel: kernel.image.clone().into(),
        ovmf: false,
        cmdline,
        initrd: Some(initrd.to_path_buf().into()),
        memory: format!("{memory_mib}M"),
        machine: "q35".into(),
        timeout,
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

/// Finds the smallest `-m` (MiB, in `1..=max_mib`) at which `kernel` still runs the script.
pub fn min_memory(kernel: &Kernel, initrd: &Path, max_mib: u32, timeout: Duration) -> Option<u32> {
    bisect_min(1, max_mib, |mib| {
        let spec = spec_for(kernel, initrd, mib, "benchmode=mem", timeout);
        let (ok, secs) = match boot_timed(&spec) {
            Ok(b) => (memory_probe_ok(kernel, &b), b.elapsed.as_secs_f64()),
            Err(_) => (false, 0.0),
        };
        eprintln!(
            "bench:   {} -m {mib}M: {} ({secs:.1} s)",
            kernel.label,
            if ok { "runs" } else { "fails" }
        );
        ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(ours: bool) -> Kernel {
        Kernel { label: "k", image: PathBuf::new(), ours, timeout: Duration::from_secs(1) }
    }

    #[test]
    fn both_kernels_get_identical_qemu_flags() {
        let initrd = PathBuf::from("img");
        let args = |k: &Kernel| -> Vec<String> {
            let spec = spec_for(k, &initrd, 256, "", Duration::from_secs(1));
            qemu_command(&spec).get_args().map(|a| a.to_string_lossy().into_owned()).collect()
        };
        let (mut a, mut b) = (kernel(false), kernel(true));
        a.image = "vmlinuz".into();
        b.image = "elf".into();
        let (la, lb) = (args(&a), args(&b));
        let differ: Vec<_> = la.iter().zip(&lb).filter(|(x, y)| x != y).collect();
        assert_eq!(la.len(), lb.len());
        assert_eq!(differ, [(&"vmlinuz".to_string(), &"elf".to_string())]);
        assert!(la.windows(2).any(|w| w == ["-m", "256M"]));
        assert!(la.windows(2).any(|w| w == ["-accel", "tcg"]));
    }
}
