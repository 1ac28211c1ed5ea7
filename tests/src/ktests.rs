//! Judging an in-kernel test run (`console=ttyS0 ktest`) against the source.
//!
//! The kernel prints `ktest: N registered, M selected` before it runs anything, one line per
//! test, then `P passed, F failed`. The run holds only if every test in the source was
//! registered (a test module left out of the module tree, or dropped by the linker, would
//! otherwise vanish silently), every registered test was selected and passed, none failed,
//! and the machine powered off with the success status.

use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};

use crate::qemu::ktest_counts;

/// Counts the functions declared inside `ktest! { ... }` invocations in `source`.
pub fn count_in_source(source: &str) -> Result<usize, String> {
    let tokens =
        crate::unsafe_policy::lex(source).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    Ok(count_in_tokens(tokens))
}

fn count_in_tokens(stream: TokenStream) -> usize {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut count = 0;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            // `ktest ! { fn a() {..} fn b() {..} }`, however the path to it is spelled; the
            // macro's own definition (`macro_rules! ktest { .. }`) has no `!` after the name.
            TokenTree::Ident(ident) if ident == "ktest" => {
                let bang =
                    matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if let (true, Some(TokenTree::Group(body))) = (bang, tokens.get(i + 2)) {
                    count += body
                        .stream()
                        .into_iter()
                        .filter(|t| matches!(t, TokenTree::Ident(f) if f == "fn"))
                        .count();
                }
            }
            TokenTree::Group(group) => count += count_in_tokens(group.stream()),
            _ => {}
        }
    }
    count
}

/// Counts the in-kernel tests declared under each of `dirs` (every `.rs` file, recursively).
pub fn count_in_tree(dirs: &[&Path]) -> Result<usize, String> {
    let mut total = 0;
    let mut stack: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
            stack.extend(entries.flatten().map(|e| e.path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("read {}: {e}", path.display()))?;
            total += count_in_source(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(total)
}

/// Reads `ktest: N registered, M selected` from the console.
pub fn registered_and_selected(output: &str) -> Option<(usize, usize)> {
    output.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("ktest: ")?;
        let (registered, selected) = rest.split_once(" registered, ")?;
        Some((registered.parse().ok()?, selected.strip_suffix(" selected")?.parse().ok()?))
    })
}

/// Judges an unfiltered run's console text and exit status against `in_source` tests.
pub fn judge(output: &str, succeeded: bool, in_source: usize) -> Result<String, String> {
    judge_selection(output, succeeded, in_source, in_source)
}

/// Judges a run with a `ktest.filter`: the kernel must have registered `in_source` tests,
/// selected `expected_selected` of them (as many as the filtered part of the source
/// declares), and every selected one must pass.
pub fn judge_selection(
    output: &str,
    succeeded: bool,
    in_source: usize,
    expected_selected: usize,
) -> Result<String, String> {
    let (registered, selected) =
        registered_and_selected(output).ok_or("no 'ktest: N registered, M selected' line")?;
    if registered != in_source {
        return Err(format!(
            "the source declares {in_source} in-kernel tests but the kernel registered \
             {registered} (a test module not compiled in, or dropped at link time?)"
        ));
    }
    if selected != expected_selected {
        return Err(format!(
            "{selected} of {registered} tests selected, expected {expected_selected} (a \
             ktest.filter?)"
        ));
    }
    let (passed, failed) = ktest_counts(output).ok_or("no 'N passed, N failed' line")?;
    if failed != 0 || passed != selected {
        return Err(format!("{passed} passed, {failed} failed of {selected} selected"));
    }
    if !succeeded {
        return Err(format!(
            "all {passed} passed, but the kernel did not power off with the success status"
        ));
    }
    Ok(format!(
        "{passed} of {selected} selected passed ({registered} registered, as many as the source \
         declares), 0 failed"
    ))
}

/// The end-to-end IOMMU test (`ostd/src/bus/virtio/tests.rs`): a virtio-blk descriptor at
/// a private frame must fault in the IOMMU.
pub const IOMMU_FAULT_TEST: &str =
    "iommu_blocks_a_virtio_blk_read_into_a_private_frame_and_the_reset_device_recovers";
/// How the kernel logs each DMA fault the IOMMU reports (`ostd/src/iommu/fault.rs`).
pub const IOMMU_FAULT_LOG: &str = "IOMMU: DMA fault: device ";

/// Checks a run behind intel-iommu (`ktest.iommu=on`) for the fault test's own evidence, on
/// top of [`judge_selection`]: the test ran and passed rather than skipping, and the kernel
/// logged the DMA fault it provoked. A run that passes only by skipping it fails here.
pub fn judge_iommu_fault(output: &str) -> Result<(), String> {
    let test_line = |suffix: &str| {
        output.lines().any(|l| {
            l.trim()
                .strip_prefix("ktest ")
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(|path| path.rsplit("::").next() == Some(IOMMU_FAULT_TEST))
        })
    };
    if !test_line(" ok") {
        return Err(format!("the IOMMU fault test ({IOMMU_FAULT_TEST}) did not pass"));
    }
    if output.lines().any(|l| l.contains("skipped: the IOMMU is off")) {
        return Err("an IOMMU test skipped: the IOMMU is off".into());
    }
    if !output.lines().any(|l| l.contains(IOMMU_FAULT_LOG)) {
        return Err(format!("no '{IOMMU_FAULT_LOG}...' line: the IOMMU logged no DMA fault"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "
macro_rules! ktest { ($(fn $name:ident() $body:block)*) => {} }
/// Not a test: `ktest! { fn doc() {} }` in a comment.
crate::ktest! {
    fn one() { let f = |x: u8| x; fn inner() {} }
    fn two() { let s = \"fn three() {}\"; }
}
mod nested {
    ostd::ktest! {
        fn four() {}
    }
}
";

    #[test]
    fn counts_test_functions_not_nested_items_strings_or_the_definition() {
        // `inner` is an item inside a test body, not a test.
        assert_eq!(count_in_source(SOURCE), Ok(3));
        assert!(
            count_in_source("ktest! { fn a() { }").is_err(),
            "a file that does not lex is an error"
        );
    }

    const RUN: &str = "banner\nktest: 3 registered, 3 selected\nktest a::one ...\nktest a::one ok\n\
        3 passed, 0 failed\n";

    #[test]
    fn every_registered_test_must_pass_and_match_the_source() {
        assert!(judge(RUN, true, 3).is_ok());
        assert!(judge(RUN, true, 4).unwrap_err().contains("source declares 4"));
        assert!(judge(RUN, false, 3).unwrap_err().contains("success status"));
        assert!(judge(&RUN.replace("3 passed, 0 failed", "2 passed, 1 failed"), true, 3).is_err());
        assert!(
            judge(&RUN.replace("3 passed, 0 failed", "2 passed, 0 failed"), true, 3)
                .unwrap_err()
                .contains("2 passed"),
            "a test that vanished mid-run"
        );
        assert!(
            judge(&RUN.replace("3 selected", "1 selected"), true, 3)
                .unwrap_err()
                .contains("selected")
        );
        assert!(
            judge("3 passed, 0 failed\n", true, 3).unwrap_err().contains("registered"),
            "no count line"
        );
        assert!(judge("ktest: 3 registered, 3 selected\n", true, 3).is_err(), "no summary");
    }

    #[test]
    fn an_iommu_run_must_show_the_fault_test_passing_and_the_fault_logged() {
        let test = format!("ostd::bus::virtio::tests::{IOMMU_FAULT_TEST}");
        let run = format!(
            "ktest {test} ...\n[    0.045] WARN  IOMMU: DMA fault: device 00:03.0 write at \
             0x46d000: reason 0x5 (page not writable)\nktest {test} ok\n"
        );
        assert_eq!(judge_iommu_fault(&run), Ok(()));
        let failed = run.replace(&format!("{test} ok"), &format!("{test} FAILED"));
        assert!(judge_iommu_fault(&failed).unwrap_err().contains("did not pass"));
        assert!(judge_iommu_fault("").unwrap_err().contains("did not pass"), "never ran");
        let other = run.replace(&format!("{test} ok"), &format!("{test}_too ok"));
        assert!(judge_iommu_fault(&other).is_err(), "another test's line");
        let skipped = format!("ktest {IOMMU_FAULT_TEST}: skipped: the IOMMU is off\n{run}");
        assert!(judge_iommu_fault(&skipped).unwrap_err().contains("skipped"));
        let no_fault = run.replace("IOMMU: DMA fault", "IOMMU: fault");
        assert!(judge_iommu_fault(&no_fault).unwrap_err().contains("no DMA fault"));
    }

    #[test]
    fn the_tree_declares_at_least_one_test_per_file_that_invokes_the_macro() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dirs = [root.join("ostd/src"), root.join("kernel/src")];
        let total = count_in_tree(&[&dirs[0], &dirs[1]]).unwrap();
        let grep = std::process::Command::new("grep")
            .args(["-rlE", "^(crate|ostd)::ktest! \\{"])
            .args(&dirs)
            .output()
            .unwrap();
        let files = String::from_utf8_lossy(&grep.stdout).lines().count();
        assert!(
            files > 0 && total >= files,
            "{total} tests counted in {files} files that invoke ktest!"
        );
        println!("{total} in-kernel tests in {files} files");
    }
}
