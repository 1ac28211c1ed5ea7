//! Helpers for driving the `attest` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::vector;

pub const AFFIRMING: i32 = 0;
pub const DENIED: i32 = 1;
pub const BAD_INPUT: i32 = 2;

pub fn attest(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attest")).arg("verify").args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

pub fn v(rel: &str) -> String {
    vector(rel).display().to_string()
}

/// A scratch directory unique to one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attest-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}
