//! Verifying an SNP attestation report against a VCEK or VLEK and the built-in AMD roots.
//!
//! Order of checks, each with its own [`SnpError`] variant:
//! 1. `tee` parses the 1184-byte report (v2..v5).
//! 2. The report names its signing key (key_info bits 4:2): VCEK or VLEK; anything else is
//!    refused.
//! 3. The ECDSA P-384/SHA-384 signature over bytes `0..0x2A0` of the report *as received* is
//!    checked with the `p384` crate against each candidate endorsement key. (`sev` re-encodes
//!    its own parse of the report before hashing, so a byte it does not model would escape
//!    the check; hashing the received bytes closes that gap.)
//! 4. The key's certificate says, outside its signed part, the same signature algorithm as
//!    inside it (RFC 5280 §4.1.1.2; `sev` does not look, see [`crate::x509`]).
//! 5. The key's chain: ARK (self-signed) → ASK (VCEK) or ASVK (VLEK) → key, with the
//!    built-in roots of the report's generation (or of each generation for a v2 report),
//!    each link RSA-PSS-SHA384 via `sev`. The ARK links are checked once, when the roots
//!    are built ([`AmdRoots::new`], which applies step 4 to them too); each report checks
//!    the ASK/ASVK → key link. ARK/ASK certificates that came with the evidence must equal
//!    the built-in ones.
//! 6. ARK, ASK/ASVK and the key are valid at the verification time.
//! 7. Every CRL given has matching algorithm fields, is signed by the anchoring ARK, is
//!    current, and lists none of the chain.
//! 8. The key belongs to this report: its TCB extensions equal `reported_tcb`, and a VCEK's
//!    hwID equals `chip_id` (unless the chip ID is masked to zero).

use std::fmt;

use p384::ecdsa::signature::Verifier as _;
use tee::ParseError;
use tee::snp::{AttestationReport, Generation, ReportBytes, SigningKey, TcbLayout};

use crate::snp::cert::{AmdCert, CertError};
use crate::snp::crl::AmdCrl;
use crate::snp::roots::{AmdRoots, builtin_roots};
use crate::time::VerificationTime;

/// Why an SNP report failed verification.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnpError {
    /// The bytes are not an SNP report; the inner error names the field and offset.
    Parse(ParseError),
    /// The report's key_info names no usable signing key.
    UnsupportedSigningKey(SigningKey),
    /// The report names a signature algorithm other than ECDSA P-384 with SHA-384 (1).
    SignatureAlgorithm(u32),
    /// The signature's r or s does not fit a P-384 scalar.
    SignatureEncoding,
    /// No certificate of the kind the report names was supplied.
    NoEndorsementKey {
        /// `"VCEK"` or `"VLEK"`.
        wanted: &'static str,
    },
    /// The report signature does not verify under any supplied endorsement key.
    ReportSignature {
        /// The common names of the keys tried.
        tried: Vec<String>,
    },
    /// The endorsement key's certificate is not well formed (e.g. its outer and signed
    /// signature algorithms differ); the inner error names the certificate.
    BadCertificate(CertError),
    /// No built-in root chains to the endorsement key.
    Chain {
        /// One failure per generation tried.
        errors: Vec<(Generation, CertError)>,
    },
    /// An ARK/ASK from the evidence is not the built-in one.
    UntrustedCa {
        /// Its common name.
        cert: String,
    },
    /// A certificate is outside its validity window.
    Expired(CertError),
    /// A CRL is invalid, stale, or revokes a certificate of the chain.
    Crl(CertError),
    /// The endorsement key certifies a different TCB or chip than the report claims.
    KeyMismatch {
        /// The field: `"reported_tcb.snp"`, `"chip_id"`, ...
        field: &'static str,
        /// The value in the certificate.
        cert: String,
        /// The value in the report.
        report: String,
    },
}

impl fmt::Display for SnpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "SNP report malformed: {e}"),
            Self::UnsupportedSigningKey(k) => {
                write!(f, "SNP report key_info names signing key {k:?}")
            }
            Self::SignatureAlgorithm(a) => {
                write!(f, "SNP report signature_algo {a} is not 1 (ECDSA P-384/SHA-384)")
            }
            Self::SignatureEncoding => f.write_str("SNP report signature r/s exceed 48 bytes"),
            Self::NoEndorsementKey { wanted } => write!(f, "no {wanted} certificate supplied"),
            Self::ReportSignature { tried } => {
                write!(f, "SNP report signature (bytes 0..0x2A0) does not verify under {tried:?}")
            }
            Self::BadCertificate(e) => write!(f, "SNP certificate rejected: {e}"),
            Self::Chain { errors } => {
                f.write_str("endorsement key does not chain to a built-in AMD root:")?;
                for (g, e) in errors {
                    write!(f, " [{}: {e}]", g.name())?;
                }
                Ok(())
            }
            Self::UntrustedCa { cert } => {
                write!(f, "{cert} from the evidence is not the built-in one")
            }
            Self::Expired(e) => write!(f, "{e}"),
            Self::Crl(e) => write!(f, "CRL check failed: {e}"),
            Self::KeyMismatch { field, cert, report } => {
                write!(f, "endorsement key certifies {field} = {cert}, but the report has {report}")
            }
        }
    }
}

impl std::error::Error for SnpError {}

/// Which key signed a verified report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Signer {
    /// A Versioned Chip Endorsement Key.
    Vcek,
    /// A Versioned Loaded Endorsement Key.
    Vlek,
}

/// An SNP report whose signature, chain and key binding checked out at a given time.
#[derive(Debug, Clone)]
#[allow(
    clippy::manual_non_exhaustive,
    reason = "the private `_verified` field, not `#[non_exhaustive]`, keeps construction \
              inside this module, where the checks are: the type is the proof"
)]
pub struct VerifiedSnpReport {
    /// The report as `tee` parsed it.
    pub report: AttestationReport,
    /// The generation whose roots anchor the chain.
    pub generation: Generation,
    /// The kind of key that signed it.
    pub signer: Signer,
    _verified: (),
}

/// Verifies `report` with endorsement-key (and optionally CA) certificates `certs`, against
/// the built-in AMD roots at time `at`.
///
/// # Errors
/// [`SnpError`] naming the first check that failed.
pub fn verify_snp_report(
    report: &[u8],
    certs: &[AmdCert],
    at: VerificationTime,
) -> Result<VerifiedSnpReport, SnpError> {
    verify_with_roots(report, certs, &[], at, builtin_roots())
}

/// Like [`verify_snp_report`], also checking `crls` (see the module doc, step 7).
///
/// # Errors
/// As [`verify_snp_report`], plus [`SnpError::Crl`].
pub fn verify_snp_report_with_crls(
    report: &[u8],
    certs: &[AmdCert],
    crls: &[AmdCrl],
    at: VerificationTime,
) -> Result<VerifiedSnpReport, SnpError> {
    verify_with_roots(report, certs, crls, at, builtin_roots())
}

/// Like [`verify_snp_report`] with other roots (tests use it to show a wrong root fails).
///
/// # Errors
/// As [`verify_snp_report`].
pub fn verify_with_roots(
    bytes: &[u8],
    certs: &[AmdCert],
    crls: &[AmdCrl],
    at: VerificationTime,
    roots: &[AmdRoots],
) -> Result<VerifiedSnpReport, SnpError> {
    let view = ReportBytes::new_checked(bytes).map_err(SnpError::Parse)?;
    let report = AttestationReport::parse(&view).map_err(SnpError::Parse)?;
    let (signer, wanted) = match report.key_info.signing_key() {
        SigningKey::Vcek => (Signer::Vcek, "VCEK"),
        SigningKey::Vlek => (Signer::Vlek, "VLEK"),
        other => return Err(SnpError::UnsupportedSigningKey(other)),
    };
    if report.signature_algo != AttestationReport::SIG_ALGO_ECDSA_P384_SHA384 {
        return Err(SnpError::SignatureAlgorithm(report.signature_algo));
    }
    let r = report.signature.r_be().ok_or(SnpError::SignatureEncoding)?;
    let s = report.signature.s_be().ok_or(SnpError::SignatureEncoding)?;
    let sig =
        p384::ecdsa::Signature::from_scalars(r, s).map_err(|_| SnpError::SignatureEncoding)?;

    let keys: Vec<&AmdCert> = certs
        .iter()
        .filter(|c| c.is_endorsement_key() && c.common_name().contains(wanted))
        .collect();
    if keys.is_empty() {
        return Err(SnpError::NoEndorsementKey { wanted });
    }
    let vek = keys
        .iter()
        .copied()
        .find(|k| {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(k.public_key_sec1())
                .is_ok_and(|vk| vk.verify(view.signed_bytes(), &sig).is_ok())
        })
        .ok_or_else(|| SnpError::ReportSignature {
            tried: keys.iter().map(|k| k.common_name()).collect(),
        })?;

    // Step 4 on its own, so that the verdict names it rather than "does not chain".
    vek.check_algorithms().map_err(SnpError::BadCertificate)?;

    let generations: Vec<&AmdRoots> = match report.generation() {
        Some(g) => roots.iter().filter(|r| r.generation == g).collect(),
        None => roots.iter().collect(),
    };
    let mut errors = Vec::new();
    let mut anchor = None;
    for root in generations {
        let issuer = if signer == Signer::Vcek { &root.ask } else { &root.asvk };
        // ARK → ARK and ARK → ASK/ASVK were checked when `root` was built.
        match issuer.check_signed(vek) {
            Ok(()) => {
                anchor = Some((root, issuer));
                break;
            }
            Err(e) => errors.push((root.generation, e)),
        }
    }
    let (root, issuer) = anchor.ok_or(SnpError::Chain { errors })?;
    for ca in certs.iter().filter(|c| !c.is_endorsement_key()) {
        if ![&root.ark, &root.ask, &root.asvk].iter().any(|b| b.same_as(ca)) {
            return Err(SnpError::UntrustedCa { cert: ca.common_name() });
        }
    }
    for cert in [&root.ark, issuer, vek] {
        cert.check_validity(at).map_err(SnpError::Expired)?;
    }
    for crl in crls {
        crl.check(&root.ark, at, &[issuer, vek]).map_err(SnpError::Crl)?;
    }
    check_key_binding(&report, vek, root.generation)?;
    Ok(VerifiedSnpReport { report, generation: root.generation, signer, _verified: () })
}

/// Checks the VCEK/VLEK extensions (AMD KDS spec, table "VCEK certificate extensions").
fn check_key_binding(
    report: &AttestationReport,
    vek: &AmdCert,
    g: Generation,
) -> Result<(), SnpError> {
    let layout = if g == Generation::Turin { TcbLayout::Turin } else { TcbLayout::Legacy };
    let tcb = report.reported_tcb.decode(layout);
    let mut spls = vec![
        ("reported_tcb.bootloader", "1.3.6.1.4.1.3704.1.3.1", tcb.bootloader),
        ("reported_tcb.tee", "1.3.6.1.4.1.3704.1.3.2", tcb.tee),
        ("reported_tcb.snp", "1.3.6.1.4.1.3704.1.3.3", tcb.snp),
        ("reported_tcb.microcode", "1.3.6.1.4.1.3704.1.3.8", tcb.microcode),
    ];
    if let Some(fmc) = tcb.fmc {
        spls.push(("reported_tcb.fmc", "1.3.6.1.4.1.3704.1.3.9", fmc));
    }
    for (field, oid, have) in spls {
        let Some(ext) = vek.extension(oid) else {
            continue;
        };
        let cert = der_small_int(ext);
        if cert != Some(u64::from(have)) {
            return Err(SnpError::KeyMismatch {
                field,
                cert: cert.map_or_else(|| hex::encode(ext), |v| v.to_string()),
                report: have.to_string(),
            });
        }
    }
    if let Some(hwid) = vek.extension("1.3.6.1.4.1.3704.1.4")
        && report.chip_id != [0; 64]
        && hwid != report.chip_id
    {
        return Err(SnpError::KeyMismatch {
            field: "chip_id",
            cert: hex::encode(hwid),
            report: hex::encode(report.chip_id),
        });
    }
    Ok(())
}

/// Decodes a DER INTEGER of up to 8 content bytes.
fn der_small_int(b: &[u8]) -> Option<u64> {
    match b {
        [0x02, len, rest @ ..] if usize::from(*len) == rest.len() && rest.len() <= 8 => {
            Some(rest.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
        }
        _ => None,
    }
}
