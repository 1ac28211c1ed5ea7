//! One entry point for every kind of evidence: [`verify_evidence`] turns an [`Evidence`] into
//! a [`VerifiedEvidence`], or says which check failed.
//!
//! What is checked per TEE is in [`crate::tdx`], [`crate::snp`] and [`crate::sim`]. A TDX
//! event log that comes with the evidence must replay to the verified RTMRs, or the whole
//! evidence fails: an unverifiable log is never shown as if it described the guest.

use std::collections::BTreeMap;
use std::fmt;

use crate::eventlog::{EventLogError, EventSummary, check_event_log};
use crate::evidence::{Evidence, TeeKind};
use crate::sim::{SimError, VerifiedSimReport, verify_sim_report};
use crate::snp::{AmdCert, AmdCrl, SnpError, VerifiedSnpReport, verify_snp_report_with_crls};
use crate::tdx::{TdxCollateral, TdxError, VerifiedTdxQuote, verify_tdx_quote};
use crate::time::VerificationTime;

/// What the verifier needs besides the evidence.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// DCAP collateral for TDX quotes.
    pub collateral: Option<&'a TdxCollateral>,
    /// Extra SNP certificates (a VCEK cache, `--certs`).
    pub extra_certs: &'a [AmdCert],
    /// Extra SNP CRLs (`*.crl` beside the certificates).
    pub extra_crls: &'a [AmdCrl],
    /// The time to verify at.
    pub at: VerificationTime,
    /// Whether simulated evidence may be accepted.
    pub allow_sim: bool,
}

/// Evidence that passed every cryptographic and freshness check for its TEE.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VerifiedEvidence {
    /// A TDX quote, with its replayed event log if one came with it.
    Tdx {
        /// The verified quote (boxed: it is much larger than the other variants).
        quote: Box<VerifiedTdxQuote>,
        /// The events, if a log was supplied (it replayed to the quote's RTMRs).
        events: Option<Vec<EventSummary>>,
    },
    /// An SNP report, with the event log that came with it, replayed.
    Snp {
        /// The verified report.
        report: Box<VerifiedSnpReport>,
        /// The log, replayed; it is worth nothing until the report data is found to bind it
        /// (appraisal checks that: [`BoundLog`]).
        log: Option<BoundLog>,
    },
    /// A simulated report (only with `allow_sim`), with its replayed event log if one came
    /// with it.
    Sim {
        /// The verified report (boxed: with its registers it is larger than the others).
        report: Box<VerifiedSimReport>,
        /// The events, if a log was supplied to a report with registers (it replayed to them).
        events: Option<Vec<EventSummary>>,
        /// The log, if one was supplied to a report without registers (version 1, as under
        /// `sim.registers=none`): as SNP's.
        log: Option<BoundLog>,
    },
}

/// An event log that came with a report that has no runtime registers (SEV-SNP, a version-1
/// sim report), replayed into RTMR0..3 as software registers.
///
/// Nothing vouches for it by itself: the kernel binds the log into the report data instead
/// (`tee::eventlog::log_bound`), so appraisal trusts these registers and events only once
/// the report data is found to be `log_bound_report_data(binding, log)`.
#[derive(Debug, Clone)]
pub struct BoundLog {
    /// The log, as sent.
    pub bytes: Vec<u8>,
    /// RTMR0..3 as the log replays them.
    pub registers: [[u8; 48]; 4],
    /// The events.
    pub events: Vec<EventSummary>,
}

impl BoundLog {
    /// Parses and replays `log`.
    ///
    /// # Errors
    /// [`EventLogError`] if it does not parse or replay.
    pub fn replay(log: &[u8]) -> Result<Self, EventLogError> {
        let parsed = tee::eventlog::EventLog::parse(log).map_err(EventLogError::Parse)?;
        let registers = tee::eventlog::replay_rtmrs(&parsed).map_err(EventLogError::Replay)?;
        Ok(Self { bytes: log.to_vec(), registers, events: crate::eventlog::summarize(&parsed) })
    }
}

/// Why evidence failed verification.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyError {
    /// A TDX quote arrived but no collateral was configured.
    NoCollateral,
    /// TDX verification failed.
    Tdx(TdxError),
    /// SNP verification failed.
    Snp(SnpError),
    /// The event log does not match the quote's or the sim report's registers.
    EventLog(EventLogError),
    /// Simulated evidence was rejected.
    Sim(SimError),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCollateral => f.write_str("TDX quote needs DCAP collateral (--collateral)"),
            Self::Tdx(e) => write!(f, "{e}"),
            Self::Snp(e) => write!(f, "{e}"),
            Self::EventLog(e) => write!(f, "{e}"),
            Self::Sim(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl VerifyError {
    /// Returns `true` if the evidence bytes are not a well-formed quote or report at all
    /// (truncated, wrong version, bad header), as opposed to well-formed evidence that
    /// failed a check. The CLI exits 2 and the service answers `400 bad_evidence` for these:
    /// there is nothing to appraise, so no verdict.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Self::Tdx(TdxError::Parse(_))
                | Self::Snp(SnpError::Parse(_))
                | Self::Sim(SimError::Format(_))
        )
    }
}

/// Verifies `evidence` (see the module doc).
///
/// # Errors
/// [`VerifyError`] naming the TEE-specific check that failed.
pub fn verify_evidence(
    evidence: &Evidence,
    opts: VerifyOptions<'_>,
) -> Result<VerifiedEvidence, VerifyError> {
    match evidence.tee {
        TeeKind::Tdx => {
            let collateral = opts.collateral.ok_or(VerifyError::NoCollateral)?;
            let quote =
                verify_tdx_quote(&evidence.bytes, collateral, opts.at).map_err(VerifyError::Tdx)?;
            let events = evidence
                .event_log
                .as_deref()
                .map(|log| check_event_log(log, quote.quote.rtmrs()))
                .transpose()
                .map_err(VerifyError::EventLog)?;
            Ok(VerifiedEvidence::Tdx { quote: Box::new(quote), events })
        }
        TeeKind::Snp => {
            let mut certs = evidence.certs.clone();
            certs.extend_from_slice(opts.extra_certs);
            let mut crls = evidence.crls.clone();
            crls.extend_from_slice(opts.extra_crls);
            let report = verify_snp_report_with_crls(&evidence.bytes, &certs, &crls, opts.at)
                .map_err(VerifyError::Snp)?;
            let log = evidence.event_log.as_deref().map(BoundLog::replay).transpose();
            Ok(VerifiedEvidence::Snp {
                report: Box::new(report),
                log: log.map_err(VerifyError::EventLog)?,
            })
        }
        TeeKind::Sim => {
            let report =
                verify_sim_report(&evidence.bytes, opts.allow_sim).map_err(VerifyError::Sim)?;
            // The kernel's measured-boot log replays to the report's registers as TDX's CCEL
            // does to the quote's; a version-1 report has none, and then the report data
            // binds the log, as under SNP.
            let (events, log) = match (&evidence.event_log, &report.registers) {
                (None, _) => (None, None),
                (Some(log), Some(registers)) => {
                    (Some(check_event_log(log, registers).map_err(VerifyError::EventLog)?), None)
                }
                (Some(log), None) => {
                    (None, Some(BoundLog::replay(log).map_err(VerifyError::EventLog)?))
                }
            };
            Ok(VerifiedEvidence::Sim { report: Box::new(report), events, log })
        }
    }
}

impl VerifiedEvidence {
    /// Returns the TEE kind.
    pub fn tee(&self) -> TeeKind {
        match self {
            Self::Tdx { .. } => TeeKind::Tdx,
            Self::Snp { .. } => TeeKind::Snp,
            Self::Sim { .. } => TeeKind::Sim,
        }
    }

    /// Returns the event log that came with a report without runtime registers, replayed;
    /// trust it only once the report data binds it (see [`BoundLog`]).
    pub fn bound_log(&self) -> Option<&BoundLog> {
        match self {
            Self::Snp { log, .. } | Self::Sim { log, .. } => log.as_ref(),
            Self::Tdx { .. } => None,
        }
    }

    /// Returns the 64 bytes of report data the guest bound.
    pub fn report_data(&self) -> [u8; 64] {
        match self {
            Self::Tdx { quote, .. } => *quote.quote.report_data(),
            Self::Snp { report: r, .. } => r.report.report_data,
            Self::Sim { report, .. } => report.report_data,
        }
    }

    /// Returns whether the guest runs with debug enabled (TD attribute bit 0; SNP policy
    /// bit 19; the sim flag).
    pub fn debug(&self) -> bool {
        match self {
            Self::Tdx { quote, .. } => quote.quote.body.td10().td_attributes[0] & 1 != 0,
            Self::Snp { report: r, .. } => r.report.policy.debug_allowed(),
            Self::Sim { report, .. } => report.debug,
        }
    }

    /// Returns every measurement register by the name reference values use, as hex.
    ///
    /// TDX: `mr_td`, `mr_config_id`, `mr_owner`, `mr_owner_config`, `mr_seam`, `rtmr0`..`rtmr3`.
    /// SNP: `measurement`, `host_data`, `id_key_digest`, `author_key_digest`, `family_id`,
    /// `image_id`. Sim: `measurement`.
    pub fn measurements(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        match self {
            Self::Tdx { quote, .. } => {
                let b = quote.quote.body.td10();
                m.insert("mr_td", hex::encode(b.mr_td));
                m.insert("mr_config_id", hex::encode(b.mr_config_id));
                m.insert("mr_owner", hex::encode(b.mr_owner));
                m.insert("mr_owner_config", hex::encode(b.mr_owner_config));
                m.insert("mr_seam", hex::encode(b.mr_seam));
                for (name, r) in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"].into_iter().zip(&b.rtmr) {
                    m.insert(name, hex::encode(r));
                }
            }
            Self::Snp { report: r, .. } => {
                let r = &r.report;
                m.insert("measurement", hex::encode(r.measurement));
                m.insert("host_data", hex::encode(r.host_data));
                m.insert("id_key_digest", hex::encode(r.id_key_digest));
                m.insert("author_key_digest", hex::encode(r.author_key_digest));
                m.insert("family_id", hex::encode(r.family_id));
                m.insert("image_id", hex::encode(r.image_id));
            }
            Self::Sim { report: r, .. } => {
                m.insert("measurement", hex::encode(r.measurement));
                for (i, register) in r.registers.iter().flatten().enumerate() {
                    m.insert(["rtmr0", "rtmr1", "rtmr2", "rtmr3"][i], hex::encode(register));
                }
            }
        }
        m
    }
}
