//! The certificates that travel with a TDX quote and its collateral: a root copy must be the
//! trusted root, and every certificate's outer signature algorithm must be the signed one.
//!
//! The PCK chain sits in the quote's certification data as PEM, outside every signed range,
//! so these tests edit one byte of one certificate in place (same length, so the quote still
//! parses) and expect the verifier to name the chain and the certificate.
#![forbid(unsafe_code)]

mod common;

use attestation::tdx::{ChainError, TdxCollateral, TdxError, verify_tdx_quote};
use base64::Engine as _;
use common::cli::{DENIED, attest, scratch, v};
use common::{at, read, vector};
use x509_cert::der::{Decode, Encode};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decodes the `n`th PEM certificate in `blob`, lets `edit` change bytes of its DER (never
/// its length), and writes it back over the same base64 characters (line breaks kept).
fn edit_pem_cert(blob: &mut [u8], n: usize, edit: impl FnOnce(&mut [u8])) {
    let begin = b"-----BEGIN CERTIFICATE-----";
    let starts: Vec<usize> = blob
        .windows(begin.len())
        .enumerate()
        .filter(|(_, w)| *w == begin)
        .map(|(i, _)| i)
        .collect();
    let body_start = starts[n] + begin.len();
    let body_end = body_start + blob[body_start..].iter().position(|&b| b == b'-').unwrap();
    let slots: Vec<usize> =
        (body_start..body_end).filter(|&i| !blob[i].is_ascii_whitespace()).collect();
    let text: Vec<u8> = slots.iter().map(|&i| blob[i]).collect();
    let mut der = B64.decode(&text).unwrap();
    edit(&mut der);
    for (&i, c) in slots.iter().zip(B64.encode(&der).bytes()) {
        blob[i] = c;
    }
}

/// Flips the last byte of the DER: the low byte of the ECDSA signature's `s`.
fn flip_signature(der: &mut [u8]) {
    *der.last_mut().unwrap() ^= 0x01;
}

/// Turns ecdsa-with-SHA256 (…04 03 02) into ecdsa-with-SHA384 in the outer copy only.
fn change_outer_algorithm(der: &mut [u8]) {
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    let alg = cert.signature_algorithm.to_der().unwrap();
    let outer = der.windows(alg.len()).rposition(|w| w == alg).unwrap();
    der[outer + alg.len() - 1] ^= 0x01;
}

fn collateral() -> TdxCollateral {
    TdxCollateral::load(&vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap()
}

const IN_WINDOW: &str = "2025-07-01T00:00:00Z";

#[test]
fn a_root_copy_in_the_quotes_pck_chain_with_one_changed_signature_byte_is_refused() {
    let mut q = read("tdx/dcap-qvl/tdx_quote");
    // The PCK chain is leaf, Intel SGX PCK Platform CA, Intel SGX Root CA.
    edit_pem_cert(&mut q, 2, flip_signature);
    let e = verify_tdx_quote(&q, &collateral(), at(IN_WINDOW)).unwrap_err();
    assert!(
        matches!(
            &e,
            TdxError::Chain(ChainError::RootCopyDiffers { chain: "PCK chain in the quote", cert })
                if cert == "Intel SGX Root CA"
        ),
        "{e}"
    );
}

#[test]
fn dcap_qvl_alone_does_not_read_the_root_copy() {
    // Why the check above is ours: the trust anchor is never taken from the evidence, so the
    // path builder never looks at the copy, and dcap-qvl accepts the edited quote.
    let mut q = read("tdx/dcap-qvl/tdx_quote");
    edit_pem_cert(&mut q, 2, flip_signature);
    let root = read("roots/intel-sgx-root-ca.der");
    let t = at(IN_WINDOW).unix();
    let policy = dcap_qvl::QuotePolicy::claims_only(t);
    dcap_qvl::verify::QuoteVerifier::new(root)
        .verify_with_policy(&q, collateral().as_dcap().clone(), t, &policy)
        .expect("dcap-qvl ignores the copy");
}

#[test]
fn a_root_copy_in_a_collateral_issuer_chain_that_differs_is_refused_naming_the_chain() {
    let text = std::fs::read_to_string(vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut chain = json["tcb_info_issuer_chain"].as_str().unwrap().as_bytes().to_vec();
    edit_pem_cert(&mut chain, 1, flip_signature); // TCB Signing, then the root
    json["tcb_info_issuer_chain"] = String::from_utf8(chain).unwrap().into();
    let c = TdxCollateral::from_json(&json.to_string()).unwrap();
    let e = verify_tdx_quote(&read("tdx/dcap-qvl/tdx_quote"), &c, at(IN_WINDOW)).unwrap_err();
    assert!(
        matches!(
            &e,
            TdxError::Chain(ChainError::RootCopyDiffers { chain: "TCB info issuer chain", .. })
        ),
        "{e}"
    );
}

#[test]
fn a_changed_outer_algorithm_in_any_pck_chain_certificate_is_refused_naming_it() {
    let names = ["Intel SGX PCK Certificate", "Intel SGX PCK Platform CA", "Intel SGX Root CA"];
    for (n, name) in names.into_iter().enumerate() {
        let mut q = read("tdx/dcap-qvl/tdx_quote");
        edit_pem_cert(&mut q, n, change_outer_algorithm);
        let e = verify_tdx_quote(&q, &collateral(), at(IN_WINDOW)).unwrap_err();
        assert!(
            matches!(
                &e,
                TdxError::Chain(ChainError::AlgorithmMismatch { chain: "PCK chain in the quote", mismatch })
                    if mismatch.cert == name
            ),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("1.2.840.10045.4.3.3] differs"), "{e}");
    }
}

#[test]
fn a_changed_outer_algorithm_in_a_collateral_issuer_chain_is_refused_naming_it() {
    let text = std::fs::read_to_string(vector("tdx/dcap-qvl/tdx_quote_collateral.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut chain = json["qe_identity_issuer_chain"].as_str().unwrap().as_bytes().to_vec();
    edit_pem_cert(&mut chain, 0, change_outer_algorithm);
    json["qe_identity_issuer_chain"] = String::from_utf8(chain).unwrap().into();
    let c = TdxCollateral::from_json(&json.to_string()).unwrap();
    let e = verify_tdx_quote(&read("tdx/dcap-qvl/tdx_quote"), &c, at(IN_WINDOW)).unwrap_err();
    assert!(
        matches!(
            &e,
            TdxError::Chain(ChainError::AlgorithmMismatch { chain: "QE identity issuer chain", mismatch })
                if mismatch.cert == "Intel SGX TCB Signing"
        ),
        "{e}"
    );
}

#[test]
fn the_cli_denies_a_quote_whose_root_copy_differs_and_says_so() {
    let mut q = read("tdx/dcap-qvl/tdx_quote");
    edit_pem_cert(&mut q, 2, flip_signature);
    let path = scratch("root-copy").join("quote");
    std::fs::write(&path, &q).unwrap();
    let (code, out) = attest(&[
        "--evidence",
        path.to_str().unwrap(),
        "--collateral",
        &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
        "--at",
        IN_WINDOW,
    ]);
    assert_eq!(code, DENIED, "{out}");
    assert!(
        out.contains(
            "PCK chain in the quote carries a copy of the root certificate Intel SGX Root CA \
             that differs"
        ),
        "{out}"
    );
}
