//! Booting the benchmark image under both kernels: QEMU with timestamped serial lines, the
//! interleaved A/B runs, and the minimum-memory bisection.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::parse::{self, Sample};
use super::stats::bisect_min;
use crate::qemu::{BootSpec, EXIT_SUCCESS};

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
        self.lines[start..]
            .iter()
            .map(|(_, l)| format!("    | {l}\n"))
            .collect()
    }
}

/// The QEMU command for `spec`: the same flags as `qemu::boot` (TCG, `-cpu max`, isa-debug-exit),
/// built in one place so that both kernels get identical flags.
pub fn qemu_command(spec: &BootSpec) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-machine",
        &spec.machine,
        "-cpu",
        "max",
        "-m",
        &spec.memory,
        "-accel",
        "tcg",
    ]);
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
    if spec.ovmf {
        cmd.args(["-bios", "/usr/share/ovmf/OVMF.fd"]);
    }
    cmd.arg("-kernel")
        .arg(&spec.kernel)
        .arg("-append")
        .arg(&spec.cmdline);
    if let Some(initrd) = &spec.initrd {
        cmd.arg("-initrd").arg(initrd);
    }
    cmd
}

/// Boots `spec`, timestamping each serial line as it streams in, until QEMU exits or the limit.
pub fn boot_timed(spec: &BootSpec) -> std::io::Result<TimedBoot> {
    let mut cmd = qemu_command(spec);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if start.elapsed() > spec.timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let lines = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(TimedBoot {
        status,
        lines,
        stderr,
        timed_out,
        elapsed,
    })
}

/// The boot of the benchmark image under `kernel` with `memory_mib` and extra command-line words.
pub fn spec_for(
    kernel: &Kernel,
    initrd: &PathBuf,
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
        initrd: Some(initrd.clone().into()),
        memory: format!("{memory_mib}M"),
        machine: "q35".into(),
        timeout,
    }
}

/// What one benchmark boot yielded.
#[derive(Debug)]
pub struct RunResult {
    /// Time from QEMU's start to the boot marker, and which marker it was.
    pub boot: Option<(Duration, &'static str)>,
    /// Whether /init ran (its marker was seen).
    pub init_ran: bool,
    /// The microbenchmark samples.
    pub samples: Vec<Sample>,
    /// Problems worth reporting (failed benchmarks, an unfinished script, a bad exit).
    pub problems: Vec<String>,
    /// The clock check: guest monotonic time elapsed ÷ host time elapsed between the first and
    /// last `BENCH-CLOCK` lines (about 1 when the guest's clock is right).
    pub clock_ratio: Option<f64>,
    /// The smallest step of the guest's monotonic clock, in ns, if reported.
    pub clock_step_ns: Option<u64>,
}

/// The clock check of one boot: (guest elapsed ÷ host elapsed, guest clock step).
pub fn clock_check(boot: &TimedBoot) -> (Option<f64>, Option<u64>) {
    let clocks: Vec<(Duration, u64, Option<u64>)> = boot
        .lines
        .iter()
        .filter_map(|(t, l)| parse::parse_clock_line(l).map(|(mono, step)| (*t, mono, step)))
        .collect();
    let step = clocks.first().and_then(|c| c.2);
    let ratio = match (clocks.first(), clocks.last()) {
        (Some(a), Some(b)) if b.0 > a.0 && b.1 >= a.1 => {
            Some((b.1 - a.1) as f64 / 1e9 / (b.0 - a.0).as_secs_f64())
        }
        _ => None,
    };
    (ratio, step)
}

/// Judges one benchmark boot: the boot marker (/init's, or our banner until we run /init), the
/// samples, and what went wrong. Pure, so that it can be tested on canned output.
pub fn judge_run(kernel: &Kernel, boot: &TimedBoot) -> RunResult {
    let init_at = boot.first_line_at(|l| l.trim() == parse::INIT_MARKER);
    let banner_at = if kernel.ours {
        boot.first_line_at(parse::is_banner)
    } else {
        None
    };
    let marker = match (init_at, banner_at) {
        (Some(t), _) => Some((t, "init")),
        (None, Some(t)) => Some((t, "banner")),
        _ => None,
    };
    let output = boot.output();
    let samples = parse::parse_samples(&output);
    let mut problems: Vec<String> = parse::parse_failures(&output)
        .into_iter()
        .map(|(_, rest)| format!("BENCH-FAIL {rest}"))
        .collect();
    let finished = parse::has_line(&output, parse::DONE_MARKER);
    if init_at.is_some() && !finished {
        problems.push(format!(
            "script did not finish (status {:?}, timed out: {})",
            boot.status, boot.timed_out
        ));
    }
    if marker.is_none() {
        problems.push(format!(
            "no boot marker (status {:?}, timed out: {})",
            boot.status, boot.timed_out
        ));
    }
    if kernel.ours && init_at.is_none() && boot.status != Some(EXIT_SUCCESS) {
        problems.push(format!(
            "exit status {:?}, expected {EXIT_SUCCESS}",
            boot.status
        ));
    }
    let (clock_ratio, clock_step_ns) = clock_check(boot);
    RunResult {
        boot: marker,
        init_ran: init_at.is_some(),
        samples,
        problems,
        clock_ratio,
        clock_step_ns,
    }
}

/// Whether a minimum-memory probe succeeded: the busybox script ran; or, for our kernel before it
/// runs /init at all, the banner was printed and QEMU exited with 33.
pub fn memory_probe_ok(kernel: &Kernel, boot: &TimedBoot) -> bool {
    let output = boot.output();
    if parse::has_line(&output, parse::SCRIPT_OK_MARKER) {
        return true;
    }
    kernel.ours
        && !parse::has_line(&output, parse::INIT_MARKER)
        && boot.first_line_at(parse::is_banner).is_some()
        && boot.status == Some(EXIT_SUCCESS)
}

/// Finds the smallest `-m` (MiB, in `1..=max_mib`) at which `kernel` still runs the script.
pub fn min_memory(
    kernel: &Kernel,
    initrd: &PathBuf,
    max_mib: u32,
    timeout: Duration,
) -> Option<u32> {
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
        Kernel {
            label: "k",
            image: PathBuf::new(),
            ours,
            timeout: Duration::from_secs(1),
        }
    }

    fn boot(status: i32, lines: &[(u64, &str)]) -> TimedBoot {
        TimedBoot {
            status: Some(status),
            lines: lines
                .iter()
                .map(|(ms, l)| (Duration::from_millis(*ms), l.to_string()))
                .collect(),
            stderr: String::new(),
            timed_out: false,
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn linux_is_timed_to_init_and_its_samples_kept() {
        let b = boot(
            0,
            &[
                (900, "[1.7] Run /init"),
                (1500, "BENCH-INIT-REACHED"),
                (1600, "BENCH name=a unit=us value=2"),
                (1700, "BENCH-DONE"),
            ],
        );
        let r = judge_run(&kernel(false), &b);
        assert_eq!(r.boot, Some((Duration::from_millis(1500), "init")));
        assert_eq!(r.samples.len(), 1);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn clock_check_compares_guest_and_host_time() {
        let b = boot(
            0,
            &[
                (1000, "BENCH-CLOCK mono_ns=5000000000 step_ns=100"),
                (3000, "BENCH-CLOCK mono_ns=6000000000"),
            ],
        );
        let (ratio, step) = clock_check(&b);
        assert!((ratio.unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(step, Some(100));
        assert_eq!(
            clock_check(&boot(0, &[(1, "BENCH-CLOCK mono_ns=5")])).0,
            None
        );
    }

    #[test]
    fn ours_falls_back_to_the_banner_until_init_runs() {
        let b = boot(
            33,
            &[
                (120, "cocoon 0.1.0: booted via PVH in 45 ms"),
                (130, "  TEE platform: none"),
            ],
        );
        let r = judge_run(&kernel(true), &b);
        assert_eq!(r.boot, Some((Duration::from_millis(120), "banner")));
        assert!(!r.init_ran);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let bad = judge_run(
            &kernel(true),
            &boot(35, &[(120, "cocoon 0.1.0: booted via PVH in 45 ms")]),
        );
        assert_eq!(bad.problems.len(), 1);
    }

    #[test]
    fn an_unfinished_script_is_a_problem() {
        let b = boot(
            0,
            &[
                (1500, "BENCH-INIT-REACHED"),
                (1600, "BENCH-FAIL name=x what=run errno=ENOSYS"),
            ],
        );
        let r = judge_run(&kernel(true), &b);
        assert_eq!(r.boot.map(|b| b.1), Some("init"));
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    }

    #[test]
    fn memory_probe_needs_the_script_or_our_banner_and_33() {
        let script = boot(0, &[(1, "BENCH-INIT-REACHED"), (2, "BENCH-SCRIPT-OK")]);
        assert!(memory_probe_ok(&kernel(false), &script));
        assert!(memory_probe_ok(&kernel(true), &script));
        let banner = boot(33, &[(1, "cocoon 0.1.0: booted via PVH in 45 ms")]);
        assert!(memory_probe_ok(&kernel(true), &banner));
        assert!(!memory_probe_ok(&kernel(false), &banner));
        let panicked = boot(35, &[(1, "cocoon 0.1.0: booted via PVH in 45 ms")]);
        assert!(!memory_probe_ok(&kernel(true), &panicked));
        // Once our /init runs, the script must finish too.
        let init_only = boot(
            33,
            &[
                (1, "cocoon 0.1.0: booted via PVH in 45 ms"),
                (2, "BENCH-INIT-REACHED"),
            ],
        );
        assert!(!memory_probe_ok(&kernel(true), &init_only));
    }

    #[test]
    fn both_kernels_get_identical_qemu_flags() {
        let initrd = PathBuf::from("img");
        let args = |k: &Kernel| -> Vec<String> {
            let spec = spec_for(k, &initrd, 256, "", Duration::from_secs(1));
            qemu_command(&spec)
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
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
