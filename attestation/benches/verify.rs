//! `cargo bench -p attestation`: verifications per second per core for one TDX quote and one
//! SNP report — this crate's full path beside `dcap-qvl` alone and `sev` alone on the same
//! input — then p50/p99 latency of `POST /attest` under a bounded loopback load.
//!
//! Knobs (environment): `BENCH_SECS` per single-core measurement (default 3),
//! `BENCH_LOAD_SECS` for the load phase (default 30), `BENCH_CONC` concurrent clients
//! (default 4). The load phase talks only to 127.0.0.1 and stops by itself.
#![forbid(unsafe_code)]

#[path = "../tests/common/http.rs"]
#[allow(dead_code, reason = "the benchmark uses only the server helpers")]
mod http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use attestation::appraisal::{Policy, ReferenceValues};
use attestation::serve::{AppState, Metrics, router};
use attestation::snp::{certs_from_path, verify_snp_report};
use attestation::tdx::{INTEL_SGX_ROOT_CA_DER, TdxCollateral, verify_tdx_quote};
use attestation::time::VerificationTime;
use attestation::token::{NonceIssuer, TokenSigner};
use base64::Engine as _;
use sev::certs::snp::{Certificate, Chain, Verifiable, ca};
use sev::parser::ByteParser;

/// A file under `shared/vectors/`, or under `COCOON_VECTORS` if set (see `tests/common`).
fn vector(rel: &str) -> std::path::PathBuf {
    std::env::var_os("COCOON_VECTORS")
        .map_or_else(
            || {
                std::path::PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/vectors"
                ))
            },
            std::path::PathBuf::from,
        )
        .join(rel)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `f` repeatedly for `secs` on this thread; prints and returns operations per second.
fn rate(name: &str, secs: u64, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        f();
        n += 1;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!("{name:<44} {per_sec:>10.1} verifications/s/core ({n} runs)");
    per_sec
}

fn main() {
    let secs = env_u64("BENCH_SECS", 3);
    let tdx_at = VerificationTime::parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
    let snp_at = VerificationTime::parse_rfc3339("2025-06-01T00:00:00Z").unwrap();

    let quote = std::fs::read(vector("tdx/dcap-qvl/tdx_quote")).unwrap();
    let collateral =
        TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let quote_only = tee::tdx::QuoteBytes::new_checked(&quote[..]).unwrap().quote_bytes().to_vec();
    println!("== TDX quote tdx/dcap-qvl/tdx_quote");
    rate("attestation::tdx::verify_tdx_quote", secs, || {
        verify_tdx_quote(&quote, &collateral, tdx_at).unwrap();
    });
    let dcap = dcap_qvl::verify::QuoteVerifier::new(INTEL_SGX_ROOT_CA_DER.to_vec());
    rate("dcap_qvl QuoteVerifier::verify alone", secs, || {
        dcap.verify(&quote_only, collateral.as_dcap(), tdx_at.unix()).unwrap();
    });

    let report = std::fs::read(vector("snp/trustee/test-report.bin")).unwrap();
    let certs = certs_from_path(&vector("snp/trustee/test-vcek.der")).unwrap();
    println!("== SNP report snp/trustee/test-report.bin (VCEK, Milan; ARK+ASK+VCEK+report)");
    rate("attestation::snp::verify_snp_report", secs, || {
        verify_snp_report(&report, &certs, snp_at).unwrap();
    });
    let chain = Chain {
        ca: ca::Chain {
            ark: Certificate::from_pem(include_bytes!("../roots/amd-milan-ark.pem")).unwrap(),
            ask: Certificate::from_pem(include_bytes!("../roots/amd-milan-ask.pem")).unwrap(),
        },
        vek: Certificate::from_der(&std::fs::read(vector("snp/trustee/test-vcek.der")).unwrap())
            .unwrap(),
    };
    rate("sev (&Chain, &AttestationReport).verify alone*", secs, || {
        let r = sev::firmware::guest::AttestationReport::from_bytes(&report).unwrap();
        (&chain, &r).verify().unwrap();
    });

    println!(
        "  * sev checks ARK->ARK, ARK->ASK, ASK->VCEK and the report each time; this crate checks"
    );
    println!(
        "    the ARK links once when its built-in roots load, so it does ASK->VCEK and the report."
    );
    load(&report, snp_at);
}

/// Serves in-process on loopback and drives `POST /challenge` + `POST /attest` (the SNP
/// report, fully verified, then denied only because its report data cannot bind the fresh
/// nonce) from `BENCH_CONC` client threads for `BENCH_LOAD_SECS`.
fn load(report: &[u8], at: VerificationTime) {
    let load_secs = env_u64("BENCH_LOAD_SECS", 30);
    let conc = env_u64("BENCH_CONC", 4) as usize;
    let state = Arc::new(AppState {
        signer: TokenSigner::generate().unwrap(),
        nonces: NonceIssuer::new(b"bench", 300, 10_000_000),
        policy: Policy::default(),
        refs: ReferenceValues::default(),
        collateral: None,
        certs: certs_from_path(&vector("snp/trustee/test-vcek.der")).unwrap(),
        crls: Vec::new(),
        allow_sim: false,
        resource_dir: None,
        resource_policy: None,
        token_lifetime: 300,
        verify_at: Some(at),
        metrics: Metrics::default(),
    });
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    rt.spawn(async move { axum::serve(listener, router(state, 256 * 1024)).await });

    let evidence = base64::engine::general_purpose::STANDARD.encode(report);
    let deadline = Instant::now() + Duration::from_secs(load_secs);
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (addr, evidence) = (addr.clone(), evidence.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let nonce =
                        http::request(&addr, "POST", "/challenge", &[], b"").json()["nonce"]
                            .as_str()
                            .unwrap()
                            .to_owned();
                    let body =
                        serde_json::json!({"tee": "snp", "evidence": evidence, "nonce": nonce})
                            .to_string();
                    let t = Instant::now();
                    let r = http::request(
                        &addr,
                        "POST",
                        "/attest",
                        &[("Content-Type", "application/json")],
                        body.as_bytes(),
                    );
                    lat.push(t.elapsed());
                    assert_eq!(r.status, 403, "denied only for the unbound nonce");
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "== POST /attest, SNP report, {conc} clients, {load_secs} s on loopback (2 server threads)"
    );
    println!(
        "requests {}  throughput {:.1}/s  p50 {:?}  p99 {:?}",
        lat.len(),
        lat.len() as f64 / load_secs as f64,
        pct(0.50),
        pct(0.99)
    );
    rt.shutdown_background();
}
