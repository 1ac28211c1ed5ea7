//! Debian's stress-ng under Linux 6.1 and under ours: the stressors of tests/stress/stressors,
//! one worker each, for tests/stress/seconds each. The bar: both kernels finish every
//! stressor (no panic, no hang), and every stressor that ends with status 0 under Linux ends
//! with 0 here (not a stress-ng failure, not a signal death), unless
//! tests/stress/known-differences lists it with its reason. Bogo-ops are reported next to
//! Linux's, never judged.

use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image, tail};

/// One stressor's result.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StressorRun {
    /// stress-ng's exit status (0 passed, 2 a stressor failed, 3 not run, ...), if it ended.
    pub status: Option<i32>,
    /// Bogo operations completed.
    pub bogo_ops: Option<u64>,
    /// `stress-ng: fail:` lines: what stress-ng itself judged wrong.
    pub failures: Vec<String>,
}

/// Parses the console output into one result per stressor, in order.
pub fn parse(text: &str) -> Vec<(String, StressorRun)> {
    let mut runs: Vec<(String, StressorRun)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("==== STRESSOR END ") {
            let status = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("status="))
                .and_then(|s| s.parse().ok());
            if let Some((_, run)) = runs.last_mut() {
                run.status = status;
            }
        } else if let Some(rest) = line.strip_prefix("==== STRESSOR ") {
            runs.push((rest.trim_end_matches(" ====").to_string(), StressorRun::default()));
        } else if let Some((name, run)) = runs.last_mut() {
            if line.contains("stress-ng: fail:") {
                run.failures.push(line.trim().to_string());
            } else if let Some(metrics) = line.split_once("stress-ng: metrc:").map(|(_, m)| m) {
                // "[pid] NAME  BOGO_OPS  REAL ..." for this stressor's row.
                // Later "miscellaneous metrics" rows also start with the name; the first
                // numeric row is the bogo-ops one.
                let words: Vec<&str> = metrics.split_whitespace().collect();
                if words.get(1) == Some(&name.as_str()) && run.bogo_ops.is_none() {
                    run.bogo_ops = words.get(2).and_then(|w| w.parse().ok());
                }
            }
        }
    }
    runs
}

fn find<'a>(runs: &'a [(String, StressorRun)], name: &str) -> Option<&'a StressorRun> {
    runs.iter().find(|(n, _)| n == name).map(|(_, r)| r)
}

/// Parses tests/stress/known-differences: `STRESSOR  REASON` per line, `#` comments and blank
/// lines ignored. Each entry excuses that stressor ending non-zero here while it ends with 0
/// under Linux; the reason is required.
pub fn parse_known_differences(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut known: Vec<(String, String)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) =
            line.split_once(char::is_whitespace).map_or((line, ""), |(n, r)| (n, r.trim()));
        if reason.is_empty() {
            return Err(format!("known-differences line {}: `{name}` gives no reason", number + 1));
        }
        if known.iter().any(|(n, _)| n == name) {
            return Err(format!("known-differences line {}: `{name}` is listed twice", number + 1));
        }
        known.push((name.to_string(), reason.to_string()));
    }
    Ok(known)
}

/// What a status means, for messages: `ended with status 2`, or `was killed by signal 9`
/// for a shell status of 128 + N.
fn describe_status(status: i32) -> String {
    if status > 128 {
        format!("was killed by signal {}", status - 128)
    } else {
        format!("ended with status {status}")
    }
}

/// Compares each stressor's ending under both kernels against the known differences; returns
/// the problems (empty: the bar holds). Linux must finish every stressor (it is the
/// reference); ours must finish every stressor too, and wherever Linux ends with status 0 so
/// must ours, unless the stressor is listed. A listed stressor that ends with 0 here, or not
/// with 0 under Linux, is a stale entry.
pub fn compare(
    stressors: &[String],
    linux: &[(String, StressorRun)],
    ours: &[(String, StressorRun)],
    known: &[(String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, _) in known.iter().filter(|(n, _)| !stressors.contains(n)) {
        problems.push(format!(
            "tests/stress/known-differences lists {name}, which is not in tests/stress/stressors: \
             remove its line"
        ));
    }
    for name in stressors {
        let listed = known.iter().any(|(n, _)| n == name);
        let (l, o) =
            (find(linux, name).and_then(|r| r.status), find(ours, name).and_then(|r| r.status));
        let Some(l) = l else {
            problems.push(format!(
                "{name} did not finish under Linux, so it cannot be compared (see \
                 target/stress/linux.out)"
            ));
            continue;
        };
        let Some(o) = o else {
            problems
                .push(format!("{name} did not finish on our kernel (see target/stress/ours.out)"));
            continue;
        };
        match (l == 0, o == 0, listed) {
            (true, false, false) => problems.push(format!(
                "{name} {} here and ended with status 0 under Linux, and \
                 tests/stress/known-differences does not list it",
                describe_status(o)
            )),
            (_, true, true) => problems.push(format!(
                "tests/stress/known-differences lists {name}, which ended with status 0 here this \
                 time: remove its line"
            )),
            (false, _, true) => problems.push(format!(
                "tests/stress/known-differences lists {name}, which {} under Linux too: remove its \
                 line",
                describe_status(l)
            )),
            _ => {}
        }
    }
    problems
}

/// Runs the stressors under both kernels, saves the consoles to target/stress/{linux,ours}.out
/// and judges them ([`judge`]).
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let stressors: Vec<String> =
        read("tests/stress/stressors")?.split_whitespace().map(String::from).collect();
    let seconds: u64 = read("tests/stress/seconds")?
        .trim()
        .parse()
        .map_err(|e| format!("tests/stress/seconds: {e}"))?;
    let work = root.join("target/stress");
    let image = debian_image(
        root,
        &work,
        &[
            ("tests/stress/rdinit", "stress-init"),
            ("tests/stress/stressors", "stress/stressors"),
            ("tests/stress/seconds", "stress/seconds"),
        ],
    )?;
    // Each stressor runs `seconds`, plus start-up; a kernel that hangs is cut off at twice that.
    let limit = Duration::from_secs(120 + 2 * seconds * stressors.len() as u64);
    let (theirs, ours) = boot_both(root, elf, &image, "/stress-init", limit)?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;
    let timing = format!(
        "Linux {:.0} s, ours {:.0} s",
        theirs.elapsed.as_secs_f64(),
        ours.elapsed.as_secs_f64()
    );
    judge(root, &theirs.output, &ours.output)
        .map(|s| format!("{s} ({timing})"))
        .map_err(|e| format!("{e} ({timing})"))
}

/// Judges two runs' console text: prints the table, then checks every stressor's ending
/// against Linux's and tests/stress/known-differences ([`compare`]).
pub fn judge(root: &Path, linux_text: &str, ours_text: &str) -> Result<String, String> {
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let stressors: Vec<String> =
        read("tests/stress/stressors")?.split_whitespace().map(String::from).collect();
    let known = parse_known_differences(&read("tests/stress/known-differences")?)?;
    let (linux_runs, our_runs) = (parse(linux_text), parse(ours_text));
    println!(
        "{:<12} {:>22}   {:>22}   ours/Linux ops",
        "stressor", "Linux status/fails/ops", "ours status/fails/ops"
    );
    let cell = |r: Option<&StressorRun>| match r {
        Some(r) => format!(
            "{}/{}/{}",
            r.status.map_or("-".into(), |s| s.to_string()),
            r.failures.len(),
            r.bogo_ops.map_or("-".into(), |o| o.to_string())
        ),
        None => "not reached".into(),
    };
    for name in &stressors {
        let (l, o) = (find(&linux_runs, name), find(&our_runs, name));
        let ratio = match (l.and_then(|r| r.bogo_ops), o.and_then(|r| r.bogo_ops)) {
            (Some(l), Some(o)) if l > 0 => format!("{:.2}", o as f64 / l as f64),
            _ => "-".into(),
        };
        let listed = known
            .iter()
            .find(|(n, _)| n == name)
            .map_or(String::new(), |(_, why)| format!("   (known difference: {why})"));
        println!("{name:<12} {:>22}   {:>22}   {ratio}{listed}", cell(l), cell(o));
        for f in o.map(|r| r.failures.as_slice()).unwrap_or_default() {
            println!("    ours: {f}");
        }
    }
    if ours_text.contains("panicked at") {
        return Err(format!("our kernel panicked:\n{}", tail(ours_text, 30)));
    }
    let problems = compare(&stressors, &linux_runs, &our_runs, &known);
    if !problems.is_empty() {
        for p in &problems {
            println!("  {p}");
        }
        return Err(format!("{} problems: {}", problems.len(), problems.join("; ")));
    }
    let failed =
        |runs: &[(String, StressorRun)]| runs.iter().filter(|(_, r)| r.status != Some(0)).count();
    Ok(format!(
        "{} stressors finished under both kernels; every one that passes under Linux passes here, \
         but for {} known differences ({} non-zero here, {} under Linux)",
        stressors.len(),
        known.len(),
        failed(&our_runs),
        failed(&linux_runs),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_failures_and_bogo_ops_per_stressor() {
        let text = "\
==== STRESSOR fork ====
stress-ng: fail:  [563] fork: capget on pid 563 failed: errno=38 (Function not implemented)
stress-ng: metrc: [562] stressor       bogo ops real time  usr time
stress-ng: metrc: [562] fork                508      3.00      0.00
stress-ng: metrc: [562] fork                  20.94 MB per sec of something
==== STRESSOR END fork status=2 ====
==== STRESSOR vm ====
stress-ng: metrc: [9] vm                 1024      3.16
";
        let runs = parse(text);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].0, "fork");
        assert_eq!(runs[0].1.status, Some(2));
        assert_eq!(runs[0].1.bogo_ops, Some(508));
        assert_eq!(runs[0].1.failures.len(), 1);
        assert_eq!(
            runs[1].1,
            StressorRun { status: None, bogo_ops: Some(1024), failures: vec![] },
            "no END line: cut short"
        );
    }

    fn ended(statuses: &[(&str, Option<i32>)]) -> Vec<(String, StressorRun)> {
        statuses
            .iter()
            .map(|(n, s)| (n.to_string(), StressorRun { status: *s, ..Default::default() }))
            .collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_stressor_that_passes_under_linux_must_pass_here() {
        let stressors = names(&["fork", "vm", "pipe"]);
        let linux = ended(&[("fork", Some(0)), ("vm", Some(0)), ("pipe", Some(2))]);
        assert!(compare(&stressors, &linux, &linux, &[]).is_empty());
        let ours = ended(&[("fork", Some(2)), ("vm", Some(137)), ("pipe", Some(2))]);
        let problems = compare(&stressors, &linux, &ours, &[]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("fork ended with status 2"));
        assert!(problems[1].contains("vm was killed by signal 9 here"));
        // pipe fails under Linux too: no obligation.
        let ours = ended(&[("fork", Some(0)), ("vm", Some(0)), ("pipe", Some(3))]);
        assert!(compare(&stressors, &linux, &ours, &[]).is_empty());
    }

    #[test]
    fn listed_differences_excuse_only_a_real_difference() {
        let stressors = names(&["fork", "pipe"]);
        let linux = ended(&[("fork", Some(0)), ("pipe", Some(2))]);
        let known = parse_known_differences("# why\nfork  capget is not implemented\n").unwrap();
        assert!(
            compare(&stressors, &linux, &ended(&[("fork", Some(2)), ("pipe", Some(2))]), &known)
                .is_empty()
        );
        let fixed =
            compare(&stressors, &linux, &ended(&[("fork", Some(0)), ("pipe", Some(2))]), &known);
        assert!(
            fixed.len() == 1
                && fixed[0].contains("lists fork, which ended with status 0 here this time"),
            "{fixed:?}"
        );
        let known = parse_known_differences("pipe  x\nsock  y\n").unwrap();
        let stale = compare(&stressors, &linux, &linux, &known);
        assert!(
            stale
                .iter()
                .any(|p| p.contains("lists pipe, which ended with status 2 under Linux too")),
            "{stale:?}"
        );
        assert!(
            stale.iter().any(|p| p.contains("lists sock, which is not in tests/stress/stressors")),
            "{stale:?}"
        );
    }

    #[test]
    fn both_kernels_must_finish_every_stressor() {
        let stressors = names(&["fork", "vm"]);
        let done = ended(&[("fork", Some(0)), ("vm", Some(0))]);
        let cut = ended(&[("fork", Some(0)), ("vm", None)]);
        assert!(compare(&stressors, &cut, &done, &[])[0].contains("vm did not finish under Linux"));
        assert!(
            compare(&stressors, &done, &cut, &[])[0].contains("vm did not finish on our kernel")
        );
        assert!(
            compare(&stressors, &done, &ended(&[("fork", Some(0))]), &[])[0]
                .contains("vm did not finish on our kernel"),
            "never reached"
        );
    }

    #[test]
    fn known_differences_need_a_reason_and_the_tracked_file_is_valid() {
        assert!(parse_known_differences("fork\n").unwrap_err().contains("no reason"));
        assert!(parse_known_differences("fork x\nfork y\n").unwrap_err().contains("twice"));
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/stress/known-differences"
        ))
        .unwrap();
        let stressors =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stress/stressors"))
                .unwrap();
        for (name, _) in parse_known_differences(&text).unwrap() {
            assert!(
                stressors.split_whitespace().any(|s| s == name),
                "{name} is not a tracked stressor"
            );
        }
    }
}
