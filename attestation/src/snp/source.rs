//! Where SNP certificates come from: the evidence's certificate table, a file, or a directory.
//!
//! A file may be one DER certificate or a PEM bundle; `*.crl` files are CRLs. A directory
//! contributes every `*.der`, `*.pem`, `*.crt` and `*.cer` file in it (not recursive). The verifier
//! then picks the endorsement key the report names and ignores the rest, so a directory can hold
//! the VCEKs of many machines (a local cache).

use std::path::Path;

use tee::snp::{CertKind, CertTable};

use crate::snp::cert::{AmdCert, CertError};
use crate::snp::crl::AmdCrl;

/// Parses the ARK, ASK, VCEK and VLEK entries of an SNP certificate table (CRLs and unknown
/// GUIDs are skipped).
///
/// # Errors
/// [`CertError::Malformed`] naming the entry.
pub fn certs_from_table(table: &CertTable) -> Result<Vec<AmdCert>, CertError> {
    table
        .entries
        .iter()
        .filter(|e| {
            matches!(e.kind, CertKind::Ark | CertKind::Ask | CertKind::Vcek | CertKind::Vlek)
        })
        .map(|e| AmdCert::parse(&e.data, &format!("cert table entry {:?}", e.kind)))
        .collect()
}

/// Loads certificates from a file or directory.
///
/// # Errors
/// [`CertError::Malformed`] for an unreadable or unparsable file.
pub fn certs_from_path(path: &Path) -> Result<Vec<AmdCert>, CertError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| CertError::Malformed {
            source: p.display().to_string(),
            reason: e.to_string(),
        })
    };
    if !path.is_dir() {
        if path.extension().is_some_and(|e| e == "crl") {
            return Ok(Vec::new());
        }
        return AmdCert::parse_all(&read(path)?, &path.display().to_string());
    }
    let entries = std::fs::read_dir(path).map_err(|e| CertError::Malformed {
        source: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
            p.is_file() && ["der", "pem", "crt", "cer"].contains(&ext)
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(AmdCert::parse_all(&read(&f)?, &f.display().to_string())?);
    }
    Ok(out)
}

/// Parses the CRL entries of an SNP certificate table.
///
/// # Errors
/// [`CertError::Malformed`] naming the entry.
pub fn crls_from_table(table: &CertTable) -> Result<Vec<AmdCrl>, CertError> {
    table
        .entries
        .iter()
        .filter(|e| e.kind == CertKind::Crl)
        .map(|e| AmdCrl::parse(&e.data, "cert table CRL entry"))
        .collect()
}

/// Loads the `*.crl` files of a directory, or a file if it is named `*.crl`.
///
/// # Errors
/// [`CertError::Malformed`] for an unreadable or unparsable CRL.
pub fn crls_from_path(path: &Path) -> Result<Vec<AmdCrl>, CertError> {
    let is_crl = |p: &Path| p.is_file() && p.extension().is_some_and(|e| e == "crl");
    let files: Vec<_> = if path.is_dir() {
        let mut f: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| CertError::Malformed {
                source: path.display().to_string(),
                reason: e.to_string(),
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_crl(p))
            .collect();
        f.sort();
        f
    } else if is_crl(path) {
        vec![path.to_owned()]
    } else {
        Vec::new()
    };
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| CertError::Malformed {
                source: f.display().to_string(),
                reason: e.to_string(),
            })?;
            AmdCrl::parse(&bytes, &f.display().to_string())
        })
        .collect()
}
