//! CPython's regression suite as a Linux-compatibility bar.
//!
//! The guest (tests/cpython/rdinit) runs each module of tests/cpython/modules with
//! `python3 -m test -v` between `==== MODULE name ====` and `==== MODULE END name ... ====`
//! lines. This module turns that console text into one outcome per test case, compares the
//! outcomes under Linux with ours, and checks the difference against the tracked known-gaps
//! file: every case that passes under Linux passes under ours or is listed with a reason, and
//! every listed case still passes under Linux and still fails here (the list only shrinks).
//! Entries are exact case ids: a pattern would excuse the next failure in its class too.
//! Every module must run to its end marker under both kernels, and run cases under Linux: a
//! reference that stopped early would excuse whatever it did not reach.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::reference::{boot_both, debian_image};

/// What happened to one test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// unittest reported `ok` (an expected failure counts too).
    Passed,
    /// unittest reported `FAIL` or `ERROR` (an unexpected success counts too).
    Failed,
    /// unittest reported `skipped`.
    Skipped,
}

/// One module's cases, keyed by unittest id (`test.test_os.FileTests.test_access`).
#[derive(Debug, Default)]
pub struct ModuleRun {
    /// Each case the run reported, by id.
    pub cases: BTreeMap<String, Outcome>,
    /// Whether the `==== MODULE END` line was reached (a hang or crash loses it).
    pub finished: bool,
}

impl ModuleRun {
    /// Returns how many cases ended with `outcome`.
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
        if let Some((_, rest)) =
            line.split_once(": ").filter(|(kind, _)| *kind == "FAIL" || *kind == "ERROR")
        {
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
    Some(if inner.ends_with(&format!(".{name}")) {
        inner.to_string()
    } else {
        format!("{inner}.{name}")
    })
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

/// One line of the known-gaps file: an exact case id and why it fails here.
#[derive(Debug, PartialEq, Eq)]
pub struct KnownGap {
    /// The exact dotted case id.
    pub id: String,
    /// Why the case fails under this kernel.
    pub reason: String,
}

/// Parses the known-gaps file: `ID  reason`, `#` comments and blank lines ignored. An entry
/// without a reason is an error: the file exists to say why. So is an id that is not an
/// exact dotted case id (a `*` or other pattern syntax).
pub fn parse_known_gaps(text: &str) -> Result<Vec<KnownGap>, String> {
    let mut gaps = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (pattern, reason) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("known-gaps line {}: `{line}` gives no reason", number + 1))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(format!("known-gaps line {}: `{pattern}` gives no reason", number + 1));
        }
        if pattern.contains(['*', '?', '[', ']']) {
            return Err(format!(
                "known-gaps line {}: `{pattern}` is a pattern; list each failing case by its exact \
                 id (`cargo run -p tests --bin cpython-suite -- --judge` writes them to \
                 target/cpython/unlisted)",
                number + 1
            ));
        }
        let words: Vec<&str> = pattern.split('.').collect();
        if words.len() < 3
            || words
                .iter()
                .any(|w| w.is_empty() || !w.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "known-gaps line {}: `{pattern}` is not a case id like \
                 test.test_os.FileTests.test_access",
                number + 1
            ));
        }
        if gaps.iter().any(|g: &KnownGap| g.id == pattern) {
            return Err(format!("known-gaps line {}: `{pattern}` is listed twice", number + 1));
        }
        gaps.push(KnownGap { id: pattern.to_string(), reason: reason.to_string() });
    }
    Ok(gaps)
}

/// The verdict on one module.
#[derive(Debug, Default)]
pub struct ModuleComparison {
    /// The module's name (`test.test_os`).
    pub module: String,
    /// Passed, failed and skipped cases under Linux.
    pub linux: (usize, usize, usize),
    /// Passed, failed and skipped cases under this kernel.
    pub ours: (usize, usize, usize),
    /// Cases that pass under Linux and not here, with whether known-gaps lists them.
    pub gaps: Vec<(String, bool)>,
    /// Whether the Linux run reached the module's end marker.
    pub linux_finished: bool,
    /// Whether the run under this kernel reached the module's end marker.
    pub ours_finished: bool,
}

/// The verdict on a whole run.
#[derive(Debug, Default)]
pub struct Comparison {
    /// One verdict per module, in the order the module list gives.
    pub modules: Vec<ModuleComparison>,
    /// Known-gaps entries that are no gap, each with why: the case passes here now, or it
    /// does not pass under Linux (fails, is skipped, or was not run).
    pub stale: Vec<(String, String)>,
}

impl Comparison {
    /// Returns the ids of cases that pass under Linux, fail here, and are not in known-gaps.
    pub fn unlisted(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .flat_map(|m| m.gaps.iter().filter(|(_, listed)| !listed).map(|(id, _)| id.as_str()))
    }

    /// Returns how many cases that pass under Linux and fail here known-gaps lists.
    pub fn listed_count(&self) -> usize {
        self.modules.iter().map(|m| m.gaps.iter().filter(|(_, listed)| *listed).count()).sum()
    }

    /// Modules whose Linux run cannot serve as the reference: cut short, or no cases ran.
    pub fn incomplete_references(&self) -> impl Iterator<Item = &ModuleComparison> {
        self.modules.iter().filter(|m| !m.linux_finished || m.linux == (0, 0, 0))
    }

    /// Whether the bar holds: no unlisted gap, no stale entry, every module ran to its end
    /// under both kernels, with cases under Linux.
    pub fn holds(&self) -> bool {
        self.unlisted().next().is_none()
            && self.stale.is_empty()
            && self.incomplete_references().next().is_none()
            && self.modules.iter().all(|m| m.ours_finished)
    }

    /// The per-module table `make test` prints.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<16} {:>21}   {:>21}   {}\n",
            "module", "Linux pass/fail/skip", "ours pass/fail/skip", "gaps (listed/unlisted)"
        );
        for m in &self.modules {
            let listed = m.gaps.iter().filter(|(_, l)| *l).count();
            let fmt = |(p, f, s): (usize, usize, usize), finished: bool| {
                format!("{p}/{f}/{s}{}", if finished { "" } else { " (cut)" })
            };
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
pub fn compare(
    modules: &[String],
    linux: &BTreeMap<String, ModuleRun>,
    ours: &BTreeMap<String, ModuleRun>,
    known: &[KnownGap],
) -> Comparison {
    let empty = ModuleRun::default();
    let mut comparison = Comparison::default();
    for module in modules {
        let (l, o) = (linux.get(module).unwrap_or(&empty), ours.get(module).unwrap_or(&empty));
        let counts = |r: &ModuleRun| {
            (r.count(Outcome::Passed), r.count(Outcome::Failed), r.count(Outcome::Skipped))
        };
        let mut m = ModuleComparison {
            module: module.clone(),
            linux: counts(l),
            ours: counts(o),
            linux_finished: l.finished,
            ours_finished: o.finished,
            ..Default::default()
        };
        for (id, outcome) in &l.cases {
            if *outcome != Outcome::Passed || o.cases.get(id) == Some(&Outcome::Passed) {
                continue;
            }
            m.gaps.push((id.clone(), known.iter().any(|g| g.id == *id)));
        }
        comparison.modules.push(m);
    }
    // Each listed case on its own: it must pass under Linux and not here.
    let outcome = |runs: &BTreeMap<String, ModuleRun>, id: &str| {
        modules.iter().find_map(|m| runs.get(m)?.cases.get(id).copied())
    };
    let describe =
        |o: Option<Outcome>| o.map_or("not run".to_string(), |o| format!("{o:?}").to_lowercase());
    for gap in known {
        let (l, o) = (outcome(linux, &gap.id), outcome(ours, &gap.id));
        if l != Some(Outcome::Passed) {
            comparison
                .stale
                .push((gap.id.clone(), format!("does not pass under Linux ({})", describe(l))));
        } else if o == Some(Outcome::Passed) {
            comparison.stale.push((gap.id.clone(), "passes here now".to_string()));
        }
    }
    comparison
}

/// The module names of tests/cpython/modules (first word of each non-comment line).
pub fn module_names(list: &str) -> Vec<String> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// The modules of a list whose line picks cases with `-m` or leaves some out with `-i`
/// (regrtest's match and ignore options).
fn selecting_modules(list: &str) -> Vec<String> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let module = words.next()?;
            words.any(|w| w == "-m" || w == "-i").then(|| module.to_string())
        })
        .collect()
}

/// Runs the tracked modules under both kernels, prints the table, and judges the result
/// against tests/cpython/known-gaps. The raw console output stays in
/// target/cpython/{linux,ours}.out.
pub fn run_suite(root: &Path, elf: &Path) -> Result<String, String> {
    run_modules(root, elf, MODULES)
}

/// The module list `make test` runs.
pub const MODULES: &str = "tests/cpython/modules";

/// [`run_suite`] with another module list (`tests/cpython/modules-extended`: modules too slow
/// for `make test`), a path under `root`.
pub fn run_modules(root: &Path, elf: &Path, list: &str) -> Result<String, String> {
    let work = root.join("target/cpython");
    let image = debian_image(
        root,
        &work,
        &[("tests/cpython/rdinit", "cpython-init"), (list, "cpython/modules")],
    )?;
    let (theirs, ours) =
        boot_both(root, elf, &image, "/cpython-init", Duration::from_secs(40 * 60))?;
    std::fs::write(work.join("linux.out"), &theirs.output).map_err(|e| e.to_string())?;
    std::fs::write(work.join("ours.out"), &ours.output).map_err(|e| e.to_string())?;
    let timing = format!(
        "Linux {:.0} s, ours {:.0} s",
        theirs.elapsed.as_secs_f64(),
        ours.elapsed.as_secs_f64()
    );
    judge_list(root, list, &theirs.output, &ours.output)
        .map(|s| format!("{s} ({timing})"))
        .map_err(|e| format!("{e} ({timing})"))
}

/// Judges two runs' console text against the module list and known-gaps; prints the table
/// and the problems, and writes every unlisted gap to target/cpython/unlisted (one id per
/// line: the starting point for a known-gaps entry, which still needs its reason).
pub fn judge(root: &Path, linux: &str, ours: &str) -> Result<String, String> {
    judge_list(root, MODULES, linux, ours)
}

/// [`judge`] against module list `list`: known gaps of modules the list does not run are
/// not this run's to confirm or find stale.
pub fn judge_list(root: &Path, list: &str, linux: &str, ours: &str) -> Result<String, String> {
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).map_err(|e| format!("read {p}: {e}"));
    let list = read(list)?;
    let modules = module_names(&list);
    let selecting = selecting_modules(&list);
    let (linux, ours) = (parse_run(linux), parse_run(ours));
    let ran =
        |id: &str| [&linux, &ours].iter().any(|run| run.values().any(|m| m.cases.contains_key(id)));
    let mut known = parse_known_gaps(&read("tests/cpython/known-gaps")?)?;
    known.retain(|gap| modules.iter().any(|m| gap.id.starts_with(&format!("test.{m}."))));
    // A module run with `-m` or `-i` runs some of its cases: a listed case that ran under
    // neither kernel is not this run's to confirm or find stale.
    known.retain(|gap| {
        ran(&gap.id) || !selecting.iter().any(|m| gap.id.starts_with(&format!("test.{m}.")))
    });
    let comparison = compare(&modules, &linux, &ours, &known);
    print!("{}", comparison.table());
    let unlisted: Vec<&str> = comparison.unlisted().collect();
    let _ = std::fs::write(
        root.join("target/cpython/unlisted"),
        unlisted.iter().map(|id| format!("{id}\n")).collect::<String>(),
    );
    let mut problems = Vec::new();
    for id in &unlisted {
        problems
            .push(format!("passes under Linux, not here, not in tests/cpython/known-gaps: {id}"));
    }
    for (id, why) in &comparison.stale {
        problems.push(format!("known-gaps lists {id}, which {why}: remove its line"));
    }
    for m in comparison.incomplete_references() {
        let what =
            if m.linux_finished { "ran no test cases" } else { "did not reach its end marker" };
        problems.push(format!(
            "{} {what} under Linux, so nothing in it can be judged (see target/cpython/linux.out)",
            m.module
        ));
    }
    for m in comparison.modules.iter().filter(|m| !m.ours_finished) {
        problems.push(format!(
            "{} did not reach its end marker on our kernel (see target/cpython/ours.out)",
            m.module
        ));
    }
    if problems.is_empty() {
        return Ok(format!(
            "{} modules; every case that passes under Linux passes here, but for {} listed gaps",
            modules.len(),
            comparison.listed_count()
        ));
    }
    for p in problems.iter().take(40) {
        println!("  {p}");
    }
    if problems.len() > 40 {
        println!(
            "  ... and {} more (all unlisted ones are in target/cpython/unlisted)",
            problems.len() - 40
        );
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
        assert_eq!(
            get("test.test_demo.A.test_err"),
            Some(Outcome::Failed),
            "the final ERROR: header wins over an earlier ok"
        );
        let cut = &run["test_cut"];
        assert!(!cut.finished);
        assert_eq!(cut.cases.len(), 1);
    }

    fn demo_only() -> Vec<String> {
        vec!["test_demo".to_string()]
    }

    /// Linux's run of SAMPLE, and ours with test_plain failing and test_xfail skipped.
    fn runs() -> (BTreeMap<String, ModuleRun>, BTreeMap<String, ModuleRun>) {
        let linux = parse_run(SAMPLE);
        let mut ours = parse_run(SAMPLE);
        let demo = ours.get_mut("test_demo").unwrap();
        demo.cases.insert("test.test_demo.A.test_plain".into(), Outcome::Failed);
        demo.cases.insert("test.test_demo.A.test_xfail".into(), Outcome::Skipped);
        (linux, ours)
    }

    #[test]
    fn gaps_must_be_listed_case_by_case() {
        let (linux, ours) = runs();
        let none = compare(&demo_only(), &linux, &ours, &[]);
        assert!(!none.holds());
        assert_eq!(
            none.unlisted().collect::<Vec<_>>(),
            ["test.test_demo.A.test_plain", "test.test_demo.A.test_xfail"]
        );

        let known = parse_known_gaps(
            "# why\ntest.test_demo.A.test_plain  no foo\ntest.test_demo.A.test_xfail  no bar\n",
        )
        .unwrap();
        let listed = compare(&demo_only(), &linux, &ours, &known);
        assert!(listed.holds(), "{listed:?}");
        assert_eq!(listed.listed_count(), 2);

        let one = parse_known_gaps("test.test_demo.A.test_plain  no foo\n").unwrap();
        let verdict = compare(&demo_only(), &linux, &ours, &one);
        assert!(!verdict.holds(), "a second failure in the same class needs its own line");
        assert_eq!(verdict.unlisted().collect::<Vec<_>>(), ["test.test_demo.A.test_xfail"]);
    }

    #[test]
    fn a_listed_case_that_passes_here_is_stale() {
        let (linux, ours) = runs();
        let known = parse_known_gaps(
            "test.test_demo.A.test_plain  x\ntest.test_demo.A.test_xfail  \
             y\ntest.test_demo.A.test_noisy  fixed since\n",
        )
        .unwrap();
        let verdict = compare(&demo_only(), &linux, &ours, &known);
        assert!(!verdict.holds());
        assert_eq!(
            verdict.stale,
            [("test.test_demo.A.test_noisy".to_string(), "passes here now".to_string())]
        );
    }

    #[test]
    fn a_listed_case_that_does_not_pass_under_linux_is_stale() {
        let (linux, ours) = runs();
        let known = parse_known_gaps(
            "test.test_demo.A.test_plain  x\ntest.test_demo.A.test_xfail  y\n\
             test.test_demo.A.test_doc  fails there too\ntest.test_demo.A.test_skip  skipped \
             there\ntest.test_demo.A.test_gone  renamed\n",
        )
        .unwrap();
        let verdict = compare(&demo_only(), &linux, &ours, &known);
        assert!(!verdict.holds());
        let stale: Vec<(&str, &str)> =
            verdict.stale.iter().map(|(id, why)| (id.as_str(), why.as_str())).collect();
        assert_eq!(
            stale,
            [
                ("test.test_demo.A.test_doc", "does not pass under Linux (failed)"),
                ("test.test_demo.A.test_skip", "does not pass under Linux (skipped)"),
                ("test.test_demo.A.test_gone", "does not pass under Linux (not run)"),
            ]
        );
    }

    #[test]
    fn a_module_cut_short_here_fails_the_bar() {
        let linux = parse_run(SAMPLE);
        let mut ours = parse_run(SAMPLE);
        ours.get_mut("test_demo").unwrap().finished = false;
        let verdict = compare(&demo_only(), &linux, &ours, &[]);
        assert!(!verdict.holds());
        assert!(verdict.table().contains("(cut)"));
    }

    #[test]
    fn a_linux_run_cut_short_or_empty_fails_the_bar_instead_of_excusing_the_module() {
        // test_cut: both kernels stopped in the middle of it; every case that ran agrees.
        let (linux, ours) = (parse_run(SAMPLE), parse_run(SAMPLE));
        let cut = compare(&["test_cut".to_string()], &linux, &ours, &[]);
        assert!(cut.unlisted().next().is_none());
        assert!(!cut.holds(), "Linux did not reach the end of test_cut");
        assert_eq!(
            cut.incomplete_references().map(|m| m.module.as_str()).collect::<Vec<_>>(),
            ["test_cut"]
        );

        let empty_text = "==== MODULE test_none ====\nno tests ran\n==== MODULE END test_none \
            status=5 seconds=0 ====\n";
        let (linux, ours) = (parse_run(empty_text), parse_run(empty_text));
        let empty = compare(&["test_none".to_string()], &linux, &ours, &[]);
        assert!(!empty.holds(), "a module with no cases under Linux checks nothing");

        let missing =
            compare(&["test_absent".to_string()], &BTreeMap::new(), &BTreeMap::new(), &[]);
        assert!(!missing.holds(), "a module absent from the Linux run");
    }

    #[test]
    fn known_gaps_need_a_reason_and_no_duplicates() {
        assert!(parse_known_gaps("test.a.B.c\n").unwrap_err().contains("no reason"));
        assert!(parse_known_gaps("test.a.B.c   \n").unwrap_err().contains("no reason"));
        assert!(parse_known_gaps("test.a.B.c x\ntest.a.B.c y\n").unwrap_err().contains("twice"));
    }

    #[test]
    fn known_gaps_reject_patterns_and_non_ids() {
        for line in [
            "test.test_epoll.TestEPoll.*  x",
            "test.test_signal.StressTest.test_stress_delivery_*  x",
            "test.a.B.test_[ab]  x",
            "test.a.B.c?  x",
        ] {
            let err = parse_known_gaps(line).unwrap_err();
            assert!(err.contains("is a pattern") && err.contains("line 1"), "{line}: {err}");
        }
        for line in ["test_os  x", "test..B.c  x", "test.a.B.c/d  x"] {
            assert!(parse_known_gaps(line).unwrap_err().contains("not a case id"), "{line}");
        }
    }

    #[test]
    fn the_tracked_known_gaps_file_is_valid() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cpython/known-gaps"))
                .unwrap();
        let gaps = parse_known_gaps(&text).unwrap();
        assert!(!gaps.is_empty());
    }

    #[test]
    fn module_list_takes_the_first_word() {
        assert_eq!(module_names("# c\n\ntest_os\ntest_io -m C*\n"), ["test_os", "test_io"]);
    }

    #[test]
    fn modules_with_a_case_filter_are_the_selecting_ones() {
        let list = "# test_x -m y\ntest_os\ntest_io -m C*\ntest_signal -i slow -i slower\n";
        assert_eq!(selecting_modules(list), ["test_io", "test_signal"]);
    }
}
