//! Replaying a CC event log (the CCEL) against the RTMRs of a verified TDX quote.
//!
//! The replay itself is `tee::eventlog::replay_rtmrs`. This module compares the result with
//! the quote, register by register, and lists every event so a verdict can show what was
//! measured. The log is unsigned: it is trustworthy only because it replays to RTMRs that
//! the quote's signature covers.

use std::fmt;

use tee::ParseError;
use tee::eventlog::{EventLog, HashAlg, ReplayError, replay_rtmrs};

/// One event of a replayed log, for display.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventSummary {
    /// Position in the log (the Spec ID header is not counted).
    pub index: usize,
    /// The MR index: 0 MRTD, 1..=4 RTMR0..RTMR3.
    pub mr_index: u32,
    /// The event type's name (e.g. `EV_EFI_VARIABLE_DRIVER_CONFIG`) or its number in hex.
    pub event_type: String,
    /// The SHA-384 digest, hex (empty if the event has none).
    pub sha384: String,
    /// A short description: printable event data, or its length.
    pub description: String,
}

/// Why a log does not support the quote.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventLogError {
    /// The log is not a TCG2 crypto-agile log.
    Parse(ParseError),
    /// The log cannot be replayed.
    Replay(ReplayError),
    /// A replayed register differs from the quote's.
    RtmrMismatch {
        /// Which RTMR (0..=3).
        rtmr: usize,
        /// The value the quote carries (hex).
        quoted: String,
        /// The value the log replays to (hex).
        replayed: String,
    },
}

impl fmt::Display for EventLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "event log malformed: {e}"),
            Self::Replay(e) => write!(f, "event log cannot be replayed: {e}"),
            Self::RtmrMismatch { rtmr, quoted, replayed } => {
                write!(
                    f,
                    "event log replays RTMR{rtmr} to {replayed}, but the evidence has {quoted}"
                )
            }
        }
    }
}

impl std::error::Error for EventLogError {}

/// Parses `log` (padding after the last event allowed), replays it, and checks that each
/// replayed RTMR equals `rtmrs`. Pass the RTMRs of a
/// [`VerifiedTdxQuote`](crate::tdx::VerifiedTdxQuote) or the registers of a verified sim
/// report: the log means nothing otherwise.
///
/// # Errors
/// [`EventLogError`] naming the first mismatching register, or what failed to parse.
pub fn check_event_log(
    log: &[u8],
    rtmrs: &[[u8; 48]; 4],
) -> Result<Vec<EventSummary>, EventLogError> {
    let log = EventLog::parse(log).map_err(EventLogError::Parse)?;
    let replayed = replay_rtmrs(&log).map_err(EventLogError::Replay)?;
    for (rtmr, (quoted, replayed)) in rtmrs.iter().zip(&replayed).enumerate() {
        if quoted != replayed {
            return Err(EventLogError::RtmrMismatch {
                rtmr,
                quoted: hex::encode(quoted),
                replayed: hex::encode(replayed),
            });
        }
    }
    Ok(summarize(&log))
}

/// Lists the events of a parsed log.
pub fn summarize(log: &EventLog) -> Vec<EventSummary> {
    log.events
        .iter()
        .enumerate()
        .map(|(index, e)| EventSummary {
            index,
            mr_index: e.pcr_index,
            event_type: e
                .event_type
                .name()
                .map_or_else(|| format!("{:#x}", e.event_type.0), str::to_owned),
            sha384: e.digest(HashAlg::SHA384).map(hex::encode).unwrap_or_default(),
            description: describe(&e.event),
        })
        .collect()
}

/// The longest event data shown as text: a kernel command line (2048 bytes on x86) with its
/// event's prefix fits, so that a verdict shows the command line that differs, not its length.
const MAX_TEXT: usize = 4096;

/// Returns the event data as text if it is printable ASCII (NULs trimmed) and at most
/// [`MAX_TEXT`] bytes, else its length.
fn describe(data: &[u8]) -> String {
    let trimmed: &[u8] = {
        let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        data.get(..end).unwrap_or_default()
    };
    let printable = !trimmed.is_empty()
        && trimmed.len() <= MAX_TEXT
        && trimmed.iter().all(|&b| b == b' ' || b.is_ascii_graphic());
    if printable {
        String::from_utf8_lossy(trimmed).into_owned()
    } else {
        format!("{} bytes", data.len())
    }
}
