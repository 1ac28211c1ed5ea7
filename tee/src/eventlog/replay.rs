//! Replaying a CC event log into the TDX runtime measurement registers.
//!
//! In a TDX CC event log the index field is an *MR index* (UEFI `EFI_CC_MEASUREMENT_PROTOCOL`):
//!
//! | MR index | register | replayed here? |
//! |---|---|---|
//! | 0 | MRTD (build-time, made by the TDX module) | no: the guest cannot extend it |
//! | 1 | RTMR0 (firmware configuration) | yes |
//! | 2 | RTMR1 (OS loader, kernel) | yes |
//! | 3 | RTMR2 (OS, applications) | yes |
//! | 4 | RTMR3 (reserved for the guest) | yes |
//!
//! Each register starts at 48 zero bytes, and every event extends it as
//! `RTMR = SHA-384(RTMR ‖ digest)`, using the event's SHA-384 digest. `EV_NO_ACTION` events
//! are informational and never extended (the Spec ID header is one).
//!
//! Replay only recomputes the registers; comparing them with a quote's RTMRs, and judging what
//! the events mean, is the verifier's job.

use core::fmt;

use sha2::{Digest as _, Sha384};

use crate::eventlog::{EventLog, EventType, HashAlg};

/// Why a log cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// An event to be extended has no SHA-384 digest.
    MissingSha384 {
        /// Index of the event in [`EventLog::events`].
        event: usize,
    },
    /// An event names an MR index above 4, which no TDX register has.
    MrIndexOutOfRange {
        /// Index of the event in [`EventLog::events`].
        event: usize,
        /// The MR index it names.
        mr_index: u32,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSha384 { event } => write!(f, "event {event} has no SHA-384 digest"),
            Self::MrIndexOutOfRange { event, mr_index } => {
                write!(f, "event {event} names MR index {mr_index}; TDX has 0 (MRTD) to 4 (RTMR3)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ReplayError {}

/// Returns `SHA-384(register ‖ digest)`: one RTMR extend.
pub fn extend_rtmr(register: &[u8; 48], digest: &[u8; 48]) -> [u8; 48] {
    let mut h = Sha384::new();
    h.update(register);
    h.update(digest);
    let mut out = [0u8; 48];
    out.copy_from_slice(&h.finalize());
    out
}

/// Replays `log` and returns RTMR0..RTMR3.
///
/// # Errors
/// [`ReplayError::MissingSha384`] if an extended event lacks a 48-byte SHA-384 digest;
/// [`ReplayError::MrIndexOutOfRange`] for an MR index above 4.
pub fn replay_rtmrs(log: &EventLog) -> Result<[[u8; 48]; 4], ReplayError> {
    let mut rtmrs = [[0u8; 48]; 4];
    for (i, e) in log.events.iter().enumerate() {
        if e.event_type == EventType::EV_NO_ACTION || e.pcr_index == 0 {
            continue;
        }
        // MR index i (1..=4) extends RTMR[i-1]; index 0 was skipped above.
        let slot = e
            .pcr_index
            .checked_sub(1)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| rtmrs.get_mut(n))
            .ok_or(ReplayError::MrIndexOutOfRange { event: i, mr_index: e.pcr_index })?;
        let digest: &[u8; 48] = e
            .digest(HashAlg::SHA384)
            .and_then(|d| d.try_into().ok())
            .ok_or(ReplayError::MissingSha384 { event: i })?;
        *slot = extend_rtmr(slot, digest);
    }
    Ok(rtmrs)
}
