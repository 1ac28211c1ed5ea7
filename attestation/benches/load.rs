//! `cargo bench -p attestation --bench load`: the whole chain a guest walks, under a bounded
//! loopback load: KBS `POST /kbs/v0/auth` → a simulated report binding the nonce and a fresh
//! guest key → `POST /kbs/v0/attest` → `GET /kbs/v0/resource/..` → the JWE opened with the
//! key and compared with the secret. Any refusal or wrong secret counts as an error.
//!
//! Knobs (environment): `BENCH_LOAD_SECS` per concurrency (default 30),
//! `BENCH_LOAD_CONC` the concurrencies (default `1,8,32`). The server runs in-process on
//! 127.0.0.1 with 2 worker threads (the CI machine's cores); the clients are threads too,
//! so the figures are for one 2-core machine doing both sides.
#![forbid(unsafe_code)]

#[path = "../tests/common/http.rs"]
#[allow(dead_code, reason = "the benchmark uses only the request helper")]
mod http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use attest_client::binding::expected_report_data;
use attest_client::jwe::GuestKey;
use attest_client::kbs::runtime_data_bytes;
use attestation::appraisal::{Policy, ReferenceValues};
use attestation::release::ResourcePolicy;
use attestation::serve::{AppState, Metrics, router};
use attestation::sim::sign_sim_report;
use attestation::token::{NonceIssuer, TokenSigner};
use base64::Engine as _;
use kbs_types::{Attestation, CompositeEvidence, RuntimeData};
use serde_json::json;

const SECRET: &[u8] = b"the secret";

fn main() {
    let secs: u64 =
        std::env::var("BENCH_LOAD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let concs: Vec<usize> = std::env::var("BENCH_LOAD_CONC")
        .unwrap_or_else(|_| "1,8,32".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let dir = std::env::temp_dir().join(format!("attest-load-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("default/key")).unwrap();
    std::fs::write(dir.join("default/key/secret"), SECRET).unwrap();
    let rules = r#"{"rules": [{"resource": "default/key/secret", "allow_simulated": true}]}"#;
    let state = Arc::new(AppState {
        signer: TokenSigner::generate().unwrap(),
        nonces: NonceIssuer::new(b"bench nonce key, 32 bytes or more", 300, 10_000_000),
        policy: Policy { allow_simulated: true, ..Policy::default() },
        refs: ReferenceValues::default(),
        collateral: None,
        certs: Vec::new(),
        crls: Vec::new(),
        allow_sim: true,
        resource_dir: Some(dir.clone()),
        resource_policy: Some(ResourcePolicy::from_json(rules).unwrap()),
        token_lifetime: 300,
        verify_at: None,
        metrics: Metrics::default(),
    });
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    rt.spawn(async move { axum::serve(listener, router(state, 256 * 1024)).await });

    println!(
        "== launch → attest → secret (sim evidence, KBS protocol), {secs} s per row, loopback"
    );
    println!(
        "{:>11} {:>7} {:>8} {:>7} {:>11} {:>11} {:>11} {:>11}",
        "concurrency",
        "flows",
        "flows/s",
        "errors",
        "flow p50",
        "flow p99",
        "attest p50",
        "attest p99"
    );
    for conc in concs {
        let began = Instant::now();
        let deadline = began + Duration::from_secs(secs);
        let workers: Vec<_> = (0..conc)
            .map(|_| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let (mut flows, mut attests, mut errors) = (Vec::new(), Vec::new(), 0usize);
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        // The test HTTP helper panics on a reset connection or a non-JSON
                        // body: that is an error of the run, counted, not the end of it.
                        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            flow(&addr, &mut attests)
                        }))
                        .unwrap_or_else(|_| Err("the HTTP exchange failed".into()));
                        match walked {
                            Ok(()) => flows.push(started.elapsed()),
                            Err(e) => {
                                if errors == 0 {
                                    eprintln!("first error: {e}");
                                }
                                errors += 1;
                            }
                        }
                    }
                    (flows, attests, errors)
                })
            })
            .collect();
        let (mut flows, mut attests, mut errors) = (Vec::new(), Vec::new(), 0);
        for w in workers {
            let (f, a, e) = w.join().unwrap();
            flows.extend(f);
            attests.extend(a);
            errors += e;
        }
        let elapsed = began.elapsed().as_secs_f64();
        flows.sort();
        attests.sort();
        let pct = |v: &[Duration], p: f64| {
            let i = ((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1));
            v.get(i).map_or("-".to_owned(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3))
        };
        println!(
            "{conc:>11} {:>7} {:>8.1} {errors:>7} {:>11} {:>11} {:>11} {:>11}",
            flows.len(),
            flows.len() as f64 / elapsed,
            pct(&flows, 0.50),
            pct(&flows, 0.99),
            pct(&attests, 0.50),
            pct(&attests, 0.99)
        );
    }
    rt.shutdown_background();
    let _ = std::fs::remove_dir_all(dir);
}

/// One guest's walk; records the attest call's latency in `attests`.
fn flow(addr: &str, attests: &mut Vec<Duration>) -> Result<(), String> {
    let json = [("Content-Type", "application/json")];
    let auth = json!({"version": "0.4.0", "tee": "sample", "extra-params": {}}).to_string();
    let r = http::request(addr, "POST", "/kbs/v0/auth", &json, auth.as_bytes());
    if r.status != 200 {
        return Err(format!("auth: {}", r.status));
    }
    let nonce = r.json()["nonce"].as_str().ok_or("no nonce")?.to_owned();
    let key = GuestKey::generate();
    let runtime_data = RuntimeData { nonce: nonce.clone(), tee_pubkey: key.tee_pubkey() };
    let report_data = expected_report_data(nonce.as_bytes(), &runtime_data_bytes(&runtime_data));
    let report = sign_sim_report(&[0x5A; 48], &report_data, false);
    let evidence = base64::engine::general_purpose::STANDARD.encode(report);
    let attestation = Attestation {
        init_data: None,
        runtime_data,
        tee_evidence: CompositeEvidence {
            primary_evidence: json!({"tee": "sim", "evidence": evidence}),
            additional_evidence: String::new(),
        },
    };
    let body = serde_json::to_vec(&attestation).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let r = http::request(addr, "POST", "/kbs/v0/attest", &json, &body);
    if r.status == 200 {
        attests.push(t.elapsed());
    } else {
        return Err(format!("attest: {} {}", r.status, String::from_utf8_lossy(&r.body)));
    }
    let token = r.json()["token"].as_str().ok_or("no token")?.to_owned();
    let bearer = format!("Bearer {token}");
    let path = "/kbs/v0/resource/default/key/secret";
    let r = http::request(addr, "GET", path, &[("Authorization", &bearer)], b"");
    if r.status != 200 {
        return Err(format!("resource: {}", r.status));
    }
    match key.open(&r.json()) {
        Ok(secret) if secret == SECRET => Ok(()),
        Ok(_) => Err("the resource opened to another secret".into()),
        Err(e) => Err(format!("the resource does not open: {e}")),
    }
}
