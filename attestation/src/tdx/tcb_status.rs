//! The TCB status DCAP assigns a platform, kept exact.
//!
//! `dcap-qvl`'s `is_valid()` treats `OutOfDate` as valid; this verifier never collapses
//! statuses. Which ones are acceptable is the appraisal policy's decision
//! (`accepted_tcb_statuses`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A TDX TCB status as Intel's TCB info names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TcbStatus {
    /// The platform is patched to the latest TCB.
    UpToDate,
    /// Up to date, but software hardening (e.g. against a side channel) is needed.
    SWHardeningNeeded,
    /// Up to date, but the platform configuration needs changing.
    ConfigurationNeeded,
    /// Both of the above.
    ConfigurationAndSWHardeningNeeded,
    /// The platform's TCB is older than the latest.
    OutOfDate,
    /// Out of date, and the configuration also needs changing.
    OutOfDateConfigurationNeeded,
    /// The platform's TCB level has been revoked.
    Revoked,
    /// TD 1.5: launched on an out-of-date TCB that has since been updated in place.
    TDRelaunchAdvised,
    /// `TDRelaunchAdvised` where configuration also needs changing.
    TDRelaunchAdvisedConfigurationNeeded,
}

impl TcbStatus {
    /// Returns the name exactly as Intel's TCB info spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::UpToDate => "UpToDate",
            Self::SWHardeningNeeded => "SWHardeningNeeded",
            Self::ConfigurationNeeded => "ConfigurationNeeded",
            Self::ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            Self::OutOfDate => "OutOfDate",
            Self::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            Self::Revoked => "Revoked",
            Self::TDRelaunchAdvised => "TDRelaunchAdvised",
            Self::TDRelaunchAdvisedConfigurationNeeded => "TDRelaunchAdvisedConfigurationNeeded",
        }
    }
}

impl fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<dcap_qvl::TcbStatus> for TcbStatus {
    fn from(s: dcap_qvl::TcbStatus) -> Self {
        use dcap_qvl::TcbStatus as D;
        match s {
            D::UpToDate => Self::UpToDate,
            D::SWHardeningNeeded => Self::SWHardeningNeeded,
            D::ConfigurationNeeded => Self::ConfigurationNeeded,
            D::ConfigurationAndSWHardeningNeeded => Self::ConfigurationAndSWHardeningNeeded,
            D::OutOfDate => Self::OutOfDate,
            D::OutOfDateConfigurationNeeded => Self::OutOfDateConfigurationNeeded,
            D::Revoked => Self::Revoked,
            D::TDRelaunchAdvised => Self::TDRelaunchAdvised,
            D::TDRelaunchAdvisedConfigurationNeeded => Self::TDRelaunchAdvisedConfigurationNeeded,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn out_of_date_and_up_to_date_are_distinct_names() {
        assert_ne!(TcbStatus::OutOfDate.name(), TcbStatus::UpToDate.name());
        let json = serde_json::to_string(&TcbStatus::SWHardeningNeeded).unwrap();
        assert_eq!(json, "\"SWHardeningNeeded\"");
    }
}
