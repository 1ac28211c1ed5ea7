//! X.509 certificates in AMD's SEV-SNP profile: parsing, validity windows, chain links.
//!
//! AMD's certificates use RSA-PSS (ARK, ASK, ASVK and the signatures on VCEKs/VLEKs) and
//! P-384 (the VCEK/VLEK key). VCEKs have serial number 0 and PSS parameters that strict
//! X.509 path builders refuse, so this module never runs a generic path builder: each link
//! is one RSA-PSS-SHA384 check done by the `sev` crate (pure-Rust `rsa`, feature
//! `crypto_nossl`), and validity windows are checked here against a pinned time.

use std::fmt;

use x509_cert::der::{Decode, DecodePem};

use crate::time::VerificationTime;
use crate::x509::{AlgorithmMismatch, check_algorithms};

/// OID of `id-ecPublicKey`: the VCEK and VLEK carry P-384 keys; AMD's CAs carry RSA keys.
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// One certificate, parsed once.
#[derive(Clone)]
pub struct AmdCert {
    x509: x509_cert::Certificate,
    sev: sev::certs::snp::Certificate,
}

/// Why a certificate or a chain link was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The bytes are neither a DER nor a PEM certificate.
    Malformed {
        /// Where the bytes came from (file name, cert-table entry, ...).
        source: String,
        /// What the decoder said.
        reason: String,
    },
    /// The certificate is not valid at the verification time.
    OutsideValidity {
        /// The certificate's common name.
        cert: String,
        /// The time verified at.
        at: VerificationTime,
        /// `notBefore`.
        not_before: VerificationTime,
        /// `notAfter`.
        not_after: VerificationTime,
    },
    /// A CRL lists the certificate.
    Revoked {
        /// The revoked certificate's common name.
        cert: String,
        /// Where the CRL came from.
        crl: String,
    },
    /// `issuer` did not sign `subject` (RSA-PSS-SHA384 over the TBS certificate).
    BadSignature {
        /// The signer's common name.
        issuer: String,
        /// The signee's common name.
        subject: String,
        /// What the check reported.
        reason: String,
    },
    /// The outer `signatureAlgorithm` is not the one the issuer signed (RFC 5280 §4.1.1.2).
    AlgorithmMismatch(AlgorithmMismatch),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { source, reason } => {
                write!(f, "certificate from {source} is malformed: {reason}")
            }
            Self::OutsideValidity { cert, at, not_before, not_after } => write!(
                f,
                "certificate {cert} is expired or not yet valid at {at} \
                 (valid {not_before} to {not_after})"
            ),
            Self::Revoked { cert, crl } => {
                write!(f, "certificate {cert} is revoked by the CRL from {crl}")
            }
            Self::BadSignature { issuer, subject, reason } => {
                write!(f, "{issuer} did not sign {subject}: {reason}")
            }
            Self::AlgorithmMismatch(e) => write!(f, "certificate {e}"),
        }
    }
}

impl std::error::Error for CertError {}

impl fmt::Debug for AmdCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmdCert({})", self.common_name())
    }
}

impl AmdCert {
    /// Parses a DER or PEM certificate; `source` names it in errors.
    ///
    /// # Errors
    /// [`CertError::Malformed`].
    pub fn parse(bytes: &[u8], source: &str) -> Result<Self, CertError> {
        let trimmed = trim_nul(bytes);
        let x509 = if trimmed.starts_with(b"-----BEGIN") {
            x509_cert::Certificate::from_pem(trimmed).map_err(|e| e.to_string())
        } else {
            x509_cert::Certificate::from_der(trimmed).map_err(|e| e.to_string())
        }
        .map_err(|reason| CertError::Malformed { source: source.to_owned(), reason })?;
        let sev = sev::certs::snp::Certificate::from(x509.clone());
        Ok(Self { x509, sev })
    }

    /// Parses every certificate in a PEM bundle (or one DER certificate).
    ///
    /// # Errors
    /// [`CertError::Malformed`] naming the block that failed.
    pub fn parse_all(bytes: &[u8], source: &str) -> Result<Vec<Self>, CertError> {
        let text = match std::str::from_utf8(trim_nul(bytes)) {
            Ok(t) if t.trim_start().starts_with("-----BEGIN") => t,
            _ => return Ok(vec![Self::parse(bytes, source)?]),
        };
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let tail = rest.get(start..).unwrap_or_default();
            let end_marker = "-----END CERTIFICATE-----";
            let end = tail.find(end_marker).map_or(tail.len(), |e| e + end_marker.len());
            let block = tail.get(..end).unwrap_or_default();
            out.push(Self::parse(block.as_bytes(), &format!("{source} #{}", out.len() + 1))?);
            rest = tail.get(end..).unwrap_or_default();
        }
        Ok(out)
    }

    /// Returns the subject's common name (e.g. `SEV-VCEK`, `ARK-Milan`).
    pub fn common_name(&self) -> String {
        crate::x509::common_name(&self.x509.tbs_certificate.subject)
    }

    /// Returns `true` if the key is an EC key: a VCEK or VLEK rather than an AMD CA.
    pub fn is_endorsement_key(&self) -> bool {
        self.x509.tbs_certificate.subject_public_key_info.algorithm.oid.to_string() == EC_PUBLIC_KEY
    }

    /// Returns the DER encoding of the certificate as it was given.
    pub fn to_der(&self) -> Vec<u8> {
        use x509_cert::der::Encode;
        self.x509.to_der().unwrap_or_default()
    }

    /// Returns the serial number's big-endian bytes (a VCEK's is `[0]`).
    pub fn serial(&self) -> &[u8] {
        self.x509.tbs_certificate.serial_number.as_bytes()
    }

    /// Returns the DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        use x509_cert::der::Encode;
        self.x509.tbs_certificate.subject_public_key_info.to_der().unwrap_or_default()
    }

    /// Returns the subject public key in SEC1 form (for the VCEK/VLEK: a P-384 point).
    pub fn public_key_sec1(&self) -> &[u8] {
        self.sev.public_key_sec1()
    }

    /// Returns the raw value of the extension `oid`, if present.
    pub fn extension(&self, oid: &str) -> Option<&[u8]> {
        self.x509
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// Checks that `at` lies inside the validity window.
    ///
    /// # Errors
    /// [`CertError::OutsideValidity`].
    pub fn check_validity(&self, at: VerificationTime) -> Result<(), CertError> {
        let v = &self.x509.tbs_certificate.validity;
        let not_before = VerificationTime::from_unix(v.not_before.to_unix_duration().as_secs());
        let not_after = VerificationTime::from_unix(v.not_after.to_unix_duration().as_secs());
        if at < not_before || at > not_after {
            return Err(CertError::OutsideValidity {
                cert: self.common_name(),
                at,
                not_before,
                not_after,
            });
        }
        Ok(())
    }

    /// Checks that the outer `signatureAlgorithm` equals `tbsCertificate.signature`.
    ///
    /// `sev` verifies RSA-PSS-SHA384 whatever the outer field says, and the field is not
    /// signed, so without this an edited copy of it would pass (see [`crate::x509`]).
    ///
    /// # Errors
    /// [`CertError::AlgorithmMismatch`] naming the certificate and both identifiers.
    pub fn check_algorithms(&self) -> Result<(), CertError> {
        check_algorithms(
            &self.common_name(),
            &self.x509.signature_algorithm,
            &self.x509.tbs_certificate.signature,
        )
        .map_err(CertError::AlgorithmMismatch)
    }

    /// Checks that `subject`'s algorithm fields agree and that `self` signed it (RSA-PSS with
    /// SHA-384).
    ///
    /// # Errors
    /// [`CertError::AlgorithmMismatch`], or [`CertError::BadSignature`] naming both
    /// certificates.
    pub fn check_signed(&self, subject: &AmdCert) -> Result<(), CertError> {
        use sev::certs::snp::Verifiable;
        subject.check_algorithms()?;
        (&self.sev, &subject.sev).verify().map_err(|e| CertError::BadSignature {
            issuer: self.common_name(),
            subject: subject.common_name(),
            reason: e.to_string(),
        })
    }

    /// Returns `true` if both are the same certificate, byte for byte.
    pub fn same_as(&self, other: &AmdCert) -> bool {
        self.x509 == other.x509
    }
}

/// Strips the NUL padding some producers leave after a certificate in a cert table.
fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    b.get(..end).unwrap_or_default()
}
