//! Evidence from the simulated TEE, checked on the host by the verifier.
//!
//! The in-kernel tests of `ostd/src/tee` (booted with `tee=sim`) extend a measurement
//! register, take a report, and print it (`sim-evidence report HEX`) with the registers as
//! the guest sees them (`sim-evidence registers HEX`). Here `attest verify --allow-sim` (the
//! real CLI) must affirm that report, and its measurements must be what the guest did,
//! computed here independently: the launch measurement is SHA-384 of the command line the
//! guest booted with, and register 1 went from zero to SHA-384(0^48 ‖ 0x11^48).

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha384};

/// Finds the report in `console` (the tee ktests' output under `cmdline`), has the verifier
/// check it, and compares what it says with what the guest did. Returns a summary.
pub fn check(console: &str, cmdline: &str, scratch: &Path) -> Result<String, String> {
    let line = |tag: &str| {
        console
            .lines()
            .find_map(|l| l.trim_end().strip_prefix(tag).map(str::to_string))
            .ok_or_else(|| format!("the guest printed no `{tag}` line"))
    };
    let report = hex::decode(line("sim-evidence report ")?).map_err(|e| format!("report: {e}"))?;
    let registers = line("sim-evidence registers ")?;
    let evidence = scratch.join("sim-evidence.json");
    let policy = scratch.join("sim-policy.json");
    let doc = serde_json::json!({
        "tee": "sim",
        "evidence": base64::engine::general_purpose::STANDARD.encode(&report),
    });
    std::fs::write(&evidence, doc.to_string()).map_err(|e| format!("write evidence: {e}"))?;
    std::fs::write(&policy, r#"{"allow_simulated": true}"#)
        .map_err(|e| format!("write policy: {e}"))?;
    let out = Command::new("cargo")
        .args(["run", "-q", "-p", "attestation", "--bin", "attest", "--", "verify"])
        .arg("--evidence")
        .arg(&evidence)
        .arg("--policy")
        .arg(&policy)
        .args(["--allow-sim", "--json"])
        .output()
        .map_err(|e| format!("cannot run attest: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let verdict: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!("attest printed no verdict ({e}): {text} {}", String::from_utf8_lossy(&out.stderr))
    })?;
    if !out.status.success() || verdict["status"] != "affirming" {
        return Err(format!("attest verify did not affirm the guest's report: {text}"));
    }
    let measurements = &verdict["measurements"];
    let said = |name: &str| measurements[name].as_str().unwrap_or_default().to_string();
    let launch = hex::encode(Sha384::digest(cmdline.as_bytes()));
    if said("measurement") != launch {
        return Err(format!(
            "launch measurement {} is not SHA-384 of the command line {cmdline:?} ({launch})",
            said("measurement")
        ));
    }
    let rtmrs: String = ["rtmr0", "rtmr1", "rtmr2", "rtmr3"].iter().map(|n| said(n)).collect();
    if rtmrs != registers {
        return Err(format!("the report's registers {rtmrs} are not the guest's {registers}"));
    }
    let rtmr1 =
        hex::encode(Sha384::new().chain_update([0u8; 48]).chain_update([0x11u8; 48]).finalize());
    if said("rtmr1") != rtmr1 {
        return Err(format!("rtmr1 is {}, not SHA-384(0^48 ‖ 0x11^48) = {rtmr1}", said("rtmr1")));
    }
    Ok(format!("a {}-byte report affirmed by attest verify --allow-sim", report.len()))
}
