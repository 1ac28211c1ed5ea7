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
