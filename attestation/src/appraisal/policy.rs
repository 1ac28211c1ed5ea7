//! The appraisal policy: which verified evidence is acceptable.
//!
//! JSON, every field optional (defaults in brackets):
//! ```json
//! {
//!   "debug_allowed": false,                     // [false]
//!   "accepted_tcb_statuses": ["UpToDate"],      // TDX [["UpToDate"]]
//!   "allowed_vmpl": [0],                        // SNP [any]
//!   // SNP reported_tcb [none]
//!   "min_snp_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
//!   "min_guest_svn": 0,                         // SNP [none]
//!   "min_tee_tcb_svn": "03000400000000000000000000000000",  // TDX, per byte [none]
//!   "allowed": {"mr_td": ["<hex>", ...]},       // per register [none]
//!   "require_reference_match": true,            // [true when reference values are given]
//!   "require_nonce": false,                     // [false]
//!   "allow_simulated": false                    // [false]
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tdx::TcbStatus;

/// Minimum SNP TCB component SVNs (compared with the report's `reported_tcb`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinSnpTcb {
    /// PSP bootloader SVN.
    #[serde(default)]
    pub bootloader: u8,
    /// PSP OS SVN.
    #[serde(default)]
    pub tee: u8,
    /// SNP firmware SVN.
    #[serde(default)]
    pub snp: u8,
    /// Microcode patch level.
    #[serde(default)]
    pub microcode: u8,
    /// FMC SVN (Turin only; ignored elsewhere).
    #[serde(default)]
    pub fmc: u8,
}

/// What the operator accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Whether a debug-enabled guest may be affirmed.
    #[serde(default)]
    pub debug_allowed: bool,
    /// TDX TCB statuses accepted; anything else denies.
    #[serde(default = "default_statuses")]
    pub accepted_tcb_statuses: Vec<TcbStatus>,
    /// SNP VMPLs accepted; `None` accepts any.
    #[serde(default)]
    pub allowed_vmpl: Option<Vec<u32>>,
    /// Minimum SNP reported TCB.
    #[serde(default)]
    pub min_snp_tcb: Option<MinSnpTcb>,
    /// Minimum SNP guest SVN.
    #[serde(default)]
    pub min_guest_svn: Option<u32>,
    /// Minimum TDX TEE TCB SVN, compared byte by byte (hex, 16 bytes).
    #[serde(default)]
    pub min_tee_tcb_svn: Option<String>,
    /// Allowed values per measurement register (names as in
    /// [`VerifiedEvidence::measurements`](crate::verifier::VerifiedEvidence::measurements)).
    #[serde(default)]
    pub allowed: BTreeMap<String, Vec<String>>,
    /// Whether some reference entry must match; `None` means "yes, if any are loaded".
    #[serde(default)]
    pub require_reference_match: Option<bool>,
    /// Whether evidence must answer a nonce.
    #[serde(default)]
    pub require_nonce: bool,
    /// Whether simulated evidence may be affirmed (the verifier must also allow it).
    #[serde(default)]
    pub allow_simulated: bool,
}

fn default_statuses() -> Vec<TcbStatus> {
    vec![TcbStatus::UpToDate]
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            debug_allowed: false,
            accepted_tcb_statuses: default_statuses(),
            allowed_vmpl: None,
            min_snp_tcb: None,
            min_guest_svn: None,
            min_tee_tcb_svn: None,
            allowed: BTreeMap::new(),
            require_reference_match: None,
            require_nonce: false,
            allow_simulated: false,
        }
    }
}

impl Policy {
    /// Parses policy JSON.
    ///
    /// # Errors
    /// The JSON error, which names the unknown or mistyped field.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn empty_policy_forbids_debug_and_accepts_only_up_to_date() {
        let p = Policy::from_json("{}").unwrap();
        assert_eq!(p, Policy::default());
        assert!(!p.debug_allowed);
        assert_eq!(p.accepted_tcb_statuses, [TcbStatus::UpToDate]);
    }

    #[test]
    fn a_misspelled_field_is_rejected_by_name() {
        let e = Policy::from_json(r#"{"debug_alowed": true}"#).unwrap_err();
        assert!(e.to_string().contains("debug_alowed"), "{e}");
    }
}
