//! DCAP collateral for TDX quotes, read from local files in the PCCS shapes.
//!
//! `--collateral` takes either one JSON file in `dcap-qvl`'s `QuoteCollateralV3` shape
//! (hex for binary fields, as in `tdx/dcap-qvl/tdx_quote_collateral.json`) or a directory:
//!
//! | item | file name (first found wins) | content |
//! |---|---|---|
//! | everything | `collateral.json` | the `QuoteCollateralV3` JSON above; if present, nothing else is read |
//! | TCB info | `tcb_info.json`, `sample_tcbInfo_response` | PCCS `GET /tdx/certification/v4/tcb` body: `{"tcbInfo":{..},"signature":"hex"}` |
//! | QE identity | `qe_identity.json`, `sample_qeIdentity_response` | PCCS `GET /tdx/certification/v4/qe/identity` body: `{"enclaveIdentity":{..},"signature":"hex"}` |
//! | TCB info issuer chain | `tcb_info_issuer_chain.pem` | PEM (the URL-decoded `TCB-Info-Issuer-Chain` header) |
//! | QE identity issuer chain | `qe_identity_issuer_chain.pem`, else the TCB info one | PEM (`SGX-Enclave-Identity-Issuer-Chain`) |
//! | PCK CRL | `pck_crl.der`, `pckcrl` | DER or PEM CRL (`GET /sgx/certification/v4/pckcrl`) |
//! | PCK CRL issuer chain | `pck_crl_issuer_chain.pem` | PEM (`SGX-PCK-CRL-Issuer-Chain`) |
//! | Root CA CRL | `root_ca_crl.der`, `rootcrl.der` | DER or PEM CRL of the Intel SGX Root CA |
//!
//! The second names are the ones `google/go-tdx-guest` uses for its test data, so its files
//! work as they are. The signed JSON (`tcbInfo`, `enclaveIdentity`) is kept byte for byte:
//! its signature covers the exact text the PCCS served.

use std::fmt;
use std::path::{Path, PathBuf};

use dcap_qvl::QuoteCollateralV3;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why collateral could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum CollateralError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// None of the accepted names for an item exists in the directory.
    Missing {
        /// The item ("TCB info", "PCK CRL", ...).
        item: &'static str,
        /// The names looked for.
        tried: &'static [&'static str],
    },
    /// A file exists but its content is not the expected shape.
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for CollateralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "collateral file {}: {error}", path.display()),
            Self::Missing { item, tried } => {
                write!(f, "collateral {item} missing: none of {tried:?} exists")
            }
            Self::Malformed { path, reason } => {
                write!(f, "collateral file {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for CollateralError {}

const COMBINED: &[&str] = &["collateral.json"];
const TCB_INFO: &[&str] = &["tcb_info.json", "sample_tcbInfo_response"];
const QE_IDENTITY: &[&str] = &["qe_identity.json", "sample_qeIdentity_response"];
const TCB_CHAIN: &[&str] = &["tcb_info_issuer_chain.pem"];
const QE_CHAIN: &[&str] = &["qe_identity_issuer_chain.pem", "tcb_info_issuer_chain.pem"];
const PCK_CRL: &[&str] = &["pck_crl.der", "pckcrl"];
const PCK_CHAIN: &[&str] = &["pck_crl_issuer_chain.pem"];
const ROOT_CRL: &[&str] = &["root_ca_crl.der", "rootcrl.der"];

/// DCAP collateral for one quote, as `dcap-qvl` consumes it.
#[derive(Debug, Clone)]
pub struct TdxCollateral(pub(crate) QuoteCollateralV3);

impl TdxCollateral {
    /// Loads collateral from a `QuoteCollateralV3` JSON file or a PCCS-shaped directory
    /// (see the module doc for the file names).
    ///
    /// # Errors
    /// [`CollateralError`] naming the missing or malformed file.
    pub fn load(path: &Path) -> Result<Self, CollateralError> {
        if path.is_dir() {
            match find(path, COMBINED) {
                Some(p) => Self::from_json_file(&p),
                None => Self::from_pccs_dir(path),
            }
        } else {
            Self::from_json_file(path)
        }
    }

    /// Parses the `QuoteCollateralV3` JSON text (binary fields as hex).
    ///
    /// # Errors
    /// [`CollateralError::Malformed`] if the text is not that shape.
    pub fn from_json(text: &str) -> Result<Self, CollateralError> {
        serde_json::from_str(text).map(Self).map_err(|e| CollateralError::Malformed {
            path: PathBuf::from("<collateral json>"),
            reason: e.to_string(),
        })
    }

    fn from_json_file(path: &Path) -> Result<Self, CollateralError> {
        let text = read_text(path)?;
        serde_json::from_str(&text).map(Self).map_err(|e| CollateralError::Malformed {
            path: path.to_owned(),
            reason: format!("not QuoteCollateralV3 JSON: {e}"),
        })
    }

    fn from_pccs_dir(dir: &Path) -> Result<Self, CollateralError> {
        let (tcb_info, tcb_info_signature) = signed_json(dir, "TCB info", TCB_INFO, "tcbInfo")?;
        let (qe_identity, qe_identity_signature) =
            signed_json(dir, "QE identity", QE_IDENTITY, "enclaveIdentity")?;
        Ok(Self(QuoteCollateralV3 {
            pck_crl_issuer_chain: read_text(&need(dir, "PCK CRL issuer chain", PCK_CHAIN)?)?,
            root_ca_crl: read_crl(&need(dir, "root CA CRL", ROOT_CRL)?)?,
            pck_crl: read_crl(&need(dir, "PCK CRL", PCK_CRL)?)?,
            tcb_info_issuer_chain: read_text(&need(dir, "TCB info issuer chain", TCB_CHAIN)?)?,
            tcb_info,
            tcb_info_signature,
            qe_identity_issuer_chain: read_text(&need(dir, "QE identity issuer chain", QE_CHAIN)?)?,
            qe_identity,
            qe_identity_signature,
            pck_certificate_chain: None,
        }))
    }

    /// Returns the collateral in `dcap-qvl`'s shape.
    pub fn as_dcap(&self) -> &QuoteCollateralV3 {
        &self.0
    }
}

fn find(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn need(
    dir: &Path,
    item: &'static str,
    tried: &'static [&'static str],
) -> Result<PathBuf, CollateralError> {
    find(dir, tried).ok_or(CollateralError::Missing { item, tried })
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, CollateralError> {
    std::fs::read(path).map_err(|error| CollateralError::Io { path: path.to_owned(), error })
}

fn read_text(path: &Path) -> Result<String, CollateralError> {
    String::from_utf8(read_bytes(path)?).map_err(|e| CollateralError::Malformed {
        path: path.to_owned(),
        reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
    })
}

/// Reads a CRL as DER; a PEM `X509 CRL` block is decoded to DER first.
fn read_crl(path: &Path) -> Result<Vec<u8>, CollateralError> {
    let bytes = read_bytes(path)?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(bytes);
    }
    let text = std::str::from_utf8(&bytes).unwrap_or_default();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(body.trim()).map_err(|e| {
        CollateralError::Malformed {
            path: path.to_owned(),
            reason: format!("PEM CRL body is not base64: {e}"),
        }
    })
}

/// Reads a PCCS `{"<key>": {...}, "signature": "hex"}` body, keeping `<key>` byte for byte.
fn signed_json(
    dir: &Path,
    item: &'static str,
    names: &'static [&'static str],
    key: &'static str,
) -> Result<(String, Vec<u8>), CollateralError> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, rename = "tcbInfo")]
        tcb_info: Option<&'a RawValue>,
        #[serde(borrow, rename = "enclaveIdentity")]
        enclave_identity: Option<&'a RawValue>,
        signature: String,
    }
    let path = need(dir, item, names)?;
    let text = read_text(&path)?;
    let malformed = |reason: String| CollateralError::Malformed { path: path.clone(), reason };
    let body: Body<'_> = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let raw = match key {
        "tcbInfo" => body.tcb_info,
        _ => body.enclave_identity,
    }
    .ok_or_else(|| malformed(format!("no \"{key}\" object")))?;
    let sig = hex::decode(body.signature.trim())
        .map_err(|e| malformed(format!("\"signature\" is not hex: {e}")))?;
    Ok((raw.get().to_owned(), sig))
}
