//! A certificate's outer `signatureAlgorithm` must equal the `signature` field inside its
//! `tbsCertificate`, parameters included (RFC 5280 §4.1.1.2). The outer field is not signed,
//! so these tests edit it in real certificates and expect the verifier to refuse them, naming
//! the certificate and the mismatch. (`sev_crate.rs` shows `sev`'s link check does not look.)
#![forbid(unsafe_code)]

mod common;

use attestation::snp::{AmdCert, AmdRoots, CertError, SnpError, builtin_roots, verify_snp_report};
use common::cli::{DENIED, attest, scratch, v};
use common::{at, read};
use x509_cert::der::{Decode, DecodePem, Encode};

/// Returns the byte range of the outer `signatureAlgorithm` in a DER certificate.
///
/// It is the last copy of the algorithm identifier: the first is inside `tbsCertificate`.
fn outer_algorithm(der: &[u8]) -> std::ops::Range<usize> {
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    let alg = cert.signature_algorithm.to_der().unwrap();
    let start = der.windows(alg.len()).rposition(|w| w == alg).unwrap();
    assert!(start > cert.tbs_certificate.to_der().unwrap().len(), "found the outer copy");
    start..start + alg.len()
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    x509_cert::Certificate::from_pem(pem).unwrap().to_der().unwrap()
}

/// The real (report, endorsement key DER, name) triples, all valid at 2025-06-01.
fn cases() -> Vec<(Vec<u8>, Vec<u8>, &'static str)> {
    let milan_hex = String::from_utf8(read("snp/virtee-sev/report_milan.hex")).unwrap();
    let milan = hex::decode(milan_hex.chars().filter(char::is_ascii_hexdigit).collect::<String>());
    vec![
        (read("snp/trustee/test-report.bin"), read("snp/trustee/test-vcek.der"), "SEV-VCEK"),
        (read("snp/trustee/test-vlek-report.bin"), read("snp/trustee/test-vlek.der"), "SEV-VLEK"),
        (milan.unwrap(), read("snp/virtee-sev/vcek_milan.der"), "SEV-VCEK"),
    ]
}

#[test]
fn every_changed_byte_of_an_endorsement_keys_outer_algorithm_is_refused_by_name() {
    let t = at("2025-06-01T00:00:00Z");
    for (report, der, name) in cases() {
        let key = AmdCert::parse(&der, "original").unwrap();
        verify_snp_report(&report, &[key], t).expect("the unmodified vector verifies");
        let mut mismatches = 0;
        for i in outer_algorithm(&der) {
            let mut m = der.clone();
            m[i] ^= 0x01;
            // A change to a tag or length can break the DER: then it is refused as malformed
            // when read (bad input). Every change that still parses must be named.
            let Ok(key) = AmdCert::parse(&m, "edited") else { continue };
            let e = verify_snp_report(&report, &[key], t).expect_err(&format!("{name} byte {i}"));
            let text = e.to_string();
            assert!(
                matches!(&e, SnpError::BadCertificate(CertError::AlgorithmMismatch(m)) if m.cert == name),
                "{name} byte {i}: {text}"
            );
            assert!(text.contains("outer signatureAlgorithm"), "{text}");
            mismatches += 1;
        }
        assert!(mismatches > 40, "{name}: only {mismatches} edits parsed");
    }
}

#[test]
fn a_changed_pss_salt_length_in_the_vceks_outer_algorithm_is_denied_by_the_cli() {
    let der = read("snp/trustee/test-vcek.der");
    let alg = outer_algorithm(&der);
    let mut m = der.clone();
    // RSASSA-PSS-params hold `[2] INTEGER saltLength` (a2 03 02 01 30): 48 becomes 49.
    let salt =
        alg.start + der[alg.clone()].windows(5).position(|w| w == [0xa2, 3, 2, 1, 48]).unwrap();
    m[salt + 4] = 49;
    let d = scratch("pss-salt");
    let edited = d.join("vcek.der");
    std::fs::write(&edited, &m).unwrap();
    let (code, out) = attest(&[
        "--evidence",
        &v("snp/trustee/test-report.bin"),
        "--certs",
        edited.to_str().unwrap(),
        "--at",
        "2025-06-01T00:00:00Z",
    ]);
    assert_eq!(code, DENIED, "{out}");
    assert!(
        out.contains("certificate SEV-VCEK: outer signatureAlgorithm")
            && out.contains("a203020131")
            && out.contains("a203020130"),
        "{out}"
    );
}

#[test]
fn a_built_in_ark_or_ask_with_a_changed_outer_algorithm_does_not_make_roots() {
    let milan = &builtin_roots()[0];
    for (which, pem) in
        [("ARK-Milan", "roots/amd-milan-ark.pem"), ("SEV-Milan", "roots/amd-milan-ask.pem")]
    {
        let mut der = pem_to_der(&read(pem));
        let alg = outer_algorithm(&der);
        der[alg.end - 1] ^= 0x01;
        let edited = AmdCert::parse(&der, "edited").unwrap();
        let (ark, ask) = if which.starts_with("ARK") {
            (edited, milan.ask.clone())
        } else {
            (milan.ark.clone(), edited)
        };
        let e = AmdRoots::new(milan.generation, ark, ask, milan.asvk.clone()).unwrap_err();
        assert!(matches!(&e, CertError::AlgorithmMismatch(m) if m.cert == which), "{which}: {e}");
    }
}
