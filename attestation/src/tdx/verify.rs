//! Verifying a TDX quote: structure (`tee`), then signatures, chains and TCB (`dcap-qvl`).
//!
//! Order of checks, each with its own [`TdxError`] variant:
//! 1. [`QuoteBytes::new_checked`] and [`Quote::parse`]: the bytes are a v4/v5 TD quote
//!    (bytes after the quote are ignored, as `QuoteBytes::trailing` documents).
//! 2. Every certificate in the quote's PCK chain and the collateral's issuer chains has the
//!    same outer and signed signature algorithm ([`crate::tdx::ChainError`]).
//! 3. `dcap-qvl`, at the given [`VerificationTime`]: the PCK chain in the certification data
//!    reaches the built-in Intel SGX Root CA and no certificate in it is revoked; the TCB info
//!    and QE identity are signed by Intel and valid at that time; the QE report is signed by
//!    the PCK key and binds the attestation key; the attestation key signs header and body.
//! 4. Every certificate in those chains that presents itself as the root is the trusted
//!    root, byte for byte: `dcap-qvl` never reads the copies (see `chains.rs`).
//! 5. The TCB status is reported exactly ([`TcbStatus`]); this step accepts every status.
//!    Debug TDs also pass here: debug is a policy question, answered in appraisal.
//!
//! Only [`verify_tdx_quote`] creates a [`VerifiedTdxQuote`], and its private field keeps it so.

use std::fmt;

use dcap_qvl::QuotePolicy;
use dcap_qvl::verify::QuoteVerifier;
use tee::ParseError;
use tee::tdx::{Quote, QuoteBytes};

use crate::tdx::chains::{ChainError, check_algorithms, check_root_copies};
use crate::tdx::{TcbStatus, TdxCollateral};
use crate::time::VerificationTime;

/// The Intel SGX Root CA every TDX chain must end at (see `roots/README.md`).
pub const INTEL_SGX_ROOT_CA_DER: &[u8] = include_bytes!("../../roots/intel-sgx-root-ca.der");

/// Why a TDX quote failed verification.
#[derive(Debug)]
#[non_exhaustive]
pub enum TdxError {
    /// The bytes are not a TDX quote; the inner error names the field and offset.
    Parse(ParseError),
    /// Collateral or a certificate is not valid at the verification time.
    Expired {
        /// The time verified at.
        at: VerificationTime,
        /// Which item is outside its window, as `dcap-qvl` reports it.
        detail: String,
    },
    /// Every signature and chain verified, but no TCB level in the TCB info matches the
    /// platform's SVNs (Intel QVL: TCB not supported), so there is no status to report.
    TcbLevelNotFound {
        /// The quote's TEE TCB SVN (hex).
        tee_tcb_svn: String,
        /// What `dcap-qvl` reported.
        detail: String,
    },
    /// A certificate in the PCK chain or a collateral issuer chain is refused before or
    /// after `dcap-qvl`'s checks; the inner error names the chain and the certificate.
    Chain(ChainError),
    /// A signature, certificate chain, CRL or identity check failed.
    Invalid {
        /// What failed, as `dcap-qvl` reports it (outermost context first).
        detail: String,
    },
}

impl fmt::Display for TdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "TDX quote malformed: {e}"),
            Self::Expired { at, detail } => {
                write!(f, "TDX collateral expired or not yet valid at {at}: {detail}")
            }
            Self::TcbLevelNotFound { tee_tcb_svn, detail } => write!(
                f,
                "TDX quote signatures valid, but no TCB level in the TCB info matches \
                 TEE TCB SVN {tee_tcb_svn} and the PCK's SVNs: {detail}"
            ),
            Self::Chain(e) => write!(f, "TDX certificate refused: {e}"),
            Self::Invalid { detail } => write!(f, "TDX quote verification failed: {detail}"),
        }
    }
}

impl std::error::Error for TdxError {}

/// A TDX quote whose signatures, chains and collateral checked out at a given time.
#[derive(Debug, Clone)]
#[allow(
    clippy::manual_non_exhaustive,
    reason = "the private `_verified` field, not `#[non_exhaustive]`, keeps construction \
              inside this module, where the checks are: the type is the proof"
)]
pub struct VerifiedTdxQuote {
    /// The quote as `tee` parsed it (header, body, signature data).
    pub quote: Quote,
    /// The converged platform and QE TCB status, exactly.
    pub tcb_status: TcbStatus,
    /// Intel security advisories that apply to this TCB level.
    pub advisory_ids: Vec<String>,
    /// The platform's FMSPC from the PCK certificate.
    pub fmspc: [u8; 6],
    /// The earliest `nextUpdate`/`notAfter` of all collateral (Unix seconds).
    pub collateral_expires: u64,
    _verified: (),
}

/// Verifies a TDX quote against collateral at time `at`, anchored at the Intel SGX Root CA.
///
/// # Errors
/// [`TdxError::Parse`] for malformed bytes, [`TdxError::Chain`] for a refused certificate,
/// [`TdxError::Expired`] when something is outside its validity window at `at`,
/// [`TdxError::Invalid`] for any other failed check.
pub fn verify_tdx_quote(
    bytes: &[u8],
    collateral: &TdxCollateral,
    at: VerificationTime,
) -> Result<VerifiedTdxQuote, TdxError> {
    verify_with_root(bytes, collateral, at, INTEL_SGX_ROOT_CA_DER)
}

/// Like [`verify_tdx_quote`], anchored at another root (tests use it to show that a wrong
/// root is rejected).
///
/// # Errors
/// As [`verify_tdx_quote`].
pub fn verify_with_root(
    bytes: &[u8],
    collateral: &TdxCollateral,
    at: VerificationTime,
    root_ca_der: &[u8],
) -> Result<VerifiedTdxQuote, TdxError> {
    let view = QuoteBytes::new_checked(bytes).map_err(TdxError::Parse)?;
    let quote = Quote::parse(&view).map_err(TdxError::Parse)?;
    let pck_chain = quote.signature_data.certification.pck_cert_chain();
    check_algorithms(pck_chain, collateral).map_err(TdxError::Chain)?;
    let claims = QuoteVerifier::new(root_ca_der.to_vec())
        .allow_debug(true)
        .verify_with_policy(
            view.quote_bytes(),
            collateral.as_dcap().clone(),
            at.unix(),
            &QuotePolicy::claims_only(at.unix()),
        )
        .map_err(|e| classify(&e, at, &quote))?;
    // dcap-qvl parsed the same bytes; its view of the signed body must agree with ours.
    let agrees = match &claims.report {
        dcap_qvl::quote::Report::TD10(r) => r.report_data == *quote.report_data(),
        dcap_qvl::quote::Report::TD15(r) => r.base.report_data == *quote.report_data(),
        _ => false,
    };
    if !agrees {
        return Err(TdxError::Invalid {
            detail: "dcap-qvl and tee disagree on the TD report body".to_owned(),
        });
    }
    check_root_copies(pck_chain, collateral, root_ca_der).map_err(TdxError::Chain)?;
    Ok(VerifiedTdxQuote {
        quote,
        tcb_status: claims.tcb.status.into(),
        advisory_ids: claims.tcb.advisory_ids.clone(),
        fmspc: claims.platform.pck.fmspc,
        collateral_expires: claims.earliest_expiration_date,
        _verified: (),
    })
}

/// Sorts a `dcap-qvl` error into "outside a validity window" or "invalid", keeping its text.
fn classify(e: &anyhow::Error, at: VerificationTime, quote: &Quote) -> TdxError {
    let detail = format!("{e:#}");
    if detail.contains("No matching TCB level") {
        let tee_tcb_svn = hex::encode(quote.body.td10().tee_tcb_svn);
        return TdxError::TcbLevelNotFound { tee_tcb_svn, detail };
    }
    let lower = detail.to_ascii_lowercase();
    let time_words = ["expired", "in the future", "not yet valid", "notvalidforname"];
    if time_words.iter().any(|w| lower.contains(w))
        || lower.contains("time") && lower.contains("valid")
    {
        TdxError::Expired { at, detail }
    } else {
        TdxError::Invalid { detail }
    }
}
