//! Trustee's SNP evidence JSON (`{"attestation_report", "cert_chain"}`, the `sev` crate's
//! serde form) is accepted as evidence and reaches the same verdict as the raw report.
//!
//! The real vectors are converted with `sev`'s own serde, as the attestation agent does; a
//! fixture published by Trustee, written by an older attester, is verified as it is.
#![forbid(unsafe_code)]

mod common;

use attestation::evidence::Evidence;
use attestation::snp::{AmdCert, certs_from_table};
use attestation::verifier::{VerifiedEvidence, VerifyOptions, verify_evidence};
use common::cli::{AFFIRMING, DENIED, attest, scratch};
use common::{at, read};
use serde::Serialize;
use sev::firmware::guest::AttestationReport;
use sev::firmware::host::{CertTableEntry, CertType};
use sev::parser::ByteParser as _;
use tee::tsm::TsmReport;

/// The attester's `SnpEvidence` (guest-components `attestation-agent/attester/src/snp`).
#[derive(Serialize)]
struct SnpEvidence {
    attestation_report: AttestationReport,
    cert_chain: Option<Vec<CertTableEntry>>,
}

const WHEN: &str = "2025-06-01T00:00:00Z";

/// (name, raw report, endorsement key and CA certificates) for every real SNP vector.
fn vectors() -> Vec<(&'static str, Vec<u8>, Vec<AmdCert>)> {
    let key = |rel: &str| vec![AmdCert::parse(&read(rel), rel).unwrap()];
    let milan_hex = String::from_utf8(read("snp/virtee-sev/report_milan.hex")).unwrap();
    let milan = hex::decode(milan_hex.chars().filter(char::is_ascii_hexdigit).collect::<String>());
    let tsm = TsmReport::from_json(
        std::str::from_utf8(&read("snp/veraison/sevsnp-tsm-report.json")).unwrap(),
    )
    .unwrap();
    let veraison_certs = certs_from_table(&tsm.snp_cert_table().unwrap()).unwrap();
    vec![
        ("trustee VCEK", read("snp/trustee/test-report.bin"), key("snp/trustee/test-vcek.der")),
        (
            "trustee VLEK",
            read("snp/trustee/test-vlek-report.bin"),
            key("snp/trustee/test-vlek.der"),
        ),
        ("virtee Milan", milan.unwrap(), key("snp/virtee-sev/vcek_milan.der")),
        ("veraison Genoa", tsm.outblob.clone(), veraison_certs),
    ]
}

/// Writes `report` and `certs` the way Trustee's attester does.
fn trustee_json(report: &[u8], certs: &[AmdCert]) -> String {
    let kind = |c: &AmdCert| match c.common_name().as_str() {
        "SEV-VCEK" => CertType::VCEK,
        "SEV-VLEK" => CertType::VLEK,
        n if n.starts_with("ARK-") => CertType::ARK,
        _ => CertType::ASK,
    };
    let ev = SnpEvidence {
        attestation_report: AttestationReport::from_bytes(report).unwrap(),
        cert_chain: Some(
            certs.iter().map(|c| CertTableEntry { cert_type: kind(c), data: c.to_der() }).collect(),
        ),
    };
    serde_json::to_string(&ev).unwrap()
}

fn verify(e: &Evidence) -> VerifiedEvidence {
    let opts = VerifyOptions {
        collateral: None,
        extra_certs: &[],
        extra_crls: &[],
        at: at(WHEN),
        allow_sim: false,
    };
    verify_evidence(e, opts).unwrap_or_else(|err| panic!("{}: {err}", e.format))
}

#[test]
fn every_real_report_comes_back_byte_for_byte_from_trustee_json() {
    for (name, raw, certs) in vectors() {
        let e = Evidence::detect(trustee_json(&raw, &certs).as_bytes()).unwrap();
        assert_eq!(e.format, "Trustee SNP evidence JSON");
        assert!(e.bytes == raw, "{name}: the re-encoded report differs from the signed one");
        assert_eq!(e.certs.len(), certs.len(), "{name}");
    }
}

#[test]
fn every_real_report_in_trustee_json_verifies_like_the_raw_report() {
    for (name, raw, certs) in vectors() {
        let from_json = verify(&Evidence::detect(trustee_json(&raw, &certs).as_bytes()).unwrap());
        let mut bare = Evidence::detect(&raw).unwrap();
        bare.certs = certs;
        let from_raw = verify(&bare);
        let (VerifiedEvidence::Snp { report: a, .. }, VerifiedEvidence::Snp { report: b, .. }) =
            (&from_json, &from_raw)
        else {
            panic!("{name}: not SNP");
        };
        assert_eq!((a.generation, a.signer), (b.generation, b.signer), "{name}");
        assert_eq!(from_json.measurements(), from_raw.measurements(), "{name}");
        assert_eq!(from_json.report_data(), from_raw.report_data(), "{name}");
    }
}

#[test]
fn the_cli_gives_trustee_json_the_raw_reports_verdict() {
    let d = scratch("trustee");
    let raw = read("snp/trustee/test-vlek-report.bin");
    let vlek = AmdCert::parse(&read("snp/trustee/test-vlek.der"), "vlek").unwrap();
    let json = d.join("evidence.json");
    std::fs::write(&json, trustee_json(&raw, &[vlek])).unwrap();
    let verdict = |args: &[&str]| {
        let (code, out) = attest(&[args, &["--at", WHEN, "--json"]].concat());
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let format = v["evidence_format"].take();
        (code, format, v)
    };
    let (code, format, from_json) = verdict(&["--evidence", json.to_str().unwrap()]);
    assert_eq!((code, format.as_str()), (AFFIRMING, Some("Trustee SNP evidence JSON")));
    let (code, format, from_raw) = verdict(&[
        "--evidence",
        &common::cli::v("snp/trustee/test-vlek-report.bin"),
        "--certs",
        &common::cli::v("snp/trustee/test-vlek.der"),
    ]);
    assert_eq!((code, format.as_str()), (AFFIRMING, Some("raw SNP report")));
    assert_eq!(from_json, from_raw);
}

#[test]
fn trustees_published_evidence_verifies_and_a_changed_measurement_is_denied() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/trustee-e2e-snp-evidence.json");
    let (code, out) = attest(&["--evidence", path, "--at", WHEN]);
    assert_eq!(code, AFFIRMING, "{out}");
    assert!(out.contains("observed verified (VCEK, Genoa)"), "{out}");

    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let m = &mut v["attestation_report"]["measurement"][0];
    *m = (m.as_u64().unwrap() ^ 1).into();
    let edited = scratch("trustee-edited").join("evidence.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    let (code, out) = attest(&["--evidence", edited.to_str().unwrap(), "--at", WHEN]);
    assert_eq!(code, DENIED, "{out}");
    assert!(out.contains("SNP report signature (bytes 0..0x2A0) does not verify"), "{out}");
}

#[test]
fn trustee_json_with_a_misspelt_field_is_bad_input_naming_it() {
    let d = scratch("trustee-typo");
    let raw = read("snp/trustee/test-report.bin");
    let text = trustee_json(&raw, &[]).replace("\"cert_chain\"", "\"cert_chian\"");
    let p = d.join("evidence.json");
    std::fs::write(&p, text).unwrap();
    let (code, out) = attest(&["--evidence", p.to_str().unwrap()]);
    assert_eq!(code, common::cli::BAD_INPUT, "{out}");
    assert!(out.contains("Trustee SNP evidence JSON") && out.contains("cert_chian"), "{out}");
}
