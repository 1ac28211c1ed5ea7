//! Judging one boot from its timestamped lines: the boot marker, the samples, problems, the
//! clock check, and whether a minimum-memory probe ran the script. Pure, tested on canned output.

use std::time::Duration;

use super::parse::{self, Sample};
use super::run::{Kernel, TimedBoot};
use crate::qemu::EXIT_SUCCESS;

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
    let banner_at = if kernel.ours { boot.first_line_at(parse::is_banner) } else { None };
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
        problems.push(format!("exit status {:?}, expected {EXIT_SUCCESS}", boot.status));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn kernel(ours: bool) -> Kernel {
        Kernel { label: "k", image: PathBuf::new(), ours, timeout: Duration::from_secs(1) }
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
        assert_eq!(clock_check(&boot(0, &[(1, "BENCH-CLOCK mono_ns=5")])).0, None);
    }

    #[test]
    fn ours_falls_back_to_the_banner_until_init_runs() {
        let b = boot(
            33,
            &[(120, "cocoon 0.1.0: booted via PVH in 45 ms"), (130, "  TEE platform: none")],
        );
        let r = judge_run(&kernel(true), &b);
        assert_eq!(r.boot, Some((Duration::from_millis(120), "banner")));
        assert!(!r.init_ran);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let bad =
            judge_run(&kernel(true), &boot(35, &[(120, "cocoon 0.1.0: booted via PVH in 45 ms")]));
        assert_eq!(bad.problems.len(), 1);
    }

    #[test]
    fn an_unfinished_script_is_a_problem() {
        let b = boot(
            0,
            &[(1500, "BENCH-INIT-REACHED"), (1600, "BENCH-FAIL name=x what=run errno=ENOSYS")],
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
        let init_only =
            boot(33, &[(1, "cocoon 0.1.0: booted via PVH in 45 ms"), (2, "BENCH-INIT-REACHED")]);
        assert!(!memory_probe_ok(&kernel(true), &init_only));
    }
}
