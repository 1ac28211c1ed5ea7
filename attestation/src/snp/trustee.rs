//! Trustee's SNP evidence JSON, so that evidence captured by the Confidential Containers
//! attestation agent for Trustee verifies here unchanged.
//!
//! The attester (guest-components, `attestation-agent/attester/src/snp/mod.rs`) and
//! Trustee's verifier (`deps/verifier/src/snp/mod.rs`) share this shape:
//! ```text
//! { "attestation_report": <the `sev` crate's AttestationReport, serde form>,
//!   "cert_chain": [ { "cert_type": "VCEK" | "VLEK" | "ASK" | "ARK" | "CRL" | ...,
//!                     "data": [bytes as numbers] } ] | null }
//! ```
//! The report is not the 1184 bytes the firmware signed: it is `sev`'s parse of them,
//! field by field (byte arrays as JSON arrays of numbers, TCB words as objects). It is turned
//! back into bytes with `sev`'s own encoder, and the verifier then checks the signature over
//! those bytes like any other report. Whatever `sev` does not model was already lost when the
//! attester serialised the report: the reserved bytes of the TCB words (`tests/sev_crate.rs`).
//! The firmware writes zeros there, and the encoder writes zeros, so a real report comes back
//! byte for byte; one where it does not fails the signature check, never passes it.
//!
//! Older attesters omit `launch_mit_vector` and `current_mit_vector`; `sev`'s serde reads a
//! missing optional field as absent, and the encoder writes zeros, as those reports hold.

use std::fmt;

use serde::Deserialize;
use sev::firmware::guest::AttestationReport;
use sev::firmware::host::{CertTableEntry, CertType};
use sev::parser::ByteParser as _;

use crate::snp::cert::{AmdCert, CertError};
use crate::snp::crl::AmdCrl;

/// What Trustee's SNP evidence JSON holds, in this crate's types.
#[derive(Debug, Clone)]
pub struct TrusteeSnpEvidence {
    /// The report, re-encoded to its 1184-byte layout.
    pub report: Vec<u8>,
    /// The certificates of `cert_chain` (VCEK, VLEK, ASK, ARK).
    pub certs: Vec<AmdCert>,
    /// The CRLs of `cert_chain`.
    pub crls: Vec<AmdCrl>,
}

/// Why Trustee's SNP evidence JSON could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrusteeError {
    /// The text is not that JSON shape; serde's message names the field.
    Json(String),
    /// `sev` could not encode the report it read (e.g. an unknown CPU family).
    Encode(String),
    /// A `cert_chain` entry does not parse; the error names the entry.
    Cert(CertError),
}

impl fmt::Display for TrusteeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "{e}"),
            Self::Encode(e) => write!(f, "attestation_report cannot be encoded: {e}"),
            Self::Cert(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TrusteeError {}

/// The attester's `SnpEvidence`, field for field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnpEvidence {
    attestation_report: AttestationReport,
    cert_chain: Option<Vec<CertTableEntry>>,
}

impl TrusteeSnpEvidence {
    /// Reads Trustee's SNP evidence JSON (see the module doc).
    ///
    /// # Errors
    /// [`TrusteeError`] naming the field or `cert_chain` entry that is wrong.
    pub fn from_json(text: &str) -> Result<Self, TrusteeError> {
        let ev: SnpEvidence =
            serde_json::from_str(text).map_err(|e| TrusteeError::Json(e.to_string()))?;
        let report =
            ev.attestation_report.to_bytes().map_err(|e| TrusteeError::Encode(e.to_string()))?;
        let mut certs = Vec::new();
        let mut crls = Vec::new();
        for (i, entry) in ev.cert_chain.iter().flatten().enumerate() {
            let source = format!("Trustee cert_chain[{i}] ({:?})", entry.cert_type);
            match entry.cert_type {
                CertType::VCEK | CertType::VLEK | CertType::ASK | CertType::ARK => {
                    certs.push(AmdCert::parse(&entry.data, &source).map_err(TrusteeError::Cert)?);
                }
                CertType::CRL => {
                    crls.push(AmdCrl::parse(&entry.data, &source).map_err(TrusteeError::Cert)?);
                }
                // As for the GHCB certificate table: entries of other kinds are not ours to use.
                CertType::Empty | CertType::OTHER(_) => {}
            }
        }
        Ok(Self { report: report.as_ref().to_vec(), certs, crls })
    }
}
