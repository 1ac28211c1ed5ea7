//! CPython's regression suite as a Linux-compatibility bar.
//!
//! The guest (tests/cpython/rdinit) runs each module of tests/cpython/modules with
//! `python3 -m test -v` between `==== MODULE name ====` and `==== MODULE END name ... ====`
//! lines. This module turns that console text into one outcome per test case, compares the
//! outcomes under Linux with ours, and checks the difference against the tracked known-gaps
//! file: every case that passes under Linux passes under ours or is listed with a reason, and
//! every listed case still fails (the list only shrinks).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image};

/// What happened to one test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One module's cases, keyed by unittest id (`test.test_os.FileTests.test_access`).
#[derive(Debug, Default)]
pub struct ModuleRun {
    pub cases: BTreeMap<String, Outcome>,
    /// Whether the `==== MODULE END` line was reached (a hang or crash loses it).
    pub finished: bool,
}

impl ModuleRun {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.cases.values().filter(|o| **o == outcome).count()
    }
}

const MODULE_BEGIN: &str = "==== MODULE ";
const MODULE_END: &str = "==== MODULE END ";

/// Parses the console text of a whole run into modules, in the order they ran.
pub fn parse_run(text: &str) -> BTreeMap<String, ModuleRun> {
    let mut modules = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(MODULE_END) {
            let name = rest.split_whitespace().next().unwrap_or_default();
            if let Some((module, lines)) = current.take() {
                let mut run = parse_module(&lines);
                run.finished = module == name;
                modules.insert(module, run);
            }
        } else if let Some(rest) = line.strip_prefix(MODULE_BEGIN) {
            if let Some((module, lines)) = current.take() {
                modules.insert(module, parse_module(&lines));
            }
            current = Some((rest.trim_end_matches(" ====").to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((module, lines)) = current {
        modules.insert(module, parse_module(&lines));
    }
    modules
}

/// Parses one module's `-v` output. A case's status follows ` ... ` on its own line or, when
/// the test printed something first, starts a later line; the `FAIL:`/`ERROR:` headers of the
/// final report are authoritative (a failed subtest leaves no status of its own).
fn parse_module(lines: &[&str]) -> ModuleRun {
    let mut run = ModuleRun::default();
    let mut pending: Option<String> = None;
    for line in lines {
        if let Some((_, rest)) = line.split_once(": ").filter(|(kind, _)| *kind == "FAIL" || *kind == "ERROR") {
            if let Some(id) = case_id(rest) {
                run.cases.insert(id, Outcome::Failed);
            }
            pending = None;
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(id) = case_id(trimmed) {
            pending = Some(id);
        }
        let Some(id) = pending.clone() else { continue };
        let status = match line.rsplit_once(" ... ") {
            Some((_, after)) => after,
            None if case_id(trimmed).is_none() => line,
            None => continue,
        };
        if let Some(outcome) = status_outcome(status) {
            // A subtest line ("  name (id) [params] ... FAIL") must not be overwritten by a
            // later "ok"-less end of the same test, so failures stick.
            let entry = run.cases.entry(id).or_insert(outcome);
            if outcome == Outcome::Failed {
                *entry = Outcome::Failed;
            }
            pending = None;
        }
    }
    run
}

/// `test_x (test.mod.Class.test_x)` or `setUpClass (test.mod.Class)` → the case id.
fn case_id(line: &str) -> Option<String> {
    let (name, rest) = line.split_once(" (")?;
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let (inner, _) = rest.split_once(')')?;
    if !inner.contains('.') || !inner.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
        return None;
    }
    Some(if inner.ends_with(&format!(".{name}")) { inner.to_string() } else { format!("{inner}.{name}") })
}

fn status_outcome(status: &str) -> Option<Outcome> {
    let status = status.trim_end();
    if status == "ok" || status == "expected failure" {
        Some(Outcome::Passed)
    } else if status == "FAIL" || status == "ERROR" || status == "unexpected success" {
        Some(Outcome::Failed)
    } else if status.starts_with("skipped ") || status == "skipped" {
        Some(Outcome::Skipped)
    } else {
        None
    }
}

/// One line of the known-gaps file: a case id (or a `prefix*`) and why it fails here.
#[derive(Debug, PartialEq, Eq)]
pub struct KnownGap {
    pub pattern: String,
    pub reason: String,
}

impl KnownGap {
    fn matches(&self, id: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => id == self.pattern,
        }
    }
}

/// Parses the known-gaps file: `ID  reason`, `#` comments and blank lines ignored. An entry
/// without a reason is an error: the file exists to say why.
pub fn parse_known_gaps(text: &str) -> Result<Vec<KnownGap>, String> {
    let mut gaps = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (pattern, reason) = line.split_once(char::is_whitespace).ok_or_else(|| format!("known-gaps line {}: `{line}` gives no reason", number + 1))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(format!("known-gaps line {}: `{pattern}` gives no reason", number + 1));
        }
        if gaps.iter().any(|g: &KnownGap| g.pattern == pattern) {
            return Err(format!("known-gaps line {}: `{pattern}` is listed twice", number + 1));
        }
        gaps.push(KnownGap { pattern: pattern.to_string(), reason: reason.to_string() });
    }
    Ok(gaps)
}

/// The verdict on one module.
#[derive(Debug, Default)]
pub struct ModuleComparison {
    pub module: String,
    pub linux: (usize, usize, usize),
    pub ours: (usize, usize, usize),
    /// Cases that pass under Linux and not here, with whether known-gaps lists them.
    pub gaps: Vec<(String, bool)>,
    pub linux_finished: bool,
    pub ours_finished: bool,
}

/// The verdict on a whole run.
#[derive(Debug, Default)]
pub struct Comparison {
    pub modules: Vec<ModuleComparison>,
    /// Known-gaps entries that matched no gap: they now pass (or Linux fails them too).
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn unlisted(&self) -> impl Iterator<Item = &str> {
        self.modules.iter().flat_map(|m| m.gaps.iter().filter(|(_, listed)| !listed).map(|(id, _)| id.as_str()))
    }

    pub fn listed_count(&self) -> usize {
        self.modules.iter().map(|m| m.gaps.iter().filter(|(_, listed)| *listed).count()).sum()
    }

    /// Whether the bar holds: no unlisted gap, no stale entry, every module finished on ours
    /// wherever it finished under Linux.
    pub fn holds(&self) -> bool {
        self.unlisted().next().is_none() && self.stale.is_empty() && self.modules.iter().all(|m| m.ours_finished || !m.linux_finished)
    }

    /// The per-module table `make test` prints.
    pub fn table(&self) -> String {
        let mut out = format!("{:<16} {:>21}   {:>21}   {}\n", "module", "Linux pass/fail/skip", "ours pass/fail/skip", "gaps (listed/unlisted)");
        for m in &self.modules {
            let listed = m.gaps.iter().filter(|(_, l)| *l).count();
            let fmt = |(p, f, s): (usize, usize, usize), finished: bool| format!("{p}/{f}/{s}{}", if finished { "" } else { " (cut)" });
            out.push_str(&format!(
                "{:<16} {:>21}   {:>21}   {}/{}\n",
                m.module,
                fmt(m.linux, m.linux_finished),
                fmt(m.ours, m.ours_finished),
                listed,
                m.gaps.len() - listed
            ));
        }
        out
    }
}

/// Compares the two runs module by module (in `modules` order) against `known`.
pub fn compare(modules: &[String], linux: &BTreeMap<String, ModuleRun>, ours: &BTreeMap<String, ModuleRun>, known: &[KnownGap]) -> Comparison {
    let empty = ModuleRun::default();
    let mut used = vec![false; known.len()];
    let mut comparison = Comparison::default();
    for module in modules {
        let (l, o) = (linux.get(module).unwrap_or(&empty), ours.get(module).unwrap_or(&empty));
        let counts = |r: &ModuleRun| (r.count(Outcome::Passed), r.count(Outcome::Failed), r.count(Outcome::Skipped));
        let mut m = ModuleComparison { module: module.clone(), linux: counts(l), ours: counts(o), linux_finished: l.finished, ours_finished: o.finished, ..Default::default() };
        for (id, outcome) in &l.cases {
            if *outcome != Outcome::Passed || o.cases.get(id) == Some(&Outcome::Passed) {
                continue;
            }
            let hit = known.iter().position(|g| g.matches(id));
            if let Some(i) = hit {
                used[i] = true;
            }
            m.gaps.push((id.clone(), hit.is_some()));
        }
        comparison.modules.push(m);
    }
    comparison.stale = known.iter().zip(&used).filter(|(_, used)| !**used).map(|(g, _)| g.pattern.clone()).collect();
    comparison
}

/// The module names of tests/cpython/modules (first word of each non-comment line).
pub fn module_names(list: &str) -> Vec<String> {
    list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

/// Runs the tracked modules under both kernels, prints the table, and judges the result
/// against tests/cpython/known-gaps. The raw console output stays in
/// target/cpython/{linux,ours}.out.
pub fn run_suite(root: &Path, elf: &Path) -> Result<String, String> {
    let work = root.join("target/cpython");
    let image = debian_image(root, &work, &[("tests/cpython/rdinit", "cpython-init"), ("tests/cpython/modules", "cpython/modules")])?;
    let (theirs, ours) = boot_both(root, elf, &image, "/cpython-init", Duration::from_secs(40 * 60))?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;
    let timing = format!("Linux {:.0} s, ours {:.0} s", theirs.elapsed.as_secs_f64(), ours.elapsed.as_secs_f64());
    judge(root, &theirs.output, &ours.output).map(|s| format!("{s} ({timing})")).map_err(|e| format!("{e} ({timing})"))
}

/// Judges two runs' console text against the module list and known-gaps; prints the table
/// and the problems, and writes every unlisted gap to target/cpython/unlisted (one id per
/// line: the starting point for a known-gaps entry, which still needs its reason).
pub fn judge(root: &Path, linux: &str, ours: &str) -> Result<String, String> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let modules = module_names(&read("tests/cpython/modules")?);
    let known = parse_known_gaps(&read("tests/cpython/known-gaps")?)?;
    let comparison = compare(&modules, &parse_run(linux), &parse_run(ours), &known);
    print!("{}", comparison.table());
    let unlisted: Vec<&str> = comparison.unlisted().collect();
    let _ = std::fs::write(root.join("target/cpython/unlisted"), unlisted.iter().map(|id| format!("{id}\n")).collect::<String>());
    let mut problems = Vec::new();
    for id in &unlisted {
        problems.push(format!("passes under Linux, not here, not in tests/cpython/known-gaps: {id}"));
    }
    for pattern in &comparison.stale {
        problems.push(format!("known-gaps lists {pattern}, which no longer fails here (or fails under Linux too): remove it"));
    }
    for m in comparison.modules.iter().filter(|m| m.linux_finished && !m.ours_finished) {
        problems.push(format!("{} did not finish on our kernel (see target/cpython/ours.out)", m.module));
    }
    for m in comparison.modules.iter().filter(|m| !m.linux_finished) {
        println!("note: {} did not finish under Linux either (see target/cpython/linux.out)", m.module);
    }
    if problems.is_empty() {
        return Ok(format!("{} modules; every case that passes under Linux passes here, but for {} listed gaps", modules.len(), comparison.listed_count()));
    }
    for p in problems.iter().take(40) {
        println!("  {p}");
    }
    if problems.len() > 40 {
        println!("  ... and {} more (all unlisted ones are in target/cpython/unlisted)", problems.len() - 40);
    }
    Err(format!("{} problems", problems.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
==== MODULE test_demo ====
test_plain (test.test_demo.A.test_plain) ... ok
test_doc (test.test_demo.A.test_doc)
A docstring line ... FAIL
test_noisy (test.test_demo.A.test_noisy) ... some output from the test
more output
ok
test_skip (test.test_demo.A.test_skip) ... skipped 'needs root'
setUpClass (test.test_demo.B) ... skipped 'no epoll'
test_xfail (test.test_demo.A.test_xfail) ... expected failure
  test_sub (test.test_demo.A.test_sub) [x=1] ... FAIL
test_err (test.test_demo.A.test_err) ... ok

======================================================================
ERROR: test_err (test.test_demo.A.test_err)
----------------------------------------------------------------------
Traceback (most recent call last):
==== MODULE END test_demo status=2 seconds=3 ====
==== MODULE test_cut ====
test_one (test.test_cut.C.test_one) ... ok
test_two (test.test_cut.C.test_two) ...";

    #[test]
    fn verbose_output_becomes_one_outcome_per_case() {
        let run = parse_run(SAMPLE);
        let demo = &run["test_demo"];
        assert!(demo.finished);
        let get = |id: &str| demo.cases.get(id).copied();
        assert_eq!(get("test.test_demo.A.test_plain"), Some(Outcome::Passed));
        assert_eq!(get("test.test_demo.A.test_doc"), Some(Outcome::Failed));
        assert_eq!(get("test.test_demo.A.test_noisy"), Some(Outcome::Passed));
        assert_eq!(get("test.test_demo.A.test_skip"), Some(Outcome::Skipped));
        assert_eq!(get("test.test_demo.B.setUpClass"), Some(Outcome::Skipped));
        assert_eq!(get("test.test_demo.A.test_xfail"), Some(Outcome::Passed));
        assert_eq!(get("test.test_demo.A.test_sub"), Some(Outcome::Failed));
        assert_eq!(get("test.test_demo.A.test_err"), Some(Outcome::Failed), "the final ERROR: header wins over an earlier ok");
        let cut = &run["test_cut"];
        assert!(!cut.finished);
        assert_eq!(cut.cases.len(), 1);
    }

    #[test]
    fn gaps_must_be_listed_and_listed_gaps_must_still_fail() {
        let linux = parse_run(SAMPLE);
        let mut ours = parse_run(SAMPLE);
        let demo = ours.get_mut("test_demo").unwrap();
        demo.cases.insert("test.test_demo.A.test_plain".into(), Outcome::Failed);
        demo.cases.insert("test.test_demo.A.test_xfail".into(), Outcome::Skipped);
        let modules = vec!["test_demo".to_string(), "test_cut".to_string()];

        let none = compare(&modules, &linux, &ours, &[]);
        assert!(!none.holds());
        assert_eq!(none.unlisted().collect::<Vec<_>>(), ["test.test_demo.A.test_plain", "test.test_demo.A.test_xfail"]);

        let known = parse_known_gaps("# why\ntest.test_demo.A.test_plain  no foo\ntest.test_demo.A.test_x*  no bar\n").unwrap();
        let listed = compare(&modules, &linux, &ours, &known);
        assert!(listed.holds(), "{listed:?}");
        assert_eq!(listed.listed_count(), 2);

        let stale = parse_known_gaps("test.test_demo.A.test_plain  x\ntest.test_demo.A.test_x*  y\ntest.test_demo.A.test_noisy  passes now\n").unwrap();
        let verdict = compare(&modules, &linux, &ours, &stale);
        assert!(!verdict.holds());
        assert_eq!(verdict.stale, ["test.test_demo.A.test_noisy"]);
    }

    #[test]
    fn a_module_cut_short_here_but_not_under_linux_fails_the_bar() {
        let linux = parse_run(SAMPLE);
        let mut ours = parse_run(SAMPLE);
        ours.get_mut("test_demo").unwrap().finished = false;
        let verdict = compare(&["test_demo".to_string()], &linux, &ours, &[]);
        assert!(!verdict.holds());
        assert!(verdict.table().contains("(cut)"));
    }

    #[test]
    fn known_gaps_need_a_reason_and_no_duplicates() {
        assert!(parse_known_gaps("test.a.B.c\n").unwrap_err().contains("no reason"));
        assert!(parse_known_gaps("test.a.B.c   \n").unwrap_err().contains("no reason"));
        assert!(parse_known_gaps("test.a.B.c x\ntest.a.B.c y\n").unwrap_err().contains("twice"));
    }

    #[test]
    fn module_list_takes_the_first_word() {
        assert_eq!(module_names("# c\n\ntest_os\ntest_io -m C*\n"), ["test_os", "test_io"]);
    }
}
