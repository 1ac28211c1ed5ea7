//! TDX quote verification against the real vectors in `shared/vectors/tdx` and `ccel`.
#![forbid(unsafe_code)]

mod common;

use attestation::tdx::{TcbStatus, TdxCollateral, TdxError, verify_tdx_quote};
use common::{at, read, vector};

fn dcap_collateral() -> TdxCollateral {
    TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap()
}

fn go_collateral() -> TdxCollateral {
    TdxCollateral::load(&vector("tdx/go-tdx-guest")).unwrap()
}

#[test]
fn dcap_qvl_quote_is_up_to_date_inside_the_collateral_window() {
    let q = verify_tdx_quote(
        &read("tdx/dcap-qvl/tdx_quote"),
        &dcap_collateral(),
        at("2025-07-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(q.tcb_status, TcbStatus::UpToDate);
    assert_eq!(hex::encode(q.fmspc), "b0c06f000000");
}

#[test]
fn dcap_qvl_quote_after_the_window_is_rejected_as_expired() {
    let e = verify_tdx_quote(
        &read("tdx/dcap-qvl/tdx_quote"),
        &dcap_collateral(),
        at("2025-08-01T00:00:00Z"),
    )
    .unwrap_err();
    eprintln!("{e}");
    assert!(matches!(e, TdxError::Expired { .. }), "{e}");
    let e = verify_tdx_quote(
        &read("tdx/dcap-qvl/tdx_quote"),
        &dcap_collateral(),
        at("2025-06-01T00:00:00Z"),
    )
    .unwrap_err();
    eprintln!("{e}");
    assert!(matches!(e, TdxError::Expired { .. }), "{e}");
}

#[test]
fn go_tdx_guest_quote_is_authentic_but_below_every_tcb_level_in_its_sample_tcb_info() {
    // Finding: the quote's TEE TCB SVN is 03 00 04.., and both TCB levels in
    // sample_tcbInfo_response require the TDX module SVN at index 2 to be >= 5. Every
    // signature and chain checks out (dcap-qvl matches TCB levels last), so the verdict is
    // "no matching TCB level", as Intel's QVL reports "TCB not supported".
    let e = verify_tdx_quote(
        &read("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
        &go_collateral(),
        at("2023-07-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            TdxError::TcbLevelNotFound { tee_tcb_svn, .. } if tee_tcb_svn.starts_with("030004")
        ),
        "{e}"
    );
}

#[test]
fn go_tdx_guest_collateral_is_expired_after_its_qe_identity_next_update() {
    let e = verify_tdx_quote(
        &read("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
        &go_collateral(),
        at("2023-07-20T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, TdxError::Expired { .. }), "{e}");
}

#[test]
fn a_different_root_ca_rejects_the_dcap_qvl_quote() {
    // Any self-consistent certificate that is not the Intel SGX Root CA will do: use an AMD ARK.
    let pem = String::from_utf8(read("roots/amd-milan-ark.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    let e = attestation::tdx::verify_with_root(
        &read("tdx/dcap-qvl/tdx_quote"),
        &dcap_collateral(),
        at("2025-07-01T00:00:00Z"),
        &der,
    )
    .unwrap_err();
    assert!(matches!(e, TdxError::Invalid { .. }), "{e}");
}

#[test]
fn every_truncation_of_the_quote_is_rejected_as_malformed() {
    let q = read("tdx/dcap-qvl/tdx_quote");
    let c = dcap_collateral();
    let quote_len = tee::tdx::QuoteBytes::new_checked(&q[..]).unwrap().quote_bytes().len();
    for len in (0..quote_len).step_by(13) {
        let e = verify_tdx_quote(&q[..len], &c, at("2025-07-01T00:00:00Z")).unwrap_err();
        assert!(matches!(e, TdxError::Parse(_)), "len {len}: {e}");
    }
}

#[test]
fn every_single_byte_change_in_header_and_body_is_rejected() {
    let q = read("tdx/dcap-qvl/tdx_quote");
    let c = dcap_collateral();
    let signed = tee::tdx::QuoteBytes::new_checked(&q[..]).unwrap().signed_bytes().len();
    for i in 0..signed {
        let mut m = q.clone();
        m[i] ^= 0x01;
        let e = verify_tdx_quote(&m, &c, at("2025-07-01T00:00:00Z")).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, TdxError::Parse(_) | TdxError::Invalid { .. }), "byte {i}: {text}");
    }
}

#[test]
fn changes_to_signature_key_and_qe_report_are_rejected() {
    let q = read("tdx/dcap-qvl/tdx_quote");
    let c = dcap_collateral();
    let signed = tee::tdx::QuoteBytes::new_checked(&q[..]).unwrap().signed_bytes().len();
    // signature_data_len (4) | signature (64) | attestation key (64) | cert data header (6)
    // | QE report (384) | QE report signature (64)
    for i in (signed + 4..signed + 4 + 128)
        .chain(signed + 4 + 128 + 6..signed + 4 + 128 + 6 + 448)
        .step_by(5)
    {
        let mut m = q.clone();
        m[i] ^= 0x01;
        assert!(verify_tdx_quote(&m, &c, at("2025-07-01T00:00:00Z")).is_err(), "byte {i}");
    }
}

#[test]
fn a_changed_tcb_info_signature_is_rejected() {
    let mut c = dcap_collateral();
    let text = std::fs::read_to_string(vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tcb = v["tcb_info"].as_str().unwrap().replacen("UpToDate", "UpToDatf", 1);
    v["tcb_info"] = tcb.into();
    c = TdxCollateral::from_json(&v.to_string()).unwrap_or(c);
    let e = verify_tdx_quote(&read("tdx/dcap-qvl/tdx_quote"), &c, at("2025-07-01T00:00:00Z"))
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("tcb"), "{e}");
}

#[test]
fn collateral_for_another_platform_is_rejected() {
    // go-tdx-guest's TCB info is for FMSPC 50806f000000; the dcap-qvl quote is b0c06f000000.
    let e = verify_tdx_quote(
        &read("tdx/dcap-qvl/tdx_quote"),
        &go_collateral(),
        at("2023-07-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, TdxError::Invalid { .. } | TdxError::Expired { .. }), "{e}");
    let e = verify_tdx_quote(
        &read("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
        &dcap_collateral(),
        at("2025-07-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(matches!(e, TdxError::Invalid { .. }), "{e}");
    eprintln!("{e}");
}

#[test]
fn a_collateral_directory_missing_a_file_names_the_item() {
    let dir = std::env::temp_dir().join(format!("attest-empty-collateral-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = TdxCollateral::load(&dir).unwrap_err();
    assert_eq!(
        e.to_string(),
        "collateral TCB info missing: none of [\"tcb_info.json\", \"sample_tcbInfo_response\"] \
         exists"
    );
}
