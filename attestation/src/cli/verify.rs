//! `attest verify`: the command-line verifier.

use std::path::PathBuf;

use crate::appraisal::{Status, Verdict, appraise, denied_unverified};
use crate::cli::inputs::{AppraisalInputs, read_flag_file};
use crate::cli::{EXIT_AFFIRMING, EXIT_BAD_INPUT, EXIT_DENIED};
use crate::evidence::Evidence;
use crate::time::VerificationTime;
use crate::verifier::{VerifyOptions, verify_evidence};

/// Arguments of `attest verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Evidence: raw TDX quote, raw SNP report (binary or hex), configfs-tsm JSON, or evidence
    /// JSON.
    #[arg(long)]
    pub evidence: PathBuf,
    /// DCAP collateral: a QuoteCollateralV3 JSON file or a PCCS-shaped directory.
    #[arg(long)]
    pub collateral: Option<PathBuf>,
    /// Reference values: a JSON file or a directory of them.
    #[arg(long = "reference-values")]
    pub reference_values: Option<PathBuf>,
    /// Appraisal policy JSON (default: no debug, TCB status UpToDate only).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Verify at this RFC 3339 time instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    /// SNP: VCEK/VLEK (and optionally ASK/ARK) certificates, a file or a directory; `*.crl`
    /// files (AMD CRLs, DER or PEM) are checked as CRLs.
    #[arg(long)]
    pub certs: Option<PathBuf>,
    /// TDX: a CC event log to replay against the quote's RTMRs.
    #[arg(long = "event-log")]
    pub event_log: Option<PathBuf>,
    /// The nonce the evidence should bind (overrides one in evidence JSON).
    #[arg(long)]
    pub nonce: Option<String>,
    /// Accept simulated evidence (it is still marked simulated, and the policy must allow it).
    #[arg(long = "allow-sim")]
    pub allow_sim: bool,
}

/// Runs `attest verify`, printing to stdout (verdict) and stderr (bad input); returns the
/// exit code.
pub fn run_verify(args: &VerifyArgs) -> i32 {
    match verify_to_verdict(args) {
        Ok(verdict) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&verdict).unwrap_or_default());
            } else {
                print!("{verdict}");
            }
            match verdict.status {
                Status::Affirming => EXIT_AFFIRMING,
                Status::Denied => EXIT_DENIED,
            }
        }
        Err(msg) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "bad_input", "error": msg}));
            }
            eprintln!("attest: bad input: {msg}");
            EXIT_BAD_INPUT
        }
    }
}

/// Loads every input and produces the verdict; `Err` is a bad-input message.
///
/// # Errors
/// A message naming the input that could not be used.
pub fn verify_to_verdict(args: &VerifyArgs) -> Result<Verdict, String> {
    let at = match &args.at {
        Some(t) => VerificationTime::parse_rfc3339(t).map_err(|e| format!("--at: {e}"))?,
        None => VerificationTime::now(),
    };
    let bytes = read_flag_file(&args.evidence, "--evidence")?;
    let mut evidence = Evidence::detect(&bytes)
        .map_err(|e| format!("--evidence {}: {e}", args.evidence.display()))?;
    if let Some(log) = &args.event_log {
        evidence.event_log = Some(read_flag_file(log, "--event-log")?);
    }
    if let Some(n) = &args.nonce {
        evidence.nonce = Some(n.clone());
    }
    let inputs = AppraisalInputs::load(
        args.policy.as_ref(),
        args.reference_values.as_ref(),
        args.collateral.as_ref(),
        args.certs.as_ref(),
    )?;
    let opts = VerifyOptions {
        collateral: inputs.collateral.as_ref(),
        extra_certs: &inputs.certs,
        extra_crls: &inputs.crls,
        at,
        allow_sim: args.allow_sim,
    };
    Ok(match verify_evidence(&evidence, opts) {
        Ok(verified) => appraise(&verified, &evidence, &inputs.policy, &inputs.refs, at),
        Err(e) if e.is_malformed() => {
            return Err(format!("--evidence {}: {e}", args.evidence.display()));
        }
        Err(e) => denied_unverified(Some(&evidence), &e, at),
    })
}
