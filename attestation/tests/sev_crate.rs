//! Why SNP report signatures are checked over the received bytes rather than through the
//! `sev` crate's report parser (see `src/snp/verify.rs`).
//!
//! Finding: `sev` 8's `AttestationReport` does not keep the reserved bytes of its four
//! `TCB_VERSION` words (report offsets 0x3A..0x3E, 0x182..0x186, 0x1E2..0x1E6, 0x1F2..0x1F6),
//! and its `verify()` hashes its own re-encoding. A report with one of those signed bytes
//! changed therefore still verifies under `sev`, while this crate rejects it.
//!
//! Finding: `sev`'s certificate link check verifies RSA-PSS-SHA384 whatever the subject's
//! outer `signatureAlgorithm` says. That field is outside the signed bytes, so a VCEK with
//! edited PSS parameters still links to its ASK under `sev`; this crate compares it with
//! the signed copy first (`src/x509.rs`).
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

#[test]
fn a_changed_outer_pss_parameter_passes_sevs_link_check_but_not_ours() {
    use x509_cert::der::{Decode, Encode};
    let der = read("snp/trustee/test-vcek.der");
    let x = x509_cert::Certificate::from_der(&der).unwrap();
    let alg = x.signature_algorithm.to_der().unwrap();
    let outer = der.windows(alg.len()).rposition(|w| w == alg).unwrap();
    // `[2] INTEGER saltLength` 48 -> 49, in the outer copy, outside tbsCertificate.
    let salt = outer + alg.windows(5).position(|w| w == [0xa2, 3, 2, 1, 48]).unwrap();
    let mut m = der.clone();
    m[salt + 4] = 49;
    let milan = &attestation::snp::builtin_roots()[0];
    let ask = Certificate::from_der(&milan.ask.to_der()).unwrap();
    let edited = Certificate::from_der(&m).unwrap();
    assert!((&ask, &edited).verify().is_ok(), "sev links the edited VCEK to the ASK");
    let ours = attestation::snp::AmdCert::parse(&m, "edited").unwrap();
    assert!(milan.ask.check_signed(&ours).is_err());
}
