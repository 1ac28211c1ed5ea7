//! The storage rows: Debian's fio on an ext2 disk (tests/bench/fio.sh in the guest,
//! `benchmode=fio`). Reading its lines and fio's JSON, and the disks each boot gets.
//!
//! Each row is one fio job. The guest prints `BENCH-FIO name=NAME status=S {JSON}` with fio's
//! `--output-format=json` report on one line, or `BENCH-FAIL name=NAME what=fio status=S ...`
//! with fio's stderr when it wrote no report. Sequential rows are reported in MB/s (fio's
//! `bw_bytes` ÷ 10⁶), random rows in I/O operations per second (`IO/s`); both are rates, so the
//! ratio is ours÷Linux.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::parse::Sample;
use super::report::{Collected, Row, Side};
use crate::ext2_disk::make_image;

/// The rows, in the order fio.sh runs them: (name, unit). fio.sh names its jobs the same.
pub const ROWS: [(&str, &str); 8] = [
    ("fio_seq_write_1m_direct", "MB/s"),
    ("fio_seq_read_1m_direct", "MB/s"),
    ("fio_rand_read_4k_direct", "IO/s"),
    ("fio_rand_write_4k_direct", "IO/s"),
    ("fio_seq_write_1m_buffered", "MB/s"),
    ("fio_seq_read_1m_buffered", "MB/s"),
    ("fio_rand_read_4k_buffered", "IO/s"),
    ("fio_rand_write_4k_buffered", "IO/s"),
];

/// The line prefix of a row's report.
pub const FIO_PREFIX: &str = "BENCH-FIO ";
/// The line prefix of what fio wrote on stderr for a row that did report.
pub const STDERR_PREFIX: &str = "BENCH-FIO-STDERR ";

/// The size of each boot's fresh test disk (ext2, 4 KiB blocks, empty).
pub const TEST_DISK_SIZE: &str = "1G";
/// The block size of both disks.
pub const BLOCK_SIZE: u32 = 4096;

/// What one `BENCH-FIO` line said.
#[derive(Clone, Debug, PartialEq)]
pub struct FioLine<'a> {
    /// The row (fio's job name).
    pub name: &'a str,
    /// fio's exit status.
    pub status: i32,
    /// fio's JSON report.
    pub json: &'a str,
}

/// Splits a `BENCH-FIO name=N status=S {...}` line (anywhere in the line: console noise may
/// come before it). `None` for any other line.
pub fn parse_line(line: &str) -> Option<FioLine<'_>> {
    let at = line.find(FIO_PREFIX)?;
    let rest = &line[at + FIO_PREFIX.len()..];
    let brace = rest.find('{')?;
    let (mut name, mut status) = (None, None);
    for (k, v) in rest[..brace].split_whitespace().filter_map(|w| w.split_once('=')) {
        match k {
            "name" => name = Some(v),
            "status" => status = v.parse().ok(),
            _ => {}
        }
    }
    Some(FioLine { name: name?, status: status?, json: rest[brace..].trim_end() })
}

/// The figure of row `name` from fio's JSON report: MB/s for a sequential row, I/O operations
/// per second for a random one, from the direction (read or write) the name says. An error if
/// the report is not JSON, has no job of that name, the job has an error, or it did no I/O.
pub fn figure(name: &str, json: &str) -> Result<Sample, String> {
    let unit = ROWS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| *u)
        .ok_or_else(|| format!("{name} is not a storage row"))?;
    let direction = if name.contains("_read_") { "read" } else { "write" };
    let report: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("fio's report is not JSON: {e}"))?;
    let job = report["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["jobname"] == name))
        .ok_or_else(|| format!("fio's report has no job {name}"))?;
    let error = job["error"].as_i64().unwrap_or(-1);
    if error != 0 {
        return Err(format!("fio job error {error} ({})", errno_name(error)));
    }
    let d = &job[direction];
    let bytes = d["io_bytes"].as_u64().unwrap_or(0);
    if bytes == 0 {
        return Err(format!("fio did no {direction} I/O"));
    }
    let value =
        if unit == "MB/s" { d["bw_bytes"].as_f64().map(|b| b / 1e6) } else { d["iops"].as_f64() }
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("fio's report has no {direction} rate"))?;
    Ok(Sample { name: name.to_string(), unit: unit.to_string(), value })
}

/// The name of a Linux errno number, for fio's `error` field.
fn errno_name(n: i64) -> &'static str {
    match n {
        1 => "EPERM",
        2 => "ENOENT",
        5 => "EIO",
        9 => "EBADF",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        22 => "EINVAL",
        25 => "ENOTTY",
        27 => "EFBIG",
        28 => "ENOSPC",
        29 => "ESPIPE",
        30 => "EROFS",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        _ => "errno",
    }
}

/// What one boot's storage rows gave: the figures, and for each row that gave none, why.
#[derive(Debug, Default, PartialEq)]
pub struct FioResults {
    /// One sample per row that ran.
    pub samples: Vec<Sample>,
    /// (row, reason) for rows that failed, in the order they were printed.
    pub failed: Vec<(String, String)>,
    /// (row, text): what fio wrote on stderr for rows that did report.
    pub stderr: Vec<(String, String)>,
}

/// Reads the storage rows of one boot's output. A row with neither a report nor a
/// `BENCH-FAIL` line is not mentioned (the caller knows whether the script finished).
pub fn results(output: &str) -> FioResults {
    let mut r = FioResults::default();
    for line in output.lines() {
        if let Some(at) = line.find(STDERR_PREFIX) {
            let rest = line[at + STDERR_PREFIX.len()..].trim();
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = name.strip_prefix("name=").unwrap_or(name);
            r.stderr.push((name.to_string(), text.trim().to_string()));
        } else if let Some(l) = parse_line(line) {
            match figure(l.name, l.json) {
                Ok(s) if l.status == 0 => r.samples.push(s),
                Ok(_) => r.failed.push((l.name.into(), format!("fio exit status {}", l.status))),
                Err(e) => r.failed.push((l.name.into(), e)),
            }
        } else if let Some(at) = line.find("BENCH-FAIL ") {
            let rest = line[at + "BENCH-FAIL ".len()..].trim();
            let Some(name) = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("name="))
                .filter(|n| n.starts_with("fio"))
            else {
                continue;
            };
            // The reason: the rest of the line without `name=` (what=fio status=1 stderr...).
            let reason: Vec<&str> =
                rest.split_whitespace().filter(|w| !w.starts_with("name=")).collect();
            r.failed.push((name.to_string(), reason.join(" ")));
        }
    }
    r
}

/// A row that gave no figure in one boot: which kernel, the row, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The kernel.
    pub side: Side,
    /// The row.
    pub row: String,
    /// Why (fio's stderr, the job's errno, ...).
    pub reason: String,
}

/// The table rows of the storage benchmarks: every row of [`ROWS`], in order, whether or not
/// a kernel gave figures for it, then the other rows of the storage boots (lmbench's file rows
/// on the ext2 disk, `*_ext2`), with a note that says why a kernel has fewer figures than
/// `runs` (each distinct reason once, with how many runs it happened in).
pub fn table_rows(collected: &Collected, failures: &[Failure], runs: usize) -> Vec<Row> {
    let got = collected.rows();
    let fio_rows = ROWS.iter().map(|(name, unit)| {
        let found = got.iter().find(|r| r.name == *name);
        let mut notes = Vec::new();
        for (side, label) in [(Side::Linux, "Linux"), (Side::Ours, "ours")] {
            let mut reasons: Vec<(&str, usize)> = Vec::new();
            for f in failures.iter().filter(|f| f.side == side && f.row == *name) {
                match reasons.iter_mut().find(|(r, _)| *r == f.reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((&f.reason, 1)),
                }
            }
            for (reason, n) in reasons {
                notes.push(format!("{label} failed in {n} of {runs} run(s): {reason}"));
            }
        }
        Row {
            name: name.to_string(),
            unit: unit.to_string(),
            linux: found.and_then(|r| r.linux.clone()),
            ours: found.and_then(|r| r.ours.clone()),
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    });
    // Then the lmbench file rows that ran on the same disk, in the order they came.
    let file_rows = got.iter().filter(|r| !is_row(&r.name)).cloned();
    fio_rows.chain(file_rows).collect()
}

/// Whether `name` is one of the storage rows.
pub fn is_row(name: &str) -> bool {
    ROWS.iter().any(|(n, _)| *n == name)
}

/// The two disks of the storage boots, made once per bench run under `work`: an empty ext2
/// filesystem that each boot gets a fresh copy of, and a read-only one holding `fio_root`
/// (tests/bench/fetch-fio.sh's tree). Same inputs, same bytes (ext2_disk::make_image).
pub struct Disks {
    blank: PathBuf,
    /// The read-only disk with fio.
    pub tree: PathBuf,
    work: PathBuf,
}

impl Disks {
    /// Builds both images under `work`.
    pub fn prepare(work: &Path, fio_root: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
        let empty = work.join("empty");
        let _ = std::fs::remove_dir_all(&empty);
        std::fs::create_dir_all(&empty).map_err(|e| format!("mkdir {}: {e}", empty.display()))?;
        let blank = work.join("blank.img");
        make_image(&empty, &blank, BLOCK_SIZE, TEST_DISK_SIZE)?;
        if !fio_root.join("bin/fio").is_file() {
            return Err(format!(
                "{}: no bin/fio (run tests/bench/fetch-fio.sh)",
                fio_root.display()
            ));
        }
        // Room for the tree and the filesystem's own metadata.
        let mib = tree_bytes(fio_root)? / (1 << 20);
        let tree = work.join("fio-tree.img");
        make_image(fio_root, &tree, BLOCK_SIZE, &format!("{}M", mib * 3 / 2 + 32))?;
        Ok(Self { blank, tree, work: work.to_path_buf() })
    }

    /// A fresh copy of the empty disk, for one boot.
    pub fn fresh_test_disk(&self) -> Result<PathBuf, String> {
        let path = self.work.join("test.img");
        let _ = std::fs::remove_file(&path);
        let status = Command::new("cp")
            .arg("--sparse=always")
            .arg(&self.blank)
            .arg(&path)
            .status()
            .map_err(|e| format!("cannot run cp: {e}"))?;
        status.success().then_some(path).ok_or_else(|| "cp of the blank disk failed".to_string())
    }

    /// Removes the boot's test disk (up to a GiB of host disk).
    pub fn remove_test_disk(&self) {
        let _ = std::fs::remove_file(self.work.join("test.img"));
    }
}

/// The bytes of the regular files under `dir`.
fn tree_bytes(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let meta = entry.metadata().map_err(|e| e.to_string())?;
        total += if meta.is_dir() { tree_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Console lines of a real run (`make bench BENCH_ARGS="--only fio"`: two rows of Debian's
    /// fio 3.33 under Linux 6.1 in TCG, and one row under our kernel, which has no SysV shared
    /// memory), kept byte for byte.
    const SAMPLE: &str = include_str!("testdata/fio-console.txt");
    /// `jobs[0].write.bw_bytes` of the sequential write's report in [`SAMPLE`].
    const SEQ_BW_BYTES: f64 = 34160785.0;
    /// `jobs[0].read.iops` of the random read's report in [`SAMPLE`].
    const RAND_IOPS: f64 = 2420.803783;

    #[test]
    fn reads_rates_from_a_real_fio_report() {
        let r = results(SAMPLE);
        let names: Vec<&str> = r.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["fio_seq_write_1m_buffered", "fio_rand_read_4k_direct"]);
        let seq = &r.samples[0];
        assert_eq!(seq.unit, "MB/s");
        // bw_bytes of the report, in 10^6 bytes per second.
        assert!((seq.value - SEQ_BW_BYTES / 1e6).abs() < 1e-9, "{}", seq.value);
        let rand = &r.samples[1];
        assert_eq!(rand.unit, "IO/s");
        assert!((rand.value - RAND_IOPS).abs() < 1e-6, "{}", rand.value);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].0, "fio_seq_read_1m_buffered");
        assert!(r.failed[0].1.contains("shmget: Function not implemented"), "{:?}", r.failed);
        assert!(r.failed[0].1.starts_with("what=fio status=1"), "{:?}", r.failed);
    }

    #[test]
    fn a_job_error_or_no_io_is_a_failure() {
        let line = SAMPLE.lines().find(|l| l.contains("name=fio_rand_read_4k_direct")).unwrap();
        let fio = parse_line(line).unwrap();
        assert_eq!((fio.name, fio.status), ("fio_rand_read_4k_direct", 0));
        let with_error = fio.json.replacen("\"error\" : 0", "\"error\" : 38", 1);
        assert_eq!(
            figure(fio.name, &with_error).unwrap_err(),
            "fio job error 38 (ENOSYS)".to_string()
        );
        // The read row of a write job's report did no reads.
        let as_write = fio.json.replace("fio_rand_read_4k_direct", "fio_rand_write_4k_direct");
        assert!(figure("fio_rand_write_4k_direct", &as_write).unwrap_err().contains("no write"));
        assert!(figure(fio.name, "{\"jobs\": [").unwrap_err().contains("not JSON"));
        assert!(figure("fio_other", fio.json).is_err());
        let failed = results(&line.replace("status=0", "status=1"));
        assert_eq!(failed.failed, [("fio_rand_read_4k_direct".into(), "fio exit status 1".into())]);
    }

    #[test]
    fn noise_before_the_marker_is_ignored_and_stderr_kept() {
        let line = SAMPLE.lines().find(|l| l.contains("name=fio_rand_read_4k_direct")).unwrap();
        let noisy = format!("Jobs: 1 (f=1){line}\nBENCH-FIO-STDERR name=fio_x fio: some warning\n");
        let r = results(&noisy);
        assert_eq!(r.samples.len(), 1);
        assert_eq!(r.stderr, [("fio_x".into(), "fio: some warning".into())]);
        assert_eq!(parse_line("BENCH-FIO name=x status=0"), None);
        assert_eq!(parse_line("BENCH name=x unit=us value=1"), None);
    }

    #[test]
    fn every_row_is_in_the_table_and_failures_are_told_once_with_their_count() {
        let mut c = Collected::default();
        c.add(Side::Linux, "fio_seq_read_1m_direct", "MB/s", 100.0);
        c.add(Side::Ours, "fio_seq_read_1m_direct", "MB/s", 50.0);
        let fail = |side, row: &str, reason: &str| Failure {
            side,
            row: row.into(),
            reason: reason.into(),
        };
        let failures = [
            fail(Side::Ours, "fio_seq_write_1m_direct", "shmget: ENOSYS"),
            fail(Side::Ours, "fio_seq_write_1m_direct", "shmget: ENOSYS"),
            fail(Side::Linux, "fio_seq_write_1m_direct", "odd"),
        ];
        let rows = table_rows(&c, &failures, 2);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ROWS.map(|r| r.0));
        assert_eq!(rows[1].ratio(), Some(0.5));
        assert_eq!(rows[1].note, None);
        assert_eq!(
            rows[0].note.as_deref(),
            Some(
                "Linux failed in 1 of 2 run(s): odd; ours failed in 2 of 2 run(s): shmget: ENOSYS"
            )
        );
        assert!(rows[0].linux.is_none() && rows[0].ours.is_none());
        assert_eq!(rows[2].unit, "IO/s");
        assert_eq!(rows[2].direction(), super::super::stats::Direction::Bandwidth);
    }

    #[test]
    fn the_guest_script_runs_every_row() {
        let script = include_str!("../../bench/fio.sh");
        for (name, _) in ROWS {
            let (stem, mode) = name.rsplit_once('_').unwrap();
            assert!(
                script.contains(&format!("row {stem}_$mode "))
                    && ["direct", "buffered"].contains(&mode),
                "fio.sh does not run {name}"
            );
        }
    }
}
