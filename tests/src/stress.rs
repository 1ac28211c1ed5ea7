//! Debian's stress-ng under Linux 6.1 and under ours: the stressors of tests/stress/stressors,
//! one worker each, for tests/stress/seconds each. The bar is that our kernel finishes every
//! stressor (no panic, no hang); stress-ng's own verdict and throughput are reported next to
//! Linux's.

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
            let status = rest.split_whitespace().find_map(|w| w.strip_prefix("status=")).and_then(|s| s.parse().ok());
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

/// Runs the stressors under both kernels; returns the table's summary, or what went wrong.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let stressors: Vec<String> = read("tests/stress/stressors")?.split_whitespace().map(String::from).collect();
    let seconds: u64 = read("tests/stress/seconds")?.trim().parse().map_err(|e| format!("tests/stress/seconds: {e}"))?;
    let work = root.join("target/stress");
    let image = debian_image(root, &work, &[("tests/stress/rdinit", "stress-init"), ("tests/stress/stressors", "stress/stressors"), ("tests/stress/seconds", "stress/seconds")])?;
    // Each stressor runs `seconds`, plus start-up; a kernel that hangs is cut off at twice that.
    let limit = Duration::from_secs(120 + 2 * seconds * stressors.len() as u64);
    let (theirs, ours) = boot_both(root, elf, &image, "/stress-init", limit)?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;
    let (linux_runs, our_runs) = (parse(&theirs.output), parse(&ours.output));
    println!("{:<12} {:>22}   {:>22}   {}", "stressor", "Linux status/fails/ops", "ours status/fails/ops", "ours/Linux ops");
    let cell = |r: Option<&StressorRun>| match r {
        Some(r) => format!("{}/{}/{}", r.status.map_or("-".into(), |s| s.to_string()), r.failures.len(), r.bogo_ops.map_or("-".into(), |o| o.to_string())),
        None => "not reached".into(),
    };
    let mut unfinished = Vec::new();
    for name in &stressors {
        let (l, o) = (find(&linux_runs, name), find(&our_runs, name));
        let ratio = match (l.and_then(|r| r.bogo_ops), o.and_then(|r| r.bogo_ops)) {
            (Some(l), Some(o)) if l > 0 => format!("{:.2}", o as f64 / l as f64),
            _ => "-".into(),
        };
        println!("{name:<12} {:>22}   {:>22}   {ratio}", cell(l), cell(o));
        for f in o.map(|r| r.failures.as_slice()).unwrap_or_default() {
            println!("    ours: {f}");
        }
        if o.is_none_or(|r| r.status.is_none()) {
            unfinished.push(name.clone());
        }
    }
    if ours.output.contains("panicked at") {
        return Err(format!("our kernel panicked:\n{}", tail(&ours.output, 30)));
    }
    if !unfinished.is_empty() {
        return Err(format!("did not finish on our kernel: {} (see target/stress/ours.out)", unfinished.join(", ")));
    }
    let failed = |runs: &[(String, StressorRun)]| runs.iter().filter(|(_, r)| r.status != Some(0)).count();
    let fail_lines = |runs: &[(String, StressorRun)]| runs.iter().map(|(_, r)| r.failures.len()).sum::<usize>();
    Ok(format!(
        "{} stressors x {seconds} s finished; stress-ng failed {} stressors and printed {} fail: lines here, {} and {} under Linux (Linux {:.0} s, ours {:.0} s)",
        stressors.len(),
        failed(&our_runs),
        fail_lines(&our_runs),
        failed(&linux_runs),
        fail_lines(&linux_runs),
        theirs.elapsed.as_secs_f64(),
        ours.elapsed.as_secs_f64()
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
        assert_eq!(runs[1].1, StressorRun { status: None, bogo_ops: Some(1024), failures: vec![] }, "no END line: cut short");
    }
}
