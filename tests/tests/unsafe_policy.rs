//! The workspace obeys the framekernel's unsafe policy (see `tests::unsafe_policy`).

use std::path::Path;

use tests::unsafe_policy::{check_ostd, check_safe_crate, fixture};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn no_unsafe_outside_ostd_and_every_crate_forbids_it() {
    let mut violations = Vec::new();
    for krate in ["kernel", "tee", "attestation", "images", "tests"] {
        violations.extend(check_safe_crate(&workspace().join(krate)));
    }
    let report: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    assert!(violations.is_empty(), "unsafe policy violations:\n{}", report.join("\n"));
}

#[test]
fn every_unsafe_use_in_ostd_says_why_it_is_sound() {
    let violations = check_ostd(&workspace().join("ostd"));
    let report: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    assert!(violations.is_empty(), "ostd unsafe without justification:\n{}", report.join("\n"));
}

#[test]
fn the_checker_catches_a_planted_violation() {
    let dir = std::env::temp_dir().join(format!("unsafe-policy-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let planted = fixture("#![forbid(unsafe_code)]\npub fn f() { UNSAFE { core::hint::unreachable_unchecked() } }\n");
    std::fs::write(dir.join("src/lib.rs"), planted).unwrap();
    let found = check_safe_crate(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
}
