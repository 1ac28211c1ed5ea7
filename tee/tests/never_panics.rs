//! Property tests: no parser panics on any input, and whatever a parser accepts serializes
//! back to exactly the bytes it came from.
//!
//! Two input sources: uniformly random bytes (reach the length and version checks), and real
//! vectors with random bytes overwritten and a random cut (reach deep into the structure).
#![forbid(unsafe_code)]

mod common;

use proptest::prelude::*;
use tee::eventlog::{CcelTable, EventLog, replay_rtmrs};
use tee::snp::{AttestationReport, CertTable};
use tee::tdx::quote::{EnclaveReport, QuoteHeader};
use tee::tdx::{Quote, QuoteBytes, TdReport};
use tee::tsm::TsmReport;

/// Runs every parser on `buf`; checks exact re-serialization of whatever parses.
fn parse_everything(buf: &[u8]) {
    if let Ok(q) = QuoteBytes::new_checked(buf) {
        let quote = Quote::parse(&q).expect("checked quote must parse");
        assert_eq!(quote.to_bytes().unwrap(), q.quote_bytes());
        assert!(q.signed_bytes().len() <= q.quote_bytes().len());
    }
    if let Ok(q) = Quote::from_bytes(buf) {
        assert_eq!(q.to_bytes().unwrap(), buf);
    }
    if let Ok(h) = QuoteHeader::parse(buf) {
        assert_eq!(h.to_bytes(), buf);
    }
    if let Ok(r) = EnclaveReport::parse(buf) {
        assert_eq!(r.to_bytes(), buf);
    }
    if let Ok(r) = TdReport::from_bytes(buf) {
        assert_eq!(r.to_bytes(), buf);
    }
    if let Ok(r) = AttestationReport::from_bytes(buf) {
        assert_eq!(r.to_bytes(), buf);
    }
    let _ = CertTable::parse(buf);
    if let Ok(t) = CcelTable::parse(buf) {
        assert_eq!(t.to_bytes(), buf);
    }
    if let Ok((log, used)) = EventLog::parse_prefix(buf) {
        assert_eq!(log.to_bytes().unwrap(), &buf[..used]);
        let _ = replay_rtmrs(&log);
    }
    let _ = EventLog::parse(buf);
    let _ = TsmReport::from_json(&String::from_utf8_lossy(buf));
}

/// A real vector with up to 8 bytes overwritten, cut at a random length.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (prop::collection::vec((0..len, any::<u8>()), 0..8), 0..=len).prop_map(move |(edits, cut)| {
        let mut b = base.clone();
        for (i, v) in edits {
            b[i] = v;
        }
        b.truncate(cut);
        b
    })
}

fn log_head() -> Vec<u8> {
    let mut b = vector!("ccel/go-tdx-guest/ccel_data.dat");
    b.truncate(18200);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_any_parser(buf in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_everything(&buf);
    }

    #[test]
    fn mutated_tdx_quote_never_panics_and_accepted_mutants_round_trip(
        buf in mutated(vector!("tdx/dcap-qvl/tdx_quote"))
    ) {
        parse_everything(&buf);
    }

    #[test]
    fn mutated_snp_report_never_panics_and_accepted_mutants_round_trip(
        buf in mutated(vector!("snp/trustee/test-vlek-report.bin"))
    ) {
        parse_everything(&buf);
    }

    #[test]
    fn mutated_event_log_never_panics_and_accepted_mutants_round_trip(buf in mutated(log_head())) {
        parse_everything(&buf);
    }

    #[test]
    fn mutated_cert_table_and_ccel_table_never_panic(
        aux in mutated(TsmReport::from_json(
            std::str::from_utf8(&vector!("snp/veraison/sevsnp-tsm-report.json")).unwrap()
        ).unwrap().auxblob.unwrap()),
        ccel in mutated(vector!("ccel/go-tdx-guest/ccel_table.dat")),
    ) {
        parse_everything(&aux);
        parse_everything(&ccel);
    }

    #[test]
    fn random_json_shapes_never_panic(
        out in "[A-Za-z0-9_+/=-]{0,64}",
        aux in proptest::option::of("[A-Za-z0-9_+/=-]{0,64}"),
        provider in "(sev_guest|tdx_guest|x)\n?",
    ) {
        let mut json = format!(r#"{{"outblob":"{out}","provider":"{provider}""#);
        if let Some(aux) = aux {
            json.push_str(&format!(r#","auxblob":"{aux}""#));
        }
        json.push('}');
        let json = json.replace('\n', "\\n");
        if let Ok(r) = TsmReport::from_json(&json) {
            let _ = r.snp_report();
            let _ = r.snp_cert_table();
            let _ = r.tdx_quote();
            prop_assert_eq!(TsmReport::from_json(&r.to_json()).unwrap(), r);
        }
    }
}
