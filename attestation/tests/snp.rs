//! SNP report verification against the real vectors in `shared/vectors/snp`.
#![forbid(unsafe_code)]

mod common;

use attestation::snp::{
    AmdCert, Signer, SnpError, builtin_roots, certs_from_path, certs_from_table, verify_snp_report,
    verify_with_roots,
};
use common::{at, read, vector};
use tee::snp::Generation;
use tee::tsm::TsmReport;

fn milan_report() -> Vec<u8> {
    let text = String::from_utf8(read("snp/virtee-sev/report_milan.hex")).unwrap();
    let clean: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    hex::decode(clean).unwrap()
}

fn certs(rel: &str) -> Vec<AmdCert> {
    certs_from_path(&vector(rel)).unwrap()
}

fn veraison() -> (Vec<u8>, Vec<AmdCert>) {
    let tsm = TsmReport::from_json(
        std::str::from_utf8(&read("snp/veraison/sevsnp-tsm-report.json")).unwrap(),
    )
    .unwrap();
    let table = tsm.snp_cert_table().unwrap();
    (tsm.outblob.clone(), certs_from_table(&table).unwrap())
}

#[test]
fn virtee_milan_report_verifies_with_its_serial_zero_vcek() {
    let v = verify_snp_report(
        &milan_report(),
        &certs("snp/virtee-sev/vcek_milan.der"),
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!((v.generation, v.signer, v.report.version), (Generation::Milan, Signer::Vcek, 2));
}

#[test]
fn virtee_milan_report_verifies_with_the_chain_file_beside_it() {
    let mut c = certs("snp/virtee-sev/vcek_milan.der");
    c.extend(certs("snp/virtee-sev/cert_chain_milan.pem"));
    verify_snp_report(&milan_report(), &c, at("2025-06-01T00:00:00Z")).unwrap();
}

#[test]
fn trustee_report_verifies_and_its_policy_forbids_debug() {
    let v = verify_snp_report(
        &read("snp/trustee/test-report.bin"),
        &certs("snp/trustee/test-vcek.der"),
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(v.report.policy.0, 0x3001f);
    assert!(!v.report.policy.debug_allowed(), "bit 19 is clear: the vectors README is wrong here");
}

#[test]
fn trustee_vlek_report_verifies_via_the_milan_asvk() {
    let v = verify_snp_report(
        &read("snp/trustee/test-vlek-report.bin"),
        &certs("snp/trustee"),
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        (v.generation, v.signer, v.report.vmpl, v.report.version),
        (Generation::Milan, Signer::Vlek, 1, 3)
    );
}

#[test]
fn veraison_tsm_report_verifies_against_the_genoa_roots_from_its_auxblob() {
    let (report, certs) = veraison();
    let v = verify_snp_report(&report, &certs, at("2025-06-01T00:00:00Z")).unwrap();
    assert_eq!(v.generation, Generation::Genoa);
}

#[test]
fn vlek_report_after_the_vlek_expired_is_rejected_as_expired() {
    let e = verify_snp_report(
        &read("snp/trustee/test-vlek-report.bin"),
        &certs("snp/trustee"),
        at("2026-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, SnpError::Expired(_)), "{e}");
    assert!(e.to_string().contains("SEV-VLEK"), "{e}");
}

#[test]
fn swapped_vcek_is_rejected_naming_the_report_signature() {
    let e = verify_snp_report(
        &milan_report(),
        &certs("snp/trustee/test-vcek.der"),
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, SnpError::ReportSignature { .. }), "{e}");
}

#[test]
fn milan_vcek_against_only_genoa_roots_is_rejected_as_unchained() {
    let genoa: Vec<_> =
        builtin_roots().iter().filter(|r| r.generation == Generation::Genoa).cloned().collect();
    let e = verify_with_roots(
        &milan_report(),
        &certs("snp/virtee-sev/vcek_milan.der"),
        &[],
        at("2025-06-01T00:00:00Z"),
        &genoa,
    )
    .unwrap_err();
    assert!(matches!(e, SnpError::Chain { .. }), "{e}");
}

#[test]
fn an_ark_from_the_evidence_that_is_not_built_in_is_rejected() {
    let (report, mut certs) = veraison();
    certs.extend(certs_from_path(&vector("roots/amd-milan-ark.pem")).unwrap());
    let e = verify_snp_report(&report, &certs, at("2025-06-01T00:00:00Z")).unwrap_err();
    assert!(matches!(e, SnpError::UntrustedCa { .. }), "{e}");
}

#[test]
fn an_ark_copy_in_the_auxblob_with_one_changed_signature_byte_is_rejected_by_name() {
    let (report, certs) = veraison();
    let edited: Vec<AmdCert> = certs
        .iter()
        .map(|c| {
            let mut der = c.to_der();
            if c.common_name() == "ARK-Genoa" {
                *der.last_mut().unwrap() ^= 0x01; // in the RSA-PSS signature: still parses
            }
            AmdCert::parse(&der, "edited").unwrap()
        })
        .collect();
    let e = verify_snp_report(&report, &edited, at("2025-06-01T00:00:00Z")).unwrap_err();
    assert!(matches!(&e, SnpError::UntrustedCa { cert } if cert == "ARK-Genoa"), "{e}");
}

#[test]
fn no_vcek_supplied_is_rejected_naming_the_missing_key() {
    let e = verify_snp_report(&milan_report(), &[], at("2025-06-01T00:00:00Z")).unwrap_err();
    assert_eq!(e.to_string(), "no VCEK certificate supplied");
}

#[test]
fn every_truncation_of_a_report_is_rejected_as_malformed() {
    let r = milan_report();
    let c = certs("snp/virtee-sev/vcek_milan.der");
    for len in (0..r.len()).step_by(7) {
        let e = verify_snp_report(&r[..len], &c, at("2025-06-01T00:00:00Z")).unwrap_err();
        assert!(matches!(e, SnpError::Parse(_)), "len {len}: {e}");
    }
}

#[test]
fn a_change_to_the_signature_itself_is_rejected() {
    let r = milan_report();
    let c = certs("snp/virtee-sev/vcek_milan.der");
    for i in [0x2A0, 0x2A0 + 47, 0x2E8, 0x2E8 + 47] {
        let mut m = r.clone();
        m[i] ^= 0x01;
        assert!(verify_snp_report(&m, &c, at("2025-06-01T00:00:00Z")).is_err(), "byte {i:#x}");
    }
}

#[test]
fn a_crl_the_ark_did_not_sign_is_rejected_even_when_the_report_is_valid() {
    // No AMD CRL is among the vectors; an Intel CRL is a real CRL the ARK did not sign.
    let crl = attestation::snp::AmdCrl::parse(&read("tdx/go-tdx-guest/pckcrl"), "pckcrl").unwrap();
    let e = attestation::snp::verify_snp_report_with_crls(
        &milan_report(),
        &certs("snp/virtee-sev/vcek_milan.der"),
        &[crl],
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, SnpError::Crl(_)), "{e}");
    assert!(e.to_string().contains("ARK-Milan did not sign CRL from pckcrl"), "{e}");
}
