//! The verdict: every claim checked, with expected and observed values.
//!
//! A verdict is `affirming` only if every claim passed. A denial therefore names each
//! failing claim; when reference values were consulted it also names the closest entry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::eventlog::EventSummary;
use crate::evidence::TeeKind;

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every claim passed.
    Affirming,
    /// At least one claim failed.
    Denied,
}

/// One check, with what the policy expected and what the evidence showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// What was checked (`debug`, `tcb_status`, `measurement.rtmr1`, ...).
    pub name: String,
    /// What the policy or reference values required.
    pub expected: String,
    /// What the evidence showed.
    pub observed: String,
    /// Whether it passed.
    pub passed: bool,
}

impl Claim {
    /// Returns a claim.
    pub fn new(
        name: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
        passed: bool,
    ) -> Self {
        Self { name: name.into(), expected: expected.into(), observed: observed.into(), passed }
    }
}

/// The result of verifying and appraising one piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Affirming or denied.
    pub status: Status,
    /// The TEE, if the evidence was recognised.
    pub tee: Option<TeeKind>,
    /// `true` for simulated evidence, which no hardware vouches for.
    pub simulated: bool,
    /// How the evidence was recognised.
    pub evidence_format: String,
    /// The verification time (RFC 3339).
    pub verified_at: String,
    /// The TDX TCB status, exactly as DCAP reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcb_status: Option<String>,
    /// Every claim checked, in order.
    pub claims: Vec<Claim>,
    /// The reference entry that matched, or came closest when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closest_reference: Option<String>,
    /// Every measurement register, hex.
    pub measurements: BTreeMap<String, String>,
    /// The replayed event log, if one was supplied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventSummary>>,
}

impl Verdict {
    /// Adds a claim and recomputes the status.
    pub fn push(&mut self, claim: Claim) {
        self.claims.push(claim);
        self.status =
            if self.claims.iter().all(|c| c.passed) { Status::Affirming } else { Status::Denied };
    }

    /// Returns the failing claims.
    pub fn failing(&self) -> impl Iterator<Item = &Claim> {
        self.claims.iter().filter(|c| !c.passed)
    }

    /// Returns the failing claim called `name`, if any.
    pub fn failed(&self, name: &str) -> Option<&Claim> {
        self.failing().find(|c| c.name == name)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Status::Affirming => "AFFIRMING",
            Status::Denied => "DENIED",
        };
        let tee = self.tee.map_or("unknown", |t| match t {
            TeeKind::Tdx => "tdx",
            TeeKind::Snp => "snp",
            TeeKind::Sim => "sim (SIMULATED: no hardware vouches for it)",
        });
        writeln!(
            f,
            "{status}: {tee} evidence ({}) verified at {}",
            self.evidence_format, self.verified_at
        )?;
        if let Some(s) = &self.tcb_status {
            writeln!(f, "TCB status: {s}")?;
        }
        for c in &self.claims {
            let mark = if c.passed { "ok  " } else { "FAIL" };
            writeln!(f, "  [{mark}] {}: expected {}, observed {}", c.name, c.expected, c.observed)?;
        }
        if let Some(r) = &self.closest_reference {
            writeln!(f, "reference entry: {r}")?;
        }
        if !self.measurements.is_empty() {
            writeln!(f, "measurements:")?;
            for (k, v) in &self.measurements {
                writeln!(f, "  {k} = {v}")?;
            }
        }
        if let Some(events) = &self.events {
            writeln!(
                f,
                "event log ({} events, replayed to the evidence's registers):",
                events.len()
            )?;
            for e in events {
                writeln!(
                    f,
                    "  #{:<3} MR{} {:<36} {} {}",
                    e.index,
                    e.mr_index,
                    e.event_type,
                    e.sha384.get(..16).unwrap_or(""),
                    e.description
                )?;
            }
        }
        Ok(())
    }
}
