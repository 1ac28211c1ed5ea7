//! deploy/k8s/attest.yaml against Kubernetes' own schemas: `kubernetes-validate` (from PyPI,
//! with the schemas bundled, so no cluster and no network beyond the package index),
//! strict, for Kubernetes 1.30. A copy with one field made wrong must fail, so the check
//! cannot pass by validating nothing; and every `--flag` the Deployment gives `attest
//! serve` must be one `attest serve --help` lists.

use std::path::Path;
use std::process::Command;

/// The validator release used.
const VALIDATOR: &str = "kubernetes-validate==1.37.0";
/// The Kubernetes version the manifests are checked against.
const KUBERNETES: &str = "1.30.0";
/// The manifests.
const MANIFESTS: &str = "deploy/k8s/attest.yaml";

/// Runs the checks; `scratch` holds the validator's virtualenv and the broken copy.
pub fn check(scratch: &Path) -> Result<String, String> {
    let venv = std::path::absolute(scratch.join("k8s-venv")).map_err(|e| e.to_string())?;
    let validate = venv.join("bin/kubernetes-validate");
    if !validate.exists() {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        if !made.is_ok_and(|s| s.success()) {
            return Err(format!("python3 -m venv {} failed", venv.display()));
        }
        let pip = Command::new(venv.join("bin/pip")).args(["install", "-q", VALIDATOR]).output();
        match pip {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "pip install {VALIDATOR}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Err(e) => return Err(format!("pip: {e}")),
        }
    }
    let run = |file: &Path| {
        Command::new(&validate)
            .args(["--strict", "-k", KUBERNETES])
            .arg(file)
            .output()
            .map_err(|e| format!("{}: {e}", validate.display()))
    };
    let out = run(Path::new(MANIFESTS))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let passed = text.lines().filter(|l| l.contains(" passed for resource ")).count();
    if !out.status.success() || passed == 0 {
        return Err(format!("{MANIFESTS} does not validate:\n{text}"));
    }
    // The same file with one field of the wrong type must be refused.
    let manifests = std::fs::read_to_string(MANIFESTS).map_err(|e| format!("{MANIFESTS}: {e}"))?;
    let broken = scratch.join("attest-broken.yaml");
    std::fs::write(&broken, manifests.replace("replicas: 3", "replicas: three"))
        .map_err(|e| e.to_string())?;
    if run(&broken)?.status.success() {
        return Err("a Deployment with `replicas: three` passed the validator".into());
    }
    // Every flag the Deployment passes is one attest serve has.
    let help = Command::new("cargo")
        .args(["run", "-q", "-p", "attestation", "--bin", "attest", "--", "serve", "--help"])
        .output()
        .map_err(|e| format!("attest serve --help: {e}"))?;
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let flags: Vec<&str> = manifests
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|f| f.split('=').next().unwrap_or(f))
        .collect();
    let unknown: Vec<&&str> = flags.iter().filter(|f| !help.contains(&format!("--{f}"))).collect();
    if flags.is_empty() || !unknown.is_empty() {
        return Err(format!("flags attest serve does not have: {unknown:?} (of {flags:?})"));
    }
    Ok(format!(
        "{passed} resources valid for Kubernetes {KUBERNETES} ({VALIDATOR}, strict); a wrong field \
         is refused; the Deployment's {} flags are attest serve's",
        flags.len()
    ))
}
