//! Bad input never panics and is never accepted: truncations of every vector, and random
//! bytes shaped to pass format detection, go through detection and verification.
#![forbid(unsafe_code)]

mod common;

use attestation::evidence::Evidence;
use attestation::snp::certs_from_path;
use attestation::tdx::TdxCollateral;
use attestation::verifier::{VerifyOptions, verify_evidence};
use common::{at, read, vector};

const FILES: &[&str] = &[
    "tdx/dcap-qvl/tdx_quote",
    "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
    "ccel/go-tdx-guest/cos-113-tdx-quote.dat",
    "snp/trustee/test-report.bin",
    "snp/trustee/test-vlek-report.bin",
    "snp/virtee-sev/report_milan.hex",
    "snp/veraison/sevsnp-tsm-report.json",
];

fn check(bytes: &[u8], opts: VerifyOptions<'_>) {
    if let Ok(e) = Evidence::detect(bytes) {
        assert!(verify_evidence(&e, opts).is_err(), "accepted {} bytes", bytes.len());
    }
}

#[test]
fn every_vector_truncated_at_many_lengths_is_rejected_without_panicking() {
    let c = TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let certs = certs_from_path(&vector("snp/trustee")).unwrap();
    let opts = VerifyOptions {
        collateral: Some(&c),
        extra_certs: &certs,
        extra_crls: &[],
        at: at("2025-07-01T00:00:00Z"),
        allow_sim: true,
    };
    for f in FILES {
        let b = read(f);
        // A TDX quote file's trailing bytes are not part of the quote: cutting them off
        // leaves a valid quote, so only cuts inside the quote must fail.
        let whole =
            tee::tdx::QuoteBytes::new_checked(&b[..]).map_or(b.len(), |q| q.quote_bytes().len());
        for len in (0..b.len().min(6000)).step_by(17).chain([1183, 1185, whole - 1]) {
            if len < whole && !(f.ends_with(".hex") || f.ends_with(".json")) {
                check(&b[..len], opts);
            } else if len < b.len() {
                let _ = Evidence::detect(&b[..len]);
            }
        }
    }
}

#[test]
fn random_bytes_shaped_like_evidence_are_rejected_without_panicking() {
    let c = TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let opts = VerifyOptions {
        collateral: Some(&c),
        extra_certs: &[],
        extra_crls: &[],
        at: at("2025-07-01T00:00:00Z"),
        allow_sim: true,
    };
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let len = match round % 3 {
            0 => 1184,
            1 => 632 + (next() % 5000) as usize,
            _ => (next() % 300) as usize,
        };
        let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 1 {
            b[..8].copy_from_slice(&[4, 0, 2, 0, 0x81, 0, 0, 0]);
        } else if round % 3 == 0 {
            b[..4].copy_from_slice(&[2, 0, 0, 0]);
        }
        check(&b, opts);
    }
}
