//! Evidence as it arrives, and recognising which kind a byte string is.
//!
//! [`Evidence::detect`] accepts, in this order:
//! 1. JSON with `outblob` and `provider`: a Linux configfs-tsm report (`tee::tsm`); for
//!    `sev_guest` the `auxblob` certificate table supplies the VCEK and chain.
//! 2. JSON with `tee`: this service's own evidence document ([`EvidenceDoc`]).
//! 3. JSON with `attestation_report`: Trustee's SNP evidence, as the Confidential Containers
//!    attestation agent emits it (`crate::snp::TrusteeSnpEvidence`); `cert_chain` supplies
//!    the VCEK or VLEK and chain.
//! 4. Binary starting with a v4/v5 quote header whose TEE type is 0x81: a raw TDX quote.
//! 5. Binary of exactly 1184 bytes: a raw SNP report.
//! 6. Hex text (whitespace allowed) that decodes to 4 or 5.
//!
//! Recognised TDX quotes and SNP reports are then parsed with `tee`, whatever carried them:
//! bytes that claim to be a quote or report but do not parse (truncated, an unsupported
//! version) are bad input ([`EvidenceError::Malformed`]), reported before anything else is
//! asked of the caller (such as TDX collateral). Only well-formed evidence reaches the
//! verifier, whose failures are denials.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tee::ParseError;
use tee::tsm::{TsmProvider, TsmReport};

use crate::binding::Binding;
use crate::snp::{
    AmdCert, AmdCrl, CertError, TrusteeError, TrusteeSnpEvidence, certs_from_table, crls_from_table,
};

/// The TEE a piece of evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeeKind {
    /// Intel TDX.
    Tdx,
    /// AMD SEV-SNP.
    Snp,
    /// The development simulator (accepted only when explicitly enabled).
    Sim,
}

/// This service's evidence document: what `POST /attest` takes and `attest verify` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceDoc {
    /// Which TEE produced `evidence`.
    pub tee: TeeKind,
    /// The quote (TDX), report (SNP) or simulated report (sim), base64.
    pub evidence: String,
    /// SNP: an SNP certificate table (as in the configfs-tsm auxblob), base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxblob: Option<String>,
    /// SNP: extra certificates (VCEK/VLEK, ASK, ARK), each base64 DER or PEM text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<String>,
    /// SNP: CRLs (ARK-signed), each base64 DER or PEM text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crls: Vec<String>,
    /// The CC event log, base64: TDX (the CCEL data) or sim (the kernel's data/CCEL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_log: Option<String>,
    /// The challenge nonce, exactly as issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Data bound with the nonce into the report data, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_data: Option<String>,
}

/// Evidence, decoded and classified, not yet verified.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Which TEE it claims to come from.
    pub tee: TeeKind,
    /// The quote, report or simulated report bytes.
    pub bytes: Vec<u8>,
    /// Certificates that came with it (SNP).
    pub certs: Vec<AmdCert>,
    /// CRLs that came with it (SNP).
    pub crls: Vec<AmdCrl>,
    /// The CC event log (TDX, or the kernel's under sim), if any.
    pub event_log: Option<Vec<u8>>,
    /// The nonce it claims to answer, if any.
    pub nonce: Option<String>,
    /// The runtime data bound with the nonce (empty if none).
    pub runtime_data: Vec<u8>,
    /// Which report-data constructions may bind them.
    pub binding: Binding,
    /// How it was recognised (for the verdict): `"raw TDX quote"`, `"configfs-tsm JSON"`, ...
    pub format: &'static str,
}

/// Why bytes could not be read as evidence.
#[derive(Debug)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Not any recognised format.
    Unrecognised {
        /// Length of the input.
        len: usize,
    },
    /// JSON of a recognised shape with a bad field.
    Json {
        /// The format being read.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A base64 field does not decode.
    Base64 {
        /// The field.
        field: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// A certificate that came with the evidence does not parse.
    Cert(CertError),
    /// Bytes recognised as a TDX quote or SNP report do not parse as one.
    Malformed {
        /// How they were recognised (`"raw TDX quote"`, `"evidence JSON"`, ...).
        format: &'static str,
        /// Which TEE's structure they claim to be.
        tee: TeeKind,
        /// What `tee` reported: the field, its offset, and what is wrong.
        error: ParseError,
    },
}

impl fmt::Display for EvidenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unrecognised { len } => write!(
                f,
                "{len} bytes are not a TDX quote, an SNP report, configfs-tsm JSON or evidence JSON"
            ),
            Self::Json { format, reason } => write!(f, "{format}: {reason}"),
            Self::Base64 { field, reason } => {
                write!(f, "evidence field {field:?} is not base64: {reason}")
            }
            Self::Cert(e) => write!(f, "{e}"),
            Self::Malformed { format, tee, error } => {
                let what = match tee {
                    TeeKind::Tdx => "TDX quote",
                    TeeKind::Snp => "SNP report",
                    TeeKind::Sim => "simulated report",
                };
                write!(f, "{format}: not a well-formed {what}: {error}")
            }
        }
    }
}

impl std::error::Error for EvidenceError {}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_b64(field: &'static str, text: &str) -> Result<Vec<u8>, EvidenceError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if text.contains(['+', '/']) {
        &base64::alphabet::STANDARD
    } else {
        &base64::alphabet::URL_SAFE
    };
    GeneralPurpose::new(alphabet, cfg)
        .decode(text.trim())
        .map_err(|e| EvidenceError::Base64 { field, reason: e.to_string() })
}

impl Evidence {
    /// Recognises and decodes `input`, and parses the quote or report it carries (see the
    /// module doc for the formats).
    ///
    /// # Errors
    /// [`EvidenceError`] naming the format and the field that is wrong.
    pub fn detect(input: &[u8]) -> Result<Self, EvidenceError> {
        Self::recognise(input)?.well_formed()
    }

    /// Parses the quote or report with `tee`; the parsed value is dropped (the verifier
    /// parses again, from the same bytes, as part of its checks).
    fn well_formed(self) -> Result<Self, EvidenceError> {
        use tee::snp::{AttestationReport, ReportBytes};
        use tee::tdx::{Quote, QuoteBytes};
        let parsed = match self.tee {
            TeeKind::Tdx => {
                QuoteBytes::new_checked(&self.bytes[..]).and_then(|q| Quote::parse(&q)).map(drop)
            }
            TeeKind::Snp => ReportBytes::new_checked(&self.bytes[..])
                .and_then(|r| AttestationReport::parse(&r))
                .map(drop),
            // The simulated format is checked with its signature (`crate::sim`).
            TeeKind::Sim => Ok(()),
        };
        match parsed {
            Ok(()) => Ok(self),
            Err(error) => {
                Err(EvidenceError::Malformed { format: self.format, tee: self.tee, error })
            }
        }
    }

    fn recognise(input: &[u8]) -> Result<Self, EvidenceError> {
        let text = std::str::from_utf8(input).ok().map(str::trim);
        if let Some(t) = text.filter(|t| t.starts_with('{')) {
            let v: serde_json::Value = serde_json::from_str(t).map_err(|e| {
                EvidenceError::Json { format: "evidence JSON", reason: e.to_string() }
            })?;
            return if v.get("outblob").is_some() && v.get("provider").is_some() {
                Self::from_tsm(t)
            } else if v.get("tee").is_some() {
                let doc = serde_json::from_value(v).map_err(|e| EvidenceError::Json {
                    format: "evidence JSON",
                    reason: e.to_string(),
                })?;
                Self::decode_doc(&doc)
            } else if v.get("attestation_report").is_some() {
                Self::from_trustee(t)
            } else {
                Err(EvidenceError::Json {
                    format: "evidence JSON",
                    reason: "neither configfs-tsm (outblob, provider), evidence JSON (tee, \
                             evidence) nor Trustee SNP evidence (attestation_report)"
                        .into(),
                })
            };
        }
        if let Some(e) = Self::from_raw(input) {
            return Ok(e);
        }
        let hex_text: Option<String> = text
            .filter(|t| {
                !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit() || c.is_ascii_whitespace())
            })
            .map(|t| t.chars().filter(char::is_ascii_hexdigit).collect());
        hex_text
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| Self::from_raw(&b))
            .ok_or(EvidenceError::Unrecognised { len: input.len() })
    }

    fn bare(tee: TeeKind, bytes: Vec<u8>, format: &'static str) -> Self {
        Self {
            tee,
            bytes,
            certs: Vec::new(),
            crls: Vec::new(),
            event_log: None,
            nonce: None,
            runtime_data: Vec::new(),
            binding: Binding::Cocoon,
            format,
        }
    }

    fn from_raw(b: &[u8]) -> Option<Self> {
        let version = b.get(0..2).map(|v| u16::from_le_bytes([v[0], v[1]]));
        let tee_type = b.get(4..8).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
        if matches!(version, Some(4 | 5)) && tee_type == Some(0x81) {
            Some(Self::bare(TeeKind::Tdx, b.to_vec(), "raw TDX quote"))
        } else if b.len() == tee::snp::AttestationReport::LEN {
            Some(Self::bare(TeeKind::Snp, b.to_vec(), "raw SNP report"))
        } else {
            None
        }
    }

    fn from_tsm(text: &str) -> Result<Self, EvidenceError> {
        let json_err = |reason: String| EvidenceError::Json { format: "configfs-tsm JSON", reason };
        let tsm = TsmReport::from_json(text).map_err(|e| json_err(e.to_string()))?;
        match tsm.provider() {
            TsmProvider::SevGuest => {
                let (certs, crls) = match tsm.auxblob {
                    Some(_) => {
                        let table = tsm.snp_cert_table().map_err(|e| json_err(e.to_string()))?;
                        let certs = certs_from_table(&table).map_err(EvidenceError::Cert)?;
                        (certs, crls_from_table(&table).map_err(EvidenceError::Cert)?)
                    }
                    None => (Vec::new(), Vec::new()),
                };
                Ok(Self {
                    certs,
                    crls,
                    ..Self::bare(TeeKind::Snp, tsm.outblob, "configfs-tsm JSON (sev_guest)")
                })
            }
            TsmProvider::TdxGuest => {
                Ok(Self::bare(TeeKind::Tdx, tsm.outblob, "configfs-tsm JSON (tdx_guest)"))
            }
            TsmProvider::Other => {
                Err(json_err(format!("unknown provider {:?}", tsm.provider.trim_end())))
            }
        }
    }

    fn from_trustee(text: &str) -> Result<Self, EvidenceError> {
        let format = "Trustee SNP evidence JSON";
        let ev = TrusteeSnpEvidence::from_json(text).map_err(|e| match e {
            TrusteeError::Cert(c) => EvidenceError::Cert(c),
            other => EvidenceError::Json { format, reason: other.to_string() },
        })?;
        Ok(Self { certs: ev.certs, crls: ev.crls, ..Self::bare(TeeKind::Snp, ev.report, format) })
    }

    /// Decodes this service's evidence document and parses the quote or report in it.
    ///
    /// # Errors
    /// [`EvidenceError`] naming the field that does not decode, or
    /// [`EvidenceError::Malformed`].
    pub fn from_doc(doc: &EvidenceDoc) -> Result<Self, EvidenceError> {
        Self::decode_doc(doc)?.well_formed()
    }

    fn decode_doc(doc: &EvidenceDoc) -> Result<Self, EvidenceError> {
        let mut certs = Vec::new();
        let mut crls = Vec::new();
        if let Some(aux) = &doc.auxblob {
            let table = tee::snp::CertTable::parse(&decode_b64("auxblob", aux)?).map_err(|e| {
                EvidenceError::Json { format: "evidence JSON", reason: format!("auxblob: {e}") }
            })?;
            certs.extend(certs_from_table(&table).map_err(EvidenceError::Cert)?);
            crls.extend(crls_from_table(&table).map_err(EvidenceError::Cert)?);
        }
        for (i, c) in doc.crls.iter().enumerate() {
            let bytes = if c.trim_start().starts_with("-----BEGIN") {
                c.as_bytes().to_vec()
            } else {
                decode_b64("crls", c)?
            };
            crls.push(
                AmdCrl::parse(&bytes, &format!("evidence crls[{i}]"))
                    .map_err(EvidenceError::Cert)?,
            );
        }
        for (i, c) in doc.certs.iter().enumerate() {
            let bytes = if c.trim_start().starts_with("-----BEGIN") {
                c.as_bytes().to_vec()
            } else {
                decode_b64("certs", c)?
            };
            certs.extend(
                AmdCert::parse_all(&bytes, &format!("evidence certs[{i}]"))
                    .map_err(EvidenceError::Cert)?,
            );
        }
        Ok(Self {
            tee: doc.tee,
            bytes: decode_b64("evidence", &doc.evidence)?,
            certs,
            crls,
            event_log: doc.event_log.as_deref().map(|l| decode_b64("event_log", l)).transpose()?,
            nonce: doc.nonce.clone(),
            runtime_data: doc
                .runtime_data
                .as_deref()
                .map(|r| decode_b64("runtime_data", r))
                .transpose()?
                .unwrap_or_default(),
            binding: Binding::Cocoon,
            format: "evidence JSON",
        })
    }
}
