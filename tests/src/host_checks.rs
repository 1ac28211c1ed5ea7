//! The checks `make test` runs on the host crates before it boots anything: their tests,
//! their formatting and clippy.

use std::process::Command;

/// `cargo test` over the host crates (the workspace but the kernel and ostd).
pub fn host_tests() -> Result<String, String> {
    let status = Command::new("cargo")
        .args(["test", "-q", "--workspace", "--exclude", "kernel", "--exclude", "ostd"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    status
        .success()
        .then(|| "all passed".to_string())
        .ok_or_else(|| format!("cargo test exited with {status}"))
}

/// The tree is formatted as `rustfmt.toml` says (lines up to 100 columns).
pub fn formatting() -> Result<String, String> {
    let out = Command::new("cargo")
        .args(["fmt", "--all", "--check"])
        .output()
        .map_err(|e| format!("cannot run cargo fmt: {e}"))?;
    if out.status.success() {
        return Ok("the tree is formatted".to_string());
    }
    let diff = String::from_utf8_lossy(&out.stdout);
    let files: Vec<&str> =
        diff.lines().filter_map(|l| l.strip_prefix("Diff in ")).take(10).collect();
    Err(format!(
        "cargo fmt --all --check exited with {} (run `cargo fmt --all`): {}{}",
        out.status,
        files.join("; "),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// The host crates pass clippy's default lints and the workspace's own (`[workspace.lints]` in
/// Cargo.toml) with no warning: every target of the default members, then tee, ext2,
/// tee-abi and guest-image without the host crates, which checks them as the no_std
/// libraries they are (in the workspace run other crates turn on their `std` features), then
/// OSTD and the kernel (clippy's default set: they are not in `[workspace.lints]`). The same
/// runs as `make clippy`.
pub fn clippy() -> Result<String, String> {
    let host = ["--workspace", "--exclude", "kernel", "--exclude", "ostd", "--all-targets"];
    // The four no_std libraries in one run: none turns on another's `std` feature, so together
    // each is still checked as the no_std library it is.
    let no_std_libs = ["-p", "tee", "-p", "ext2", "-p", "tee-abi", "-p", "guest-image", "--lib"];
    let runs: [&[&str]; 3] = [
        &host,
        &no_std_libs,
        // The kernel and OSTD: clippy's default set, with the same -D warnings.
        &["-p", "ostd", "-p", "kernel"],
    ];
    for run in runs {
        let out = Command::new("cargo")
            .args(["clippy", "-q", "--message-format=short"])
            .args(run)
            .args(["--", "-D", "warnings"])
            .output()
            .map_err(|e| format!("cannot run cargo clippy: {e}"))?;
        if out.status.success() {
            continue;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("no such command") {
            return Err("clippy is not installed (rustup component add clippy)".to_string());
        }
        // Short-format diagnostics are one line each: `path:line:col: error: message`.
        // A file shared by several targets reports the same finding more than once.
        let mut found: Vec<&str> = Vec::new();
        for line in stderr.lines().filter(|l| l.contains(": error: ")) {
            if !found.contains(&line) {
                found.push(line);
            }
        }
        let shown = if found.is_empty() { vec![stderr.trim()] } else { found };
        return Err(format!(
            "cargo clippy {} -- -D warnings exited with {} ({} finding(s); first ones):\n      {}",
            run.join(" "),
            out.status,
            shown.len(),
            shown.iter().take(10).copied().collect::<Vec<_>>().join("\n      ")
        ));
    }
    Ok("no warnings".to_string())
}
