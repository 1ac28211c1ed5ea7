//! Development tools for trying the service flow without a TEE: simulated evidence bound to
//! a nonce, a guest key pair, and opening the sealed resource.
//!
//! ```sh
//! attest guest-key --out guest.key > runtime-data.json   # the JWK is the runtime data
//! attest sim-evidence --nonce "$NONCE" --runtime-data runtime-data.json > evidence.json
//! attest open-jwe --key guest.key resource.jwe
//! ```
//! The evidence is signed by the published development key (`tee_abi::sim`), so only a
//! service started with `--allow-sim` and a policy with `"allow_simulated": true` accepts it.
//! `guest.key` holds the raw 32-byte P-256 private scalar: a development format, not for
//! keys that matter.

use std::io::Write as _;
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::json;

use crate::binding::expected_report_data;
use crate::cli::inputs::read_flag_file;
use crate::cli::{EXIT_BAD_INPUT, EXIT_DENIED};
use crate::release::jwe::{generate_guest_key, open_jwe};
use crate::sim::sign_sim_report;

/// Arguments of `attest sim-evidence`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimEvidenceArgs {
    /// The challenge nonce, exactly as `POST /challenge` returned it.
    #[arg(long)]
    pub nonce: String,
    /// File whose bytes are the runtime data (e.g. the JWK `attest guest-key` prints).
    #[arg(long = "runtime-data")]
    pub runtime_data: Option<PathBuf>,
    /// The simulated launch measurement, 96 hex digits (default: 48 bytes of 0x00).
    #[arg(long)]
    pub measurement: Option<String>,
    /// Mark the simulated guest as running in debug mode.
    #[arg(long)]
    pub debug: bool,
}

/// Prints evidence JSON for `POST /attest`; returns the exit code.
pub fn run_sim_evidence(args: &SimEvidenceArgs) -> i32 {
    let runtime_data = match &args.runtime_data {
        Some(p) => match read_flag_file(p, "--runtime-data") {
            Ok(b) => b,
            Err(e) => return bad(&e),
        },
        None => Vec::new(),
    };
    let mut measurement = [0u8; 48];
    if let Some(hex_text) = &args.measurement {
        match hex::decode(hex_text.trim()) {
            Ok(b) if b.len() == 48 => measurement.copy_from_slice(&b),
            Ok(b) => return bad(&format!("--measurement: {} bytes; 48 are needed", b.len())),
            Err(e) => return bad(&format!("--measurement: not hex: {e}")),
        }
    }
    let report_data = expected_report_data(args.nonce.as_bytes(), &runtime_data);
    let report = sign_sim_report(&measurement, &report_data, args.debug);
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = json!({"tee": "sim", "evidence": b64.encode(report), "nonce": args.nonce,
                     "runtime_data": b64.encode(&runtime_data)});
    println!("{doc}");
    0
}

/// Arguments of `attest guest-key`.
#[derive(Debug, Clone, clap::Args)]
pub struct GuestKeyArgs {
    /// Where to write the private key (raw 32-byte P-256 scalar; refuses to overwrite).
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes a fresh guest private key and prints its public JWK; returns the exit code.
pub fn run_guest_key(args: &GuestKeyArgs) -> i32 {
    let (secret, public) = match generate_guest_key() {
        Ok(k) => k,
        Err(e) => return failed(&e.to_string()),
    };
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&args.out);
    let written = file.and_then(|mut f| f.write_all(&secret.to_bytes()));
    if let Err(e) = written {
        return bad(&format!("--out {}: {e}", args.out.display()));
    }
    println!("{}", public.to_jwk());
    0
}

/// Arguments of `attest open-jwe`.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenJweArgs {
    /// The guest private key `attest guest-key` wrote.
    #[arg(long)]
    pub key: PathBuf,
    /// The JWE a resource request returned.
    pub jwe: PathBuf,
}

/// Decrypts a resource JWE to stdout; returns the exit code (1 if it does not open).
pub fn run_open_jwe(args: &OpenJweArgs) -> i32 {
    let key = match read_flag_file(&args.key, "--key") {
        Ok(k) => k,
        Err(e) => return bad(&e),
    };
    let Ok(secret) = p256::SecretKey::from_slice(&key) else {
        return bad(&format!(
            "--key {}: {} bytes, not a 32-byte P-256 scalar from `attest guest-key`",
            args.key.display(),
            key.len()
        ));
    };
    let jwe = match read_flag_file(&args.jwe, "JWE").map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return bad(&format!("{}: not JSON: {e}", args.jwe.display())),
        Err(e) => return bad(&e),
    };
    match open_jwe(&jwe, &secret) {
        Ok(plain) => match std::io::stdout().write_all(&plain) {
            Ok(()) => 0,
            Err(e) => failed(&e.to_string()),
        },
        Err(e) => failed(&format!("{}: {e}", args.jwe.display())),
    }
}

fn bad(msg: &str) -> i32 {
    eprintln!("attest: bad input: {msg}");
    EXIT_BAD_INPUT
}

fn failed(msg: &str) -> i32 {
    eprintln!("attest: {msg}");
    EXIT_DENIED
}
