//! The certificate chains that come with a TDX quote and its collateral, checked here as
//! well as by `dcap-qvl`.
//!
//! The chains are the PCK chain in the quote's certification data (or in the collateral, if
//! it carries one; `dcap-qvl` then prefers it) and the TCB info, QE identity and PCK CRL
//! issuer chains. `dcap-qvl` builds a path from each leaf to the trusted Intel SGX Root CA
//! with `webpki`, which checks signatures, validity, revocation and, for the certificates
//! on that path, that the outer `signatureAlgorithm` equals the signed one. Two things it
//! leaves out, which this module adds:
//! - [`check_algorithms`], before `dcap-qvl`: the same RFC 5280 rule for *every* certificate
//!   in every chain ([`crate::x509`]), with an error that names the chain and the
//!   certificate rather than `webpki`'s path-building outcome.
//! - [`check_root_copies`], after `dcap-qvl`: every chain Intel serves ends with a copy of
//!   the root. A trust anchor is never taken from the evidence, so `webpki` never reads that
//!   copy, and an edited one went unnoticed. Any certificate that presents itself as the
//!   root (self-issued, or named like the anchor) must be the anchor, byte for byte. This
//!   runs after `dcap-qvl` because, until the path to the anchor is verified, "this copy is
//!   not the anchor" is the less useful thing to report.

use std::fmt;

use x509_cert::Certificate;
use x509_cert::der::Decode;

use crate::tdx::TdxCollateral;
use crate::x509::{AlgorithmMismatch, common_name};

/// Why a certificate in a TDX chain was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// A chain's PEM does not decode into certificates.
    Malformed {
        /// Which chain (`"PCK chain in the quote"`, `"TCB info issuer chain"`, ...).
        chain: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A certificate's outer `signatureAlgorithm` differs from the signed one.
    AlgorithmMismatch {
        /// Which chain.
        chain: &'static str,
        /// The certificate and both identifiers.
        mismatch: AlgorithmMismatch,
    },
    /// A certificate presents itself as the root but is not the trusted root.
    RootCopyDiffers {
        /// Which chain.
        chain: &'static str,
        /// Its common name.
        cert: String,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { chain, reason } => write!(f, "{chain} is malformed: {reason}"),
            Self::AlgorithmMismatch { chain, mismatch } => {
                write!(f, "{chain}: certificate {mismatch}")
            }
            Self::RootCopyDiffers { chain, cert } => write!(
                f,
                "{chain} carries a copy of the root certificate {cert} that differs from the \
                 Intel SGX Root CA this verifier trusts"
            ),
        }
    }
}

impl std::error::Error for ChainError {}

/// Every chain `dcap-qvl` will read for this quote, named, as PEM text.
fn chains<'a>(
    pck_in_quote: Option<&'a [u8]>,
    collateral: &'a TdxCollateral,
) -> Vec<(&'static str, &'a [u8])> {
    let c = collateral.as_dcap();
    let mut out = vec![
        ("TCB info issuer chain", c.tcb_info_issuer_chain.as_bytes()),
        ("QE identity issuer chain", c.qe_identity_issuer_chain.as_bytes()),
        ("PCK CRL issuer chain", c.pck_crl_issuer_chain.as_bytes()),
    ];
    if let Some(pck) = &c.pck_certificate_chain {
        out.push(("PCK chain in the collateral", pck.as_bytes()));
    }
    if let Some(pck) = pck_in_quote {
        out.push(("PCK chain in the quote", pck));
    }
    out
}

fn parse(chain: &'static str, pem: &[u8]) -> Result<Vec<Certificate>, ChainError> {
    // The quote's PEM may be NUL-terminated.
    let end = pem.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    Certificate::load_pem_chain(pem.get(..end).unwrap_or_default())
        .map_err(|e| ChainError::Malformed { chain, reason: e.to_string() })
}

/// Checks every certificate of every chain for matching algorithm fields (see the module
/// doc).
///
/// # Errors
/// [`ChainError::Malformed`] or [`ChainError::AlgorithmMismatch`] naming the chain.
pub(crate) fn check_algorithms(
    pck_in_quote: Option<&[u8]>,
    collateral: &TdxCollateral,
) -> Result<(), ChainError> {
    for (chain, pem) in chains(pck_in_quote, collateral) {
        for cert in parse(chain, pem)? {
            crate::x509::check_algorithms(
                &common_name(&cert.tbs_certificate.subject),
                &cert.signature_algorithm,
                &cert.tbs_certificate.signature,
            )
            .map_err(|mismatch| ChainError::AlgorithmMismatch { chain, mismatch })?;
        }
    }
    Ok(())
}

/// Checks that every certificate presenting itself as the root is `root_der` (see the
/// module doc).
///
/// # Errors
/// [`ChainError::Malformed`] or [`ChainError::RootCopyDiffers`] naming the chain.
pub(crate) fn check_root_copies(
    pck_in_quote: Option<&[u8]>,
    collateral: &TdxCollateral,
    root_der: &[u8],
) -> Result<(), ChainError> {
    let root = Certificate::from_der(root_der)
        .map_err(|e| ChainError::Malformed { chain: "trusted root", reason: e.to_string() })?;
    let root_name = &root.tbs_certificate.subject;
    for (chain, pem) in chains(pck_in_quote, collateral) {
        for cert in parse(chain, pem)? {
            let tbs = &cert.tbs_certificate;
            let claims_root = tbs.subject == tbs.issuer || tbs.subject == *root_name;
            // Parsed values compare as DER does: `der` accepts one encoding per value.
            if claims_root && cert != root {
                return Err(ChainError::RootCopyDiffers { chain, cert: common_name(&tbs.subject) });
            }
        }
    }
    Ok(())
}
