//! CC event log replay against the quote from the same boot (`shared/vectors/ccel`).
#![forbid(unsafe_code)]

mod common;

use attestation::eventlog::{EventLogError, check_event_log};
use common::read;
use tee::tdx::{Quote, QuoteBytes};

fn rtmrs() -> [[u8; 48]; 4] {
    let q = read("ccel/go-tdx-guest/cos-113-tdx-quote.dat");
    *Quote::parse(&QuoteBytes::new_checked(&q[..]).unwrap()).unwrap().rtmrs()
}

#[test]
fn ccel_replays_to_exactly_the_rtmrs_of_its_quote() {
    let events = check_event_log(&read("ccel/go-tdx-guest/ccel_data.dat"), &rtmrs()).unwrap();
    assert!(events.len() > 10);
    assert!(events.iter().all(|e| e.mr_index <= 4));
    assert!(events.iter().any(|e| e.event_type.starts_with("EV_")));
}

#[test]
fn a_changed_event_digest_is_rejected_naming_the_rtmr() {
    let log = read("ccel/go-tdx-guest/ccel_data.dat");
    let events = check_event_log(&log, &rtmrs()).unwrap();
    let target = events.iter().find(|e| e.mr_index == 2).unwrap();
    let digest = hex::decode(&target.sha384).unwrap();
    let at = log.windows(48).position(|w| w == &digest[..]).unwrap();
    let mut bad = log.clone();
    bad[at] ^= 1;
    let e = check_event_log(&bad, &rtmrs()).unwrap_err();
    assert!(matches!(e, EventLogError::RtmrMismatch { rtmr: 1, .. }), "{e}");
}

#[test]
fn a_log_replayed_against_other_rtmrs_is_rejected() {
    let mut other = rtmrs();
    other[3][0] ^= 1;
    let e = check_event_log(&read("ccel/go-tdx-guest/ccel_data.dat"), &other).unwrap_err();
    assert!(e.to_string().contains("RTMR3"), "{e}");
}

#[test]
fn a_truncated_log_is_rejected_without_panicking() {
    let log = read("ccel/go-tdx-guest/ccel_data.dat");
    for len in [0, 1, 31, 65, 200, 1000] {
        assert!(check_event_log(&log[..len], &rtmrs()).is_err(), "len {len}");
    }
}

/// A simulated report whose registers are what `log` replays to (version 2), or none (v1).
fn sim_evidence(log: &[u8], with_registers: bool) -> attestation::evidence::Evidence {
    let parsed = tee::eventlog::EventLog::parse(log).unwrap();
    let registers = tee::eventlog::replay_rtmrs(&parsed).unwrap();
    let body = tee_abi::sim::SimReportBody {
        measurement: [7; 48],
        report_data: [0; 64],
        registers: with_registers.then_some(registers),
        debug: false,
    };
    attestation::evidence::Evidence {
        tee: attestation::evidence::TeeKind::Sim,
        bytes: body.sign(),
        certs: Vec::new(),
        crls: Vec::new(),
        event_log: Some(log.to_vec()),
        nonce: None,
        runtime_data: Vec::new(),
        binding: attestation::binding::Binding::Cocoon,
        format: "test",
    }
}

/// Verification options for simulated evidence, at a fixed time.
fn sim_options() -> attestation::verifier::VerifyOptions<'static> {
    attestation::verifier::VerifyOptions {
        collateral: None,
        extra_certs: &[],
        extra_crls: &[],
        at: common::at("2025-07-01T00:00:00Z"),
        allow_sim: true,
    }
}

fn verify_sim(evidence: &attestation::evidence::Evidence) -> Result<usize, String> {
    let opts = sim_options();
    match attestation::verifier::verify_evidence(evidence, opts) {
        Ok(attestation::verifier::VerifiedEvidence::Sim { events, .. }) => {
            Ok(events.map_or(0, |e| e.len()))
        }
        Ok(other) => Err(format!("not sim: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn a_sim_report_s_log_replays_to_its_registers_and_a_changed_one_does_not() {
    // The real CCEL vector stands in for the kernel's log: any crypto-agile SHA-384 log.
    let log = read("ccel/go-tdx-guest/ccel_data.dat");
    let events = verify_sim(&sim_evidence(&log, true)).unwrap();
    assert!(events > 10);
    let mut other = sim_evidence(&log, true);
    let registers = tee::eventlog::replay_rtmrs(&tee::eventlog::EventLog::parse(&log).unwrap());
    let listed = check_event_log(&log, &registers.unwrap()).unwrap();
    let digest = hex::decode(&listed[5].sha384).unwrap();
    let at = log.windows(48).position(|w| w == &digest[..]).unwrap();
    let mut bad = log.clone();
    bad[at] ^= 1;
    other.event_log = Some(bad);
    let e = verify_sim(&other).unwrap_err();
    assert!(e.contains("replays RTMR"), "a changed log must not replay to the registers: {e}");
}

/// A report without registers (SNP, a version-1 sim report): the log counts only once the
/// report data binds it, `SHA-512(domain ‖ binding ‖ SHA-384(log))`; its replay then gives
/// the registers reference values pin. One changed byte of the log, or a report that binds
/// the nonce alone, leaves the log out and the report data refused.
#[test]
fn without_registers_the_log_counts_only_when_the_report_data_binds_it() {
    use attestation::appraisal::{Policy, ReferenceValues, Status};
    let log = read("ccel/go-tdx-guest/ccel_data.dat");
    let nonce = "N".repeat(55);
    let binding = attestation::binding::expected_report_data(nonce.as_bytes(), b"");
    let appraise = |report_data: [u8; 64], sent_log: &[u8]| {
        let body = tee_abi::sim::SimReportBody {
            measurement: [7; 48],
            report_data,
            registers: None,
            debug: false,
        };
        let mut evidence = sim_evidence(sent_log, false);
        evidence.bytes = body.sign();
        evidence.nonce = Some(nonce.clone());
        let opts = sim_options();
        let verified = attestation::verifier::verify_evidence(&evidence, opts).unwrap();
        let policy = Policy { allow_simulated: true, ..Policy::default() };
        let at = common::at("2025-07-01T00:00:00Z");
        attestation::appraisal::appraise(
            &verified,
            &evidence,
            &policy,
            &ReferenceValues::default(),
            at,
        )
    };
    let bound = tee::eventlog::log_bound_report_data(&binding, &log);
    let v = appraise(bound, &log);
    assert_eq!(v.status, Status::Affirming, "{v}");
    let replayed =
        tee::eventlog::replay_rtmrs(&tee::eventlog::EventLog::parse(&log).unwrap()).unwrap();
    assert_eq!(v.measurements["rtmr1"], hex::encode(replayed[1]));
    assert!(v.events.as_ref().is_some_and(|e| e.len() > 10));

    // One event's digest changed: the log still parses and replays, but is not the bound one.
    let listed = check_event_log(&log, &replayed).unwrap();
    let digest = hex::decode(&listed[5].sha384).unwrap();
    let at = log.windows(48).position(|w| w == &digest[..]).unwrap();
    let mut changed = log.clone();
    changed[at] ^= 1;
    let v = appraise(bound, &changed);
    assert_eq!(v.failing().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["report_data"]);
    assert!(!v.measurements.contains_key("rtmr1") && v.events.is_none(), "{v}");

    // The nonce bound alone, with a log sent alongside: refused, the log unused.
    let v = appraise(binding, &log);
    assert_eq!(v.failing().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["report_data"]);
    assert!(v.events.is_none());
}

#[test]
fn a_register_off_its_reference_names_the_first_event_that_differs() {
    use attestation::appraisal::{Policy, ReferenceEntry, ReferenceEvent, ReferenceValues};
    let log = read("ccel/go-tdx-guest/ccel_data.dat");
    let evidence = sim_evidence(&log, true);
    let opts = sim_options();
    let verified = attestation::verifier::verify_evidence(&evidence, opts).unwrap();
    let registers = tee::eventlog::replay_rtmrs(&tee::eventlog::EventLog::parse(&log).unwrap());
    let listed = check_event_log(&log, &registers.unwrap()).unwrap();
    // RTMR1 (MR index 2): the reference expects its second event with another digest.
    let rtmr1: Vec<_> = listed.iter().filter(|e| e.mr_index == 2).collect();
    let mut events: Vec<ReferenceEvent> = rtmr1
        .iter()
        .map(|e| ReferenceEvent {
            register: "rtmr1".into(),
            description: e.description.clone(),
            sha384: e.sha384.clone(),
        })
        .collect();
    events[1].sha384 = "00".repeat(48);
    let refs = ReferenceValues {
        entries: vec![ReferenceEntry {
            name: "expected build".into(),
            tee: attestation::evidence::TeeKind::Sim,
            values: [("rtmr1".to_owned(), "11".repeat(48))].into(),
            events,
        }],
    };
    let policy = Policy { allow_simulated: true, ..Policy::default() };
    let at = common::at("2025-07-01T00:00:00Z");
    let verdict = attestation::appraisal::appraise(&verified, &evidence, &policy, &refs, at);
    let failing: Vec<_> = verdict.failing().map(|c| c.name.clone()).collect();
    let event_claim = format!("event.rtmr1[1] (log event {})", rtmr1[1].index);
    assert_eq!(failing, ["reference_values", "measurement.rtmr1", event_claim.as_str()]);
    let claim = verdict.failed(&event_claim).unwrap();
    assert!(claim.expected.contains(&"00".repeat(48)), "{claim:?}");
    assert!(claim.observed.contains(&rtmr1[1].sha384), "{claim:?}");
    assert!(claim.observed.contains(&format!("{:?}", rtmr1[1].description)), "{claim:?}");
}
