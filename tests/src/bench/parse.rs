//! Reading what the guest prints: `BENCH` lines, failures and markers, with console noise removed.

/// The line /init writes first, the boot-time marker.
pub const INIT_MARKER: &str = "BENCH-INIT-REACHED";
/// The line the script prints after the last benchmark.
pub const DONE_MARKER: &str = "BENCH-DONE";
/// The line the script prints in `benchmode=mem` (the minimum-memory probe).
pub const SCRIPT_OK_MARKER: &str = "BENCH-SCRIPT-OK";
/// The start of our kernel's banner line (`cocoon 0.1.0: booted via PVH in 45 ms`).
pub const BANNER_PREFIX: &str = "cocoon ";

/// Returns whether `line` is our kernel's banner line.
pub fn is_banner(line: &str) -> bool {
    line.starts_with(BANNER_PREFIX) && line.contains(": booted via ")
}

/// One measurement printed by a microbenchmark.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Benchmark name, e.g. `null_syscall`.
    pub name: String,
    /// Unit, e.g. `us` or `MB/s`.
    pub unit: String,
    /// The value.
    pub value: f64,
}

/// Removes `\r` and ANSI/VT escape sequences (firmware noise) from console text.
pub fn strip_console_noise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\x1b' => {
                // CSI: ESC [ params final-byte (0x40..=0x7e); other escapes: ESC + one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The `key=value` words of a line after its first word.
fn fields(rest: &str) -> impl Iterator<Item = (&str, &str)> {
    rest.split_whitespace().filter_map(|w| w.split_once('='))
}

/// Parses one `BENCH name=N unit=U value=V` line (anywhere in the line: kernel messages may
/// share it). Returns `None` for anything else, including a value that is not a finite number.
pub fn parse_bench_line(line: &str) -> Option<Sample> {
    let at = line.find("BENCH ")?;
    let rest = &line[at + "BENCH ".len()..];
    let (mut name, mut unit, mut value) = (None, None, None);
    for (k, v) in fields(rest) {
        match k {
            "name" => name = Some(v),
            "unit" => unit = Some(v),
            "value" => value = v.parse::<f64>().ok().filter(|v| v.is_finite()),
            _ => {}
        }
    }
    Some(Sample { name: name?.to_string(), unit: unit?.to_string(), value: value? })
}

/// All samples in a boot's output, in order.
pub fn parse_samples(output: &str) -> Vec<Sample> {
    output.lines().filter_map(parse_bench_line).collect()
}

/// The `BENCH-FAIL` lines of a boot's output, as (name, the rest of the line).
pub fn parse_failures(output: &str) -> Vec<(String, String)> {
    output
        .lines()
        .filter_map(|line| {
            let at = line.find("BENCH-FAIL ")?;
            let rest = line[at + "BENCH-FAIL ".len()..].trim();
            let name = fields(rest).find(|(k, _)| *k == "name").map(|(_, v)| v.to_string())?;
            Some((name, rest.to_string()))
        })
        .collect()
}

/// Parses a `BENCH-CLOCK mono_ns=T [step_ns=S]` line: the guest's monotonic time in ns, and the
/// smallest step of its clock if measured.
pub fn parse_clock_line(line: &str) -> Option<(u64, Option<u64>)> {
    let at = line.find("BENCH-CLOCK ")?;
    let (mut mono, mut step) = (None, None);
    for (k, v) in fields(&line[at + "BENCH-CLOCK ".len()..]) {
        match k {
            "mono_ns" => mono = v.parse().ok(),
            "step_ns" => step = v.parse().ok(),
            _ => {}
        }
    }
    Some((mono?, step))
}

/// Returns whether some line of `output` is exactly `marker` (after trimming).
pub fn has_line(output: &str, marker: &str) -> bool {
    output.lines().any(|l| l.trim() == marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bench_lines() {
        let s = parse_bench_line("BENCH name=null_syscall unit=us value=0.83").unwrap();
        assert_eq!(s, Sample { name: "null_syscall".into(), unit: "us".into(), value: 0.83 });
        let bw = parse_bench_line("BENCH name=pipe_bandwidth unit=MB/s value=1.446e+02").unwrap();
        assert_eq!((bw.unit.as_str(), bw.value), ("MB/s", 144.6));
        // Field order does not matter; a kernel message may precede it on the line.
        let s = parse_bench_line("[ 2.1] tsc: x BENCH value=3 unit=ms name=a").unwrap();
        assert_eq!((s.name.as_str(), s.value), ("a", 3.0));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(parse_bench_line("BENCH name=x unit=us"), None);
        assert_eq!(parse_bench_line("BENCH name=x unit=us value=fast"), None);
        assert_eq!(parse_bench_line("BENCH name=x unit=us value=inf"), None);
        assert_eq!(parse_bench_line("BENCH-FAIL name=x what=run errno=EPERM"), None);
        assert_eq!(parse_bench_line("BENCH-START"), None);
        assert_eq!(parse_bench_line(""), None);
    }

    #[test]
    fn collects_samples_and_failures() {
        let out = "BENCH-START\nBENCH name=a unit=us value=1\nnoise\nBENCH-FAIL name=b what=open \
            errno=No such file\nBENCH name=c unit=MB/s value=2.5\n";
        let s = parse_samples(out);
        assert_eq!(s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        let f = parse_failures(out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, "b");
        assert!(f[0].1.contains("No such file"));
    }

    #[test]
    fn strips_carriage_returns_and_escapes() {
        let raw = "\x1b[2J\x1b[01;01HSeaBIOS\r\n\x1bcBENCH-DONE\r\n";
        assert_eq!(strip_console_noise(raw), "SeaBIOS\nBENCH-DONE\n");
        assert!(has_line(&strip_console_noise(raw), DONE_MARKER));
        assert!(!has_line("BENCH-DONE-NOT", DONE_MARKER));
    }

    #[test]
    fn parses_clock_lines() {
        assert_eq!(parse_clock_line("BENCH-CLOCK mono_ns=123 step_ns=40"), Some((123, Some(40))));
        assert_eq!(parse_clock_line("BENCH-CLOCK mono_ns=9"), Some((9, None)));
        assert_eq!(parse_clock_line("BENCH-CLOCK step_ns=9"), None);
        assert_eq!(parse_clock_line("BENCH name=a unit=us value=1"), None);
    }

    #[test]
    fn recognises_our_banner() {
        assert!(is_banner("cocoon 0.1.0: booted via PVH in 45 ms"));
        assert!(!is_banner("  cmdline: \"cocoon\""));
        assert!(!is_banner("cocoon 0.1.0: panic"));
    }
}
