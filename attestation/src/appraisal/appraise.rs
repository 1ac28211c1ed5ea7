//! Appraising verified evidence against a policy and reference values.
//!
//! Verification (signatures, chains, times) happens before; appraisal only decides whether
//! what the evidence says is acceptable, and records each decision as a [`Claim`].

use crate::appraisal::{Claim, Policy, ReferenceValues, Status, Verdict};
use crate::binding::{Binding, expected_report_data, trustee_report_data};
use crate::evidence::{Evidence, TeeKind};
use crate::time::VerificationTime;
use crate::verifier::{VerifiedEvidence, VerifyError};
use tee::eventlog::log_bound_report_data;

/// Builds the verdict for evidence that failed verification: one failing claim naming why.
pub fn denied_unverified(
    evidence: Option<&Evidence>,
    error: &VerifyError,
    at: VerificationTime,
) -> Verdict {
    let mut v = empty(evidence.map(|e| e.tee), evidence.map_or("unrecognised", |e| e.format), at);
    v.simulated = evidence.is_some_and(|e| e.tee == TeeKind::Sim);
    v.push(Claim::new(
        "evidence",
        "verified signature, chain and validity",
        error.to_string(),
        false,
    ));
    v
}

fn empty(tee: Option<TeeKind>, format: &str, at: VerificationTime) -> Verdict {
    Verdict {
        status: Status::Affirming,
        tee,
        simulated: tee == Some(TeeKind::Sim),
        evidence_format: format.to_owned(),
        verified_at: at.to_string(),
        tcb_status: None,
        claims: Vec::new(),
        closest_reference: None,
        measurements: Default::default(),
        events: None,
    }
}

/// Appraises verified evidence. `evidence` supplies the nonce and runtime data it claims to
/// bind; the nonce's own freshness is the caller's check (the service adds that claim).
pub fn appraise(
    verified: &VerifiedEvidence,
    evidence: &Evidence,
    policy: &Policy,
    refs: &ReferenceValues,
    at: VerificationTime,
) -> Verdict {
    let mut v = empty(Some(verified.tee()), evidence.format, at);
    v.measurements = verified.measurements().into_iter().map(|(k, s)| (k.to_owned(), s)).collect();
    match verified {
        VerifiedEvidence::Tdx { quote, events } => {
            v.push(Claim::new(
                "evidence",
                "quote signed by a PCK chained to the Intel SGX Root CA, collateral current",
                "verified",
                true,
            ));
            let accepted: Vec<&str> =
                policy.accepted_tcb_statuses.iter().map(|s| s.name()).collect();
            let status = quote.tcb_status.name();
            v.tcb_status = Some(status.to_owned());
            v.push(Claim::new(
                "tcb_status",
                format!("one of {accepted:?}"),
                status,
                accepted.contains(&status),
            ));
            let expires = crate::time::VerificationTime::from_unix(quote.collateral_expires);
            v.push(Claim::new(
                "collateral_window",
                format!("{at} inside every collateral validity window"),
                format!("earliest expiry {expires}"),
                true,
            ));
            if !quote.advisory_ids.is_empty() {
                v.push(Claim::new(
                    "advisory_ids",
                    "reported (informational)",
                    quote.advisory_ids.join(","),
                    true,
                ));
            }
            if let Some(min) = &policy.min_tee_tcb_svn {
                let have = quote.quote.body.td10().tee_tcb_svn;
                let ok = hex::decode(min)
                    .is_ok_and(|m| m.len() == 16 && m.iter().zip(&have).all(|(m, h)| h >= m));
                v.push(Claim::new(
                    "tee_tcb_svn",
                    format!(">= {min} (per byte)"),
                    hex::encode(have),
                    ok,
                ));
            }
            if let Some(events) = events {
                accept_log(&mut v, "replays to the quoted RTMR0..3", "replayed", events);
            }
        }
        VerifiedEvidence::Snp { report: r, .. } => {
            let signer = format!("{:?}", r.signer).to_uppercase();
            v.push(Claim::new(
                "evidence",
                "report signed by a VCEK/VLEK chained to a built-in AMD ARK",
                format!("verified ({signer}, {})", r.generation.name()),
                true,
            ));
            let vmpl = r.report.vmpl;
            match &policy.allowed_vmpl {
                Some(list) => v.push(Claim::new(
                    "vmpl",
                    format!("one of {list:?}"),
                    vmpl.to_string(),
                    list.contains(&vmpl),
                )),
                None => v.push(Claim::new("vmpl", "any", vmpl.to_string(), true)),
            }
            if let Some(min) = &policy.min_snp_tcb {
                let layout = if r.generation == tee::snp::Generation::Turin {
                    tee::snp::TcbLayout::Turin
                } else {
                    tee::snp::TcbLayout::Legacy
                };
                let t = r.report.reported_tcb.decode(layout);
                let mut parts = vec![
                    ("bootloader", t.bootloader, min.bootloader),
                    ("tee", t.tee, min.tee),
                    ("snp", t.snp, min.snp),
                    ("microcode", t.microcode, min.microcode),
                ];
                if let Some(fmc) = t.fmc {
                    parts.push(("fmc", fmc, min.fmc));
                }
                for (name, have, need) in parts {
                    v.push(Claim::new(
                        format!("reported_tcb.{name}"),
                        format!(">= {need}"),
                        have.to_string(),
                        have >= need,
                    ));
                }
            }
            if let Some(min) = policy.min_guest_svn {
                let have = r.report.guest_svn;
                v.push(Claim::new("guest_svn", format!(">= {min}"), have.to_string(), have >= min));
            }
        }
        VerifiedEvidence::Sim { report, events, .. } => {
            v.push(Claim::new(
                "simulated",
                "hardware evidence, or a policy that allows simulated evidence",
                "simulated evidence",
                policy.allow_simulated,
            ));
            // The sim playing SNP reports a VMPL: appraised as a real SNP report's.
            if let (Some(vmpl), Some(list)) = (report.vmpl, &policy.allowed_vmpl) {
                v.push(Claim::new(
                    "vmpl",
                    format!("one of {list:?}"),
                    vmpl.to_string(),
                    list.contains(&vmpl),
                ));
            }
            if let Some(events) = events {
                accept_log(&mut v, "replays to the report's registers 0..3", "replayed", events);
            }
        }
    }
    let debug = verified.debug();
    let bit = match verified.tee() {
        TeeKind::Tdx => "TD attributes bit 0",
        TeeKind::Snp => "guest policy bit 19",
        TeeKind::Sim => "sim debug flag",
    };
    let expected = if policy.debug_allowed {
        format!("any ({bit}; policy allows debug)")
    } else {
        format!("false ({bit}; policy forbids debug)")
    };
    v.push(Claim::new("debug", expected, debug.to_string(), policy.debug_allowed || !debug));
    allowed_values(&mut v, policy);
    // The binding first: where it vouches for a log (no runtime registers), the log's
    // replayed registers become measurements the reference values can pin.
    binding(&mut v, verified, evidence, policy);
    reference_match(&mut v, verified.tee(), policy, refs);
    v
}

fn allowed_values(v: &mut Verdict, policy: &Policy) {
    for (reg, allowed) in &policy.allowed {
        let observed = v.measurements.get(reg).cloned().unwrap_or_else(|| "absent".to_owned());
        let ok = allowed.iter().any(|a| a.eq_ignore_ascii_case(&observed));
        v.push(Claim::new(format!("allowed.{reg}"), format!("one of {allowed:?}"), observed, ok));
    }
}

fn reference_match(v: &mut Verdict, tee: TeeKind, policy: &Policy, refs: &ReferenceValues) {
    let entries: Vec<_> = refs.entries.iter().filter(|e| e.tee == tee).collect();
    if !policy.require_reference_match.unwrap_or(!refs.entries.is_empty()) {
        return;
    }
    let score = |e: &&crate::appraisal::ReferenceEntry| {
        e.values.iter().filter(|(k, want)| v.measurements.get(k.as_str()) == Some(want)).count()
    };
    let best = entries.iter().max_by_key(|e| (score(e), std::cmp::Reverse(e.values.len())));
    let Some(best) = best else {
        v.push(Claim::new(
            "reference_values",
            format!("an entry for {tee:?}"),
            "no entries for this TEE",
            false,
        ));
        return;
    };
    let matched = score(best);
    let total = best.values.len();
    v.closest_reference = Some(best.name.clone());
    if matched == total && total > 0 {
        v.push(Claim::new(
            "reference_values",
            "a matching entry",
            format!("matches {:?}", best.name),
            true,
        ));
        return;
    }
    v.push(Claim::new(
        "reference_values",
        "a matching entry",
        format!("no entry matches; closest is {:?} ({matched}/{total} registers equal)", best.name),
        false,
    ));
    for (reg, want) in &best.values {
        let have = v.measurements.get(reg).cloned().unwrap_or_else(|| "absent".to_owned());
        if &have != want {
            v.push(Claim::new(
                format!("measurement.{reg}"),
                format!("{want} (from {:?})", best.name),
                have,
                false,
            ));
            if let Some(claim) = first_differing_event(best, reg, v.events.as_deref()) {
                v.push(claim);
            }
        }
    }
}

/// Names the first event of register `reg` where the log differs from what `entry` expects
/// (`None` if the entry lists no events for it, or no log came with the evidence).
fn first_differing_event(
    entry: &crate::appraisal::ReferenceEntry,
    reg: &str,
    log: Option<&[crate::eventlog::EventSummary]>,
) -> Option<Claim> {
    // A CC event log numbers MRTD 0 and RTMR0..3 as 1..4.
    let mr_index = reg.strip_prefix("rtmr")?.parse::<u32>().ok()? + 1;
    let expected: Vec<_> = entry.events.iter().filter(|e| e.register == reg).collect();
    if expected.is_empty() {
        return None;
    }
    let observed: Vec<_> = log?.iter().filter(|e| e.mr_index == mr_index).collect();
    let show = |d: &str, h: &str| format!("{d:?} with SHA-384 {h}");
    for i in 0..expected.len().max(observed.len()) {
        let (want, have) = (expected.get(i), observed.get(i));
        let same = matches!((want, have), (Some(w), Some(h)) if w.sha384 == h.sha384);
        if same {
            continue;
        }
        let name = match have {
            Some(h) => format!("event.{reg}[{i}] (log event {})", h.index),
            None => format!("event.{reg}[{i}]"),
        };
        return Some(Claim::new(
            name,
            want.map_or("no event".to_owned(), |w| show(&w.description, &w.sha384)),
            have.map_or("no event".to_owned(), |h| show(&h.description, &h.sha384)),
            false,
        ));
    }
    None
}

fn binding(v: &mut Verdict, verified: &VerifiedEvidence, evidence: &Evidence, policy: &Policy) {
    let observed = hex::encode(verified.report_data());
    let log = verified.bound_log();
    let Some(nonce) = &evidence.nonce else {
        if policy.require_nonce {
            v.push(Claim::new("report_data", "bound to a nonce", "evidence names no nonce", false));
        }
        if log.is_some() {
            v.push(Claim::new(
                "event_log",
                "bound by the report data (this TEE has no runtime registers)",
                "not checked without the nonce: its events are not used",
                true,
            ));
        }
        return;
    };
    let mut candidates = vec![(
        "SHA-512(nonce ‖ runtime_data)",
        expected_report_data(nonce.as_bytes(), &evidence.runtime_data),
    )];
    if let Binding::CocoonOrTrustee { trustee_runtime_data } = &evidence.binding {
        candidates.push(("Trustee's SHA-384(R₃) ‖ 0¹⁶", trustee_report_data(trustee_runtime_data)));
    }
    // What the report data must be: each binding, wrapped with the log where one is bound.
    let wanted: Vec<(String, [u8; 64])> = candidates
        .into_iter()
        .map(|(how, want)| match log {
            Some(log) => (
                format!("SHA-512(log-bound domain ‖ {how} ‖ SHA-384(event log))"),
                log_bound_report_data(&want, &log.bytes),
            ),
            None => (how.to_owned(), want),
        })
        .collect();
    let ok = wanted.iter().any(|(_, want)| *want == verified.report_data());
    let expected: Vec<String> =
        wanted.iter().map(|(how, want)| format!("{how} = {}", hex::encode(want))).collect();
    v.push(Claim::new("report_data", expected.join(", or "), observed, ok));
    if let (Some(log), true) = (log, ok) {
        accept_log(
            v,
            "bound by the report data (this TEE has no runtime registers)",
            "replayed into software registers",
            &log.events,
        );
        for (name, register) in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"].iter().zip(&log.registers) {
            v.measurements.insert((*name).to_owned(), hex::encode(register));
        }
    }
}

/// Records a log the evidence vouches for (`how`): the passing `event_log` claim, and its
/// events in the verdict.
fn accept_log(v: &mut Verdict, how: &str, done: &str, events: &[crate::eventlog::EventSummary]) {
    v.push(Claim::new("event_log", how, format!("{} events {done}", events.len()), true));
    v.events = Some(events.to_vec());
}
