//! The appraisal inputs that `attest verify` and `attest serve` both take: policy, reference
//! values, DCAP collateral and SNP certificates/CRLs, loaded one way with one set of messages.

use std::path::{Path, PathBuf};

use crate::appraisal::{Policy, ReferenceValues};
use crate::snp::{AmdCert, AmdCrl, certs_from_path, crls_from_path};
use crate::tdx::TdxCollateral;

/// Reads a file named by a flag; the error names the flag and the path.
pub(super) fn read_flag_file(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

/// Everything appraisal needs besides the evidence and the time.
pub(super) struct AppraisalInputs {
    pub policy: Policy,
    pub refs: ReferenceValues,
    pub collateral: Option<TdxCollateral>,
    pub certs: Vec<AmdCert>,
    pub crls: Vec<AmdCrl>,
}

impl AppraisalInputs {
    /// Loads the inputs from the `--policy`, `--reference-values`, `--collateral` and
    /// `--certs` paths; an absent flag gives the default (built-in policy, no values, none).
    pub fn load(
        policy: Option<&PathBuf>,
        reference_values: Option<&PathBuf>,
        collateral: Option<&PathBuf>,
        certs: Option<&PathBuf>,
    ) -> Result<Self, String> {
        let policy = match policy {
            Some(p) => {
                let text = String::from_utf8(read_flag_file(p, "--policy")?)
                    .map_err(|_| "--policy: not UTF-8".to_owned())?;
                Policy::from_json(&text).map_err(|e| format!("--policy {}: {e}", p.display()))?
            }
            None => Policy::default(),
        };
        let refs = match reference_values {
            Some(p) => ReferenceValues::load(p).map_err(|e| format!("--reference-values {e}"))?,
            None => ReferenceValues::default(),
        };
        let collateral = collateral
            .map(|p| TdxCollateral::load(p))
            .transpose()
            .map_err(|e| format!("--collateral: {e}"))?;
        let (certs, crls) = match certs {
            Some(p) => (
                certs_from_path(p).map_err(|e| format!("--certs: {e}"))?,
                crls_from_path(p).map_err(|e| format!("--certs: {e}"))?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Self { policy, refs, collateral, certs, crls })
    }
}
