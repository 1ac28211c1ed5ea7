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
    let doc = serde_json::json!({ "tee": "sim", "evidence": base64_of(&report) });
    let verdict = verify_sim(&doc, scratch, "sim-evidence.json")?;
    if !verdict.affirmed {
        return Err(format!("attest verify did not affirm the guest's report: {}", verdict.text));
    }
    let verdict = verdict.json;
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

/// Returns `bytes` in standard base64, as evidence documents carry them.
pub fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What `attest verify` said of a document.
pub struct Verdict {
    /// Whether it exited 0 (affirming, in the CLI's exit codes).
    pub exited_0: bool,
    /// Whether it exited 0 with status `affirming`.
    pub affirmed: bool,
    /// The JSON verdict (`Null` if it printed none).
    pub json: serde_json::Value,
    /// Everything it printed, stdout then stderr.
    pub text: String,
}

/// Runs the real CLI, `attest verify --allow-sim --json`, on the evidence document `doc`
/// (written to `scratch/name`) under a policy that allows simulated evidence.
pub fn verify_sim(doc: &serde_json::Value, scratch: &Path, name: &str) -> Result<Verdict, String> {
    let evidence = scratch.join(name);
    let policy = scratch.join("sim-policy.json");
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    let exited_0 = out.status.success();
    let affirmed = exited_0 && json["status"] == "affirming";
    Ok(Verdict { exited_0, affirmed, json, text })
}
