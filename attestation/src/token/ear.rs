//! EAR-style claims (IETF draft "EAT Attestation Results", as Veraison issues them) for a
//! verdict.
//!
//! ```json
//! {"eat_profile": "tag:github.com,2023:veraison/ear", "iat": .., "exp": .., "eat_nonce": "..",
//!  "ear.verifier-id": {"developer": "..", "build": "attestation 0.1.0"},
//!  "submods": {"tdx": {"ear.status": "affirming" | "contraindicated",
//!     "x-attest.simulated": false, "x-attest.tcb_status": "UpToDate",
//!     "x-attest.claims": [{name, expected, observed, passed}..],
//!     "x-attest.measurements": {"mr_td": "..", ..},
//!     "x-attest.reference": "build-A", "x-attest.runtime_data": "<base64url>"}}}
//! ```
//! Deviation from EAR: there is no trustworthiness vector; the per-claim list carries the
//! same information with expected and observed values. Extensions use the `x-attest.` prefix.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::appraisal::{Status, Verdict};
use crate::evidence::TeeKind;
use crate::time::VerificationTime;

/// The EAR profile this service emits.
pub const EAR_PROFILE: &str = "tag:github.com,2023:veraison/ear";

/// Builds the claims of a token for `verdict`, valid from `now` for `lifetime_secs`.
pub fn ear_claims(
    verdict: &Verdict,
    nonce: Option<&str>,
    runtime_data: &[u8],
    now: VerificationTime,
    lifetime_secs: u64,
) -> Value {
    let status = match verdict.status {
        Status::Affirming => "affirming",
        Status::Denied => "contraindicated",
    };
    let submod = match verdict.tee {
        Some(TeeKind::Tdx) => "tdx",
        Some(TeeKind::Snp) => "snp",
        Some(TeeKind::Sim) => "sim",
        None => "unknown",
    };
    let mut claims = json!({
        "eat_profile": EAR_PROFILE,
        "iat": now.unix(),
        "exp": now.plus_secs(lifetime_secs).unix(),
        "ear.verifier-id": {
            "developer": "attestation verifier",
            "build": concat!("attestation ", env!("CARGO_PKG_VERSION"))
        },
        "submods": {submod: {
            "ear.status": status,
            "x-attest.simulated": verdict.simulated,
            "x-attest.tcb_status": verdict.tcb_status,
            "x-attest.claims": verdict.claims,
            "x-attest.measurements": verdict.measurements,
            "x-attest.reference": verdict.closest_reference,
            "x-attest.runtime_data":
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(runtime_data),
        }},
    });
    if let Some(n) = nonce {
        claims["eat_nonce"] = json!(n);
    }
    claims
}

/// Returns `(status, simulated)` of the single submodule in EAR claims.
pub fn ear_status(claims: &Value) -> Option<(&str, bool)> {
    let (_, sub) = claims["submods"].as_object()?.iter().next()?;
    Some((sub["ear.status"].as_str()?, sub["x-attest.simulated"].as_bool().unwrap_or(true)))
}
