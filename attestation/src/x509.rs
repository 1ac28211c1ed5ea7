//! X.509 rules the verifier enforces itself, on every certificate and CRL it is given.
//!
//! The libraries that check signatures do not all check structure. `sev` verifies a link
//! with RSA-PSS-SHA384 whatever the certificate's outer `signatureAlgorithm` says, and that
//! field is outside the signed bytes, so an edited copy of it would go unnoticed. RFC 5280
//! §4.1.1.2 (certificates) and §5.1.1.2 (CRLs) require the outer algorithm identifier to be
//! identical to the one inside the signed part, parameters included; [`check_algorithms`]
//! compares the two as DER, so any difference in OID or parameters is refused.
//!
//! Used by [`crate::snp`] (ARK, ASK, ASVK, VCEK, VLEK, AMD CRLs) and [`crate::tdx`] (the PCK
//! chain and the collateral issuer chains, before `dcap-qvl` sees them).

use std::fmt;

use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// OID of the X.520 `commonName` attribute.
const COMMON_NAME: &str = "2.5.4.3";

/// The outer `signatureAlgorithm` of a certificate or CRL differs from the signed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmMismatch {
    /// The certificate's common name, or which CRL it is.
    pub cert: String,
    /// The outer (unsigned) `signatureAlgorithm`.
    pub outer: String,
    /// The `signature` field inside `tbsCertificate` / `tbsCertList`.
    pub inner: String,
}

impl fmt::Display for AlgorithmMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: outer signatureAlgorithm [{}] differs from the signed one [{}] \
             (RFC 5280 requires them identical)",
            self.cert, self.outer, self.inner
        )
    }
}

impl std::error::Error for AlgorithmMismatch {}

/// Checks that `outer` and `inner` are the same algorithm identifier, parameters included;
/// `cert` names the certificate or CRL in the error.
///
/// # Errors
/// [`AlgorithmMismatch`] showing both identifiers.
pub fn check_algorithms(
    cert: &str,
    outer: &AlgorithmIdentifierOwned,
    inner: &AlgorithmIdentifierOwned,
) -> Result<(), AlgorithmMismatch> {
    // The derived equality compares the OID and the parameters' tag and content octets:
    // the same as comparing the DER, since `der` only accepts canonical lengths.
    if outer == inner {
        return Ok(());
    }
    Err(AlgorithmMismatch { cert: cert.to_owned(), outer: describe(outer), inner: describe(inner) })
}

/// Returns `OID` or `OID, parameters <DER hex>`.
fn describe(alg: &AlgorithmIdentifierOwned) -> String {
    match &alg.parameters {
        None => alg.oid.to_string(),
        Some(p) => {
            let der = p.to_der().map_or_else(|e| format!("<{e}>"), hex::encode);
            format!("{}, parameters {der}", alg.oid)
        }
    }
}

/// Returns the last common name in `name`, or `"?"` if it has none.
pub fn common_name(name: &Name) -> String {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid.to_string() == COMMON_NAME)
        .filter_map(|atv| std::str::from_utf8(atv.value.value()).ok())
        .next_back()
        .unwrap_or("?")
        .to_owned()
}
