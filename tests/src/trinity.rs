//! Debian's trinity (a Linux syscall fuzzer) as an unprivileged user, under Linux 6.1 and
//! under ours, until it has made tests/trinity/syscalls calls (tests/trinity/seconds at most).
//! The bar: on our kernel the fuzzer gets into its fuzzing loop and reports the calls it
//! made, the kernel neither panics nor hangs, and it still runs programs afterwards.
//! Trinity's own counts are reported next to Linux's (Linux 6.1's trinity usually stops
//! early, when it sees the kernel taint itself).

use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image, tail};

/// What one trinity run showed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TrinityRun {
    /// The exit status of the fuzzer's pipeline (124: stopped by `timeout`, as intended).
    pub status: Option<i32>,
    /// The most syscalls trinity reported as done.
    pub syscalls: Option<u64>,
    /// The sign-of-life line after the fuzzer ended.
    pub alive_after: bool,
}

/// Parses the console output between the markers of tests/trinity/rdinit.
pub fn parse(text: &str) -> TrinityRun {
    let mut run = TrinityRun::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("==== TRINITY END ") {
            run.status = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("status="))
                .and_then(|s| s.parse().ok());
        } else if line.starts_with("after trinity: ALIVE ") {
            run.alive_after = true;
        } else if let Some(n) = syscall_count(line) {
            run.syscalls = Some(run.syscalls.map_or(n, |m| m.max(n)));
        }
    }
    run
}

/// Reads trinity's progress lines: "[main] 10019 iterations. [F:7713 S:2262 HI:1784]" and
/// its summary "Ran 12345 syscalls. Successes: ... Failures: ...".
fn syscall_count(line: &str) -> Option<u64> {
    if let Some((before, _)) = line.split_once(" iterations.") {
        return before.rsplit(' ').next()?.parse().ok();
    }
    let (_, after) = line.split_once("Ran ")?;
    after.split_once(" syscalls")?.0.trim().parse().ok()
}

/// Runs trinity under both kernels; returns a summary, or what went wrong on ours.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let seconds: u64 = std::fs::read_to_string(root.join("tests/trinity/seconds"))
        .map_err(|e| format!("read tests/trinity/seconds: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("tests/trinity/seconds: {e}"))?;
    let work = root.join("target/trinity");
    let image = debian_image(
        root,
        &work,
        &[
            ("tests/trinity/rdinit", "trinity-init"),
            ("tests/trinity/seconds", "trinity/seconds"),
            ("tests/trinity/syscalls", "trinity/syscalls"),
        ],
    )?;
    let limit = Duration::from_secs(240 + 2 * seconds);
    let (theirs, ours) = boot_both(root, elf, &image, "/trinity-init", limit)?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;
    let (linux, mine) = (parse(&theirs.output), parse(&ours.output));
    let figures = format!(
        "{seconds} s as uid 65534: Linux ran {} syscalls (status {}), ours {} (status {})",
        linux.syscalls.map_or("?".into(), |n| n.to_string()),
        linux.status.map_or("-".into(), |s| s.to_string()),
        mine.syscalls.map_or("?".into(), |n| n.to_string()),
        mine.status.map_or("-".into(), |s| s.to_string()),
    );
    if ours.output.contains("panicked at") {
        return Err(format!("our kernel panicked ({figures}):\n{}", tail(&ours.output, 30)));
    }
    if mine.status.is_none() || !mine.alive_after {
        return Err(format!(
            "trinity did not end, or the kernel was dead after it ({figures}; see \
             target/trinity/ours.out):\n{}",
            tail(&ours.output, 20)
        ));
    }
    if mine.syscalls.is_none_or(|n| n == 0) {
        return Err(format!(
            "trinity reported no syscalls on our kernel: it never reached its fuzzing loop or \
             never finished it ({figures}; see target/trinity/ours.out):\n{}",
            tail(&ours.output, 20)
        ));
    }
    Ok(format!(
        "{figures}; no panic, no hang, programs run afterwards (Linux {:.0} s, ours {:.0} s)",
        theirs.elapsed.as_secs_f64(),
        ours.elapsed.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_progress_lines_summary_status_and_sign_of_life() {
        let text = "\
==== TRINITY ====
[main] 10019 iterations. [F:7713 S:2262 HI:1784]
[main] 20400 iterations. [F:15000 S:5000 HI:1784]
Ran 20871 syscalls. Successes: 5120  Failures: 15751
==== TRINITY END status=124 ====
after trinity: ALIVE 19 entries in /
";
        assert_eq!(
            parse(text),
            TrinityRun { status: Some(124), syscalls: Some(20871), alive_after: true }
        );
    }

    #[test]
    fn a_run_cut_short_has_no_status_and_no_sign_of_life() {
        let text = "==== TRINITY ====\n[main] 12 iterations. [F:7 S:5 HI:1]\n";
        assert_eq!(
            parse(text),
            TrinityRun { status: None, syscalls: Some(12), alive_after: false }
        );
    }

    #[test]
    fn a_fuzzer_that_never_started_counts_no_syscalls() {
        let text = "==== TRINITY ====\n*** glibc detected *** malloc(): corrupted\n==== TRINITY \
            END status=134 ====\nafter trinity: ALIVE 19 entries in /\n";
        assert_eq!(parse(text).syscalls, None);
    }
}
