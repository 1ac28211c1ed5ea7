//! The sweep: for every verifiable vector, every single-byte change in the signed region is
//! rejected with a reason naming what failed, and no change is accepted.
//!
//! (The ccel quote has no collateral in the vectors, so it cannot be verified at all; its
//! event log is swept in `eventlog.rs` instead.)
#![forbid(unsafe_code)]

mod common;

use attestation::snp::{AmdCert, certs_from_path, certs_from_table, verify_snp_report};
use attestation::tdx::{TdxCollateral, TdxError, verify_tdx_quote};
use common::{at, read, vector};
use tee::tsm::TsmReport;

/// Flips one bit in each byte of `0..0x2A0` and checks the verifier names the failure.
fn sweep_snp(report: &[u8], certs: &[AmdCert], when: &str) {
    let t = at(when);
    verify_snp_report(report, certs, t).expect("the unmodified vector verifies");
    for i in 0..0x2A0 {
        let mut m = report.to_vec();
        m[i] ^= 0x01;
        let e = verify_snp_report(&m, certs, t).expect_err(&format!("byte {i:#x} accepted"));
        let text = e.to_string();
        let named = ["signature", "malformed", "signing key", "does not chain", "certifies"];
        assert!(named.iter().any(|n| text.contains(n)), "byte {i:#x}: {text}");
    }
}

/// Flips one bit in each byte of header and body and checks each is rejected.
fn sweep_tdx(quote: &[u8], collateral: &TdxCollateral, when: &str) {
    let t = at(when);
    let signed = tee::tdx::QuoteBytes::new_checked(quote).unwrap().signed_bytes().len();
    for i in 0..signed {
        let mut m = quote.to_vec();
        m[i] ^= 0x01;
        match verify_tdx_quote(&m, collateral, t) {
            Err(TdxError::Parse(_) | TdxError::Invalid { .. }) => {}
            other => panic!("byte {i}: {other:?}"),
        }
    }
}

fn hex_file(rel: &str) -> Vec<u8> {
    let text = String::from_utf8(read(rel)).unwrap();
    hex::decode(text.chars().filter(char::is_ascii_hexdigit).collect::<String>()).unwrap()
}

#[test]
fn sweep_snp_virtee_milan() {
    sweep_snp(
        &hex_file("snp/virtee-sev/report_milan.hex"),
        &certs_from_path(&vector("snp/virtee-sev/vcek_milan.der")).unwrap(),
        "2025-06-01T00:00:00Z",
    );
}

#[test]
fn sweep_snp_trustee_vcek() {
    sweep_snp(
        &read("snp/trustee/test-report.bin"),
        &certs_from_path(&vector("snp/trustee/test-vcek.der")).unwrap(),
        "2025-06-01T00:00:00Z",
    );
}

#[test]
fn sweep_snp_trustee_vlek() {
    sweep_snp(
        &read("snp/trustee/test-vlek-report.bin"),
        &certs_from_path(&vector("snp/trustee/test-vlek.der")).unwrap(),
        "2025-06-01T00:00:00Z",
    );
}

#[test]
fn sweep_snp_veraison_tsm() {
    let tsm = TsmReport::from_json(
        std::str::from_utf8(&read("snp/veraison/sevsnp-tsm-report.json")).unwrap(),
    )
    .unwrap();
    let certs = certs_from_table(&tsm.snp_cert_table().unwrap()).unwrap();
    sweep_snp(&tsm.outblob, &certs, "2025-06-01T00:00:00Z");
}

#[test]
fn sweep_tdx_dcap_qvl() {
    let c = TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    verify_tdx_quote(&read("tdx/dcap-qvl/tdx_quote"), &c, at("2025-07-01T00:00:00Z")).unwrap();
    sweep_tdx(&read("tdx/dcap-qvl/tdx_quote"), &c, "2025-07-01T00:00:00Z");
}

#[test]
fn sweep_tdx_go_tdx_guest() {
    // Unmodified, this quote is authentic but has no matching TCB level (see tdx.rs); every
    // change must turn that into a signature or structure failure instead.
    let c = TdxCollateral::load(&vector("tdx/go-tdx-guest")).unwrap();
    sweep_tdx(&read("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), &c, "2023-07-01T00:00:00Z");
}

#[test]
fn every_snp_vector_is_rejected_before_and_after_its_certificates_are_valid() {
    let cases = [
        ("snp/trustee/test-report.bin", "snp/trustee/test-vcek.der"),
        ("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der"),
    ];
    for (report, cert) in cases {
        let certs = certs_from_path(&vector(cert)).unwrap();
        for when in ["2019-01-01T00:00:00Z", "2060-01-01T00:00:00Z"] {
            let e = verify_snp_report(&read(report), &certs, at(when)).unwrap_err();
            assert!(e.to_string().contains("expired or not yet valid"), "{report} at {when}: {e}");
        }
    }
}
