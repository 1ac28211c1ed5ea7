//! Why SNP report signatures are checked over the received bytes rather than through the
//! `sev` crate's report parser (see `src/snp/verify.rs`).
//!
//! Finding: `sev` 8's `AttestationReport` does not keep the reserved bytes of its four
//! `TCB_VERSION` words (report offsets 0x3A..0x3E, 0x182..0x186, 0x1E2..0x1E6, 0x1F2..0x1F6),
//! and its `verify()` hashes its own re-encoding. A report with one of those signed bytes
//! changed therefore still verifies under `sev`, while this crate rejects it.
#![forbid(unsafe_code)]

mod common;

use attestation::snp::{SnpError, certs_from_path, verify_snp_report};
use common::{at, read, vector};
use sev::certs::snp::{Certificate, Verifiable};
use sev::parser::ByteParser;

fn unpreserved(report: &[u8]) -> Vec<usize> {
    (0..0x2A0)
        .filter(|&i| {
            let mut m = report.to_vec();
            m[i] ^= 0x01;
            match sev::firmware::guest::AttestationReport::from_bytes(&m) {
                Ok(r) => r.to_bytes().map_or(true, |b| b[..0x2A0] != m[..0x2A0]),
                Err(_) => false,
            }
        })
        .collect()
}

#[test]
fn sev_drops_the_reserved_tcb_bytes_of_the_signed_region() {
    let lost = unpreserved(&read("snp/trustee/test-report.bin"));
    let want: Vec<usize> = [0x3A, 0x182, 0x1E2, 0x1F2].iter().flat_map(|&s| s..s + 4).collect();
    assert_eq!(lost, want);
}

#[test]
fn a_changed_reserved_tcb_byte_passes_sev_verify_but_not_ours() {
    let mut m = read("snp/trustee/test-report.bin");
    m[0x3A] ^= 0x01;
    let vcek = Certificate::from_der(&read("snp/trustee/test-vcek.der")).unwrap();
    let parsed = sev::firmware::guest::AttestationReport::from_bytes(&m).unwrap();
    assert!((&vcek, &parsed).verify().is_ok(), "sev accepts the modified report");
    let certs = certs_from_path(&vector("snp/trustee/test-vcek.der")).unwrap();
    let e = verify_snp_report(&m, &certs, at("2025-06-01T00:00:00Z")).unwrap_err();
    assert!(matches!(e, SnpError::ReportSignature { .. }), "{e}");
}
