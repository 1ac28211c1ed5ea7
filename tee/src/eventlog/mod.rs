//! The TCG2 crypto-agile event log, as used for the Confidential Computing Event Log (CCEL).
//!
//! Firmware measures what it loads into the TDX RTMRs and records each measurement as an
//! event; the kernel then appends its own. Whoever holds the log can replay it and compare
//! the result with the RTMRs in a quote.
//!
//! - [`ccel`]: the 56-byte ACPI table that says where the log is.
//! - [`spec_id`]: the header event that declares the digest algorithms.
//! - [`tcg2`]: the log itself ([`EventLog`], [`PcrEvent2`]).
//! - [`event_type`]: event types and hash algorithm IDs with their TCG names.
//! - [`replay`]: SHA-384 replay into RTMR0..3 (MR index *i* extends RTMR[*i*−1]).
//! - [`log_bound`]: the log bound into the report data, where there are no registers.

pub mod ccel;
pub mod event_type;
pub mod log_bound;
pub mod replay;
pub mod spec_id;
pub mod tcg2;

pub use ccel::CcelTable;
pub use event_type::{EventType, HashAlg};
pub use log_bound::log_bound_report_data;
pub use replay::{ReplayError, extend_rtmr, replay_rtmrs};
pub use spec_id::{AlgorithmSize, SpecIdEvent};
pub use tcg2::{Digest, EventLog, PcrEvent2};
