//! The workspace obeys the framekernel's unsafe policy (see `tests::unsafe_policy`).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use tests::unsafe_policy::{check_workspace, fixture};

fn workspace() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .canonicalize()
        .expect("the workspace directory")
}

#[test]
fn unsafe_only_in_ostd_justified_there_and_every_other_target_forbids_it() {
    let (violations, coverage) = check_workspace(&workspace()).expect("cargo metadata");
    let report: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    assert!(violations.is_empty(), "unsafe policy violations:\n{}", report.join("\n"));
    // The check saw the whole tree, not an empty or partial one: every kind of target root
    // (this very file is an integration-test root) and files of every member.
    let root = workspace();
    for target in [
        "tests/tests/unsafe_policy.rs",
        "kernel/build.rs",
        "kernel/src/main.rs",
        "tests/src/bin/test-all.rs",
        "attestation/benches/verify.rs",
        "tee/src/lib.rs",
    ] {
        assert!(
            coverage.roots.contains(&root.join(target)),
            "{target} was not checked as a target root"
        );
    }
    for file in [
        "ostd/src/lib.rs",
        "ostd/src/task/tests.rs",
        "kernel/src/syscall/table.rs",
        "tests/src/unsafe_policy.rs",
    ] {
        assert!(coverage.files.contains(&root.join(file)), "{file} was not scanned");
    }
}

/// A throwaway workspace with one package, checked end to end (cargo metadata included).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("unsafe-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut all = vec![
            ("Cargo.toml", "[workspace]\nmembers = [\"p\"]\nresolver = \"2\"\n"),
            ("p/Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        ];
        all.extend_from_slice(files);
        for (path, text) in all {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, fixture(text)).unwrap();
        }
        Self(dir)
    }

    fn check(&self) -> Vec<(String, usize, String)> {
        let (violations, _) =
            check_workspace(&self.0).expect("cargo metadata on the scratch workspace");
        violations
            .into_iter()
            .map(|v| (v.path.strip_prefix(&self.0).unwrap().display().to_string(), v.line, v.what))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const FORBID: &str = "#![forbid(unsafe_code)]\n";

#[test]
fn the_checker_catches_a_planted_block_after_a_raw_byte_string() {
    let lib = format!(
        "{FORBID}pub fn f() {{ let _a = br\"\\\"; UNSAFE {{ core::hint::unreachable_unchecked() }} \
         }}\n"
    );
    let found = Scratch::new("planted", &[("p/src/lib.rs", &lib)]).check();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("p/src/lib.rs", 2));
}

#[test]
fn integration_tests_benches_examples_nested_bins_and_build_scripts_are_covered() {
    let clean = "fn main() {}\n";
    let found = Scratch::new(
        "targets",
        &[
            ("p/src/lib.rs", FORBID),
            ("p/build.rs", clean),
            ("p/tests/it.rs", "#![forbid(unsafe_code)]\n#[test]\nfn t() { UNSAFE { x() } }\n"),
            ("p/benches/b.rs", clean),
            ("p/examples/e.rs", clean),
            ("p/src/bin/tool/main.rs", clean),
            ("p/src/bin/tool/helper.rs", "pub fn h() { UNSAFE { x() } }\n"),
        ],
    )
    .check();
    let mut lacking: Vec<&str> = found
        .iter()
        .filter(|(_, _, what)| what.contains("lacks"))
        .map(|(p, _, _)| p.as_str())
        .collect();
    lacking.sort();
    assert_eq!(
        lacking,
        ["p/benches/b.rs", "p/build.rs", "p/examples/e.rs", "p/src/bin/tool/main.rs"]
    );
    let mut uses: Vec<(&str, usize)> = found
        .iter()
        .filter(|(_, _, what)| what.contains("outside ostd"))
        .map(|(p, l, _)| (p.as_str(), *l))
        .collect();
    uses.sort();
    assert_eq!(uses, [("p/src/bin/tool/helper.rs", 1), ("p/tests/it.rs", 3)]);
}

#[test]
fn a_file_that_does_not_lex_fails_the_check() {
    let found = Scratch::new(
        "lex",
        &[("p/src/lib.rs", FORBID), ("p/src/stray.rs", "let s = \"never closed;\n")],
    )
    .check();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "p/src/stray.rs");
    assert!(found[0].2.contains("does not lex"), "{found:?}");
}

#[test]
fn ostd_is_held_to_its_own_rules_not_exempted() {
    let files = [
        ("Cargo.toml", "[workspace]\nmembers = [\"ostd\"]\nresolver = \"2\"\n"),
        (
            "ostd/Cargo.toml",
            "[package]\nname = \"ostd\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        ),
        (
            "ostd/src/lib.rs",
            "// SAFETY: justified\npub fn f() { UNSAFE { a() } }\npub fn g() { UNSAFE { b() } }\n",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("unsafe-policy-ostd-{}", std::process::id()));
    for (path, text) in files {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.join(path), fixture(text)).unwrap();
    }
    let (violations, _) = check_workspace(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(violations.iter().map(|v| v.line).collect::<Vec<_>>(), [3]);
}
