//! The CCEL (ACPI table and TCG2 log) from a real TDX boot (shared/vectors/ccel), replayed
//! against the RTMRs of the quote from the same boot.
#![forbid(unsafe_code)]

mod common;

use common::hexa;
use tee::ParseError;
use tee::eventlog::{
    CcelTable, EventLog, EventType, HashAlg, PcrEvent2, ReplayError, replay_rtmrs,
};
use tee::tdx::{Quote, QuoteBytes};

fn log_area() -> Vec<u8> {
    vector!("ccel/go-tdx-guest/ccel_data.dat")
}

/// Bytes the log proper uses in the 256 KiB area (the rest is 0xFF), found independently.
const LOG_LEN: usize = 18101;

mod acpi_table {
    use super::*;

    #[test]
    fn ccel_table_points_at_a_256k_tdx_log_area() {
        let buf = vector!("ccel/go-tdx-guest/ccel_table.dat");
        let t = CcelTable::parse(&buf).unwrap();
        assert_eq!(t.cc_type, CcelTable::CC_TYPE_TDX);
        assert_eq!(t.cc_subtype, 0);
        assert_eq!(t.laml, 0x40000);
        assert_eq!(t.lasa, 0xbedb_f000);
        assert_eq!(&t.oem_id, b"INTEL ");
        assert_eq!(&t.oem_table_id, b"EDK2    ");
        assert_eq!(t.laml as usize, log_area().len());
        assert_eq!(t.to_bytes(), buf);
    }

    #[test]
    fn every_truncation_of_the_table_is_an_error() {
        let buf = vector!("ccel/go-tdx-guest/ccel_table.dat");
        for cut in 0..buf.len() {
            assert!(CcelTable::parse(&buf[..cut]).is_err());
        }
    }
}

mod log {
    use super::*;

    #[test]
    fn spec_id_event_declares_sha384_only() {
        let log = EventLog::parse(&log_area()).unwrap();
        let s = &log.spec_id;
        assert_eq!(s.algorithms.len(), 1);
        assert_eq!(s.algorithms[0].alg, HashAlg::SHA384);
        assert_eq!(s.digest_size(HashAlg::SHA384), Some(48));
        assert_eq!((s.spec_version_major, s.spec_version_minor, s.uintn_size), (2, 0, 2));
        // TCG puts the header in PCR 0; TDVF put it at MR index 1. Kept as found.
        assert_eq!(s.pcr_index, 1);
    }

    #[test]
    fn log_has_43_events_starting_with_the_td_hob_table() {
        let log = EventLog::parse(&log_area()).unwrap();
        assert_eq!(log.events.len(), 43);
        let first = &log.events[0];
        assert_eq!((first.pcr_index, first.event_type), (1, EventType::EV_EFI_HANDOFF_TABLES2));
        assert_eq!(&first.event[..9], b"\tTdxTable");
        assert_eq!(log.events.iter().filter(|e| e.event_type == EventType::EV_IPL).count(), 20);
        assert!(log.events.iter().all(|e| e.digest(HashAlg::SHA384).is_some()));
        assert!(log.events.iter().all(|e| (1..=4).contains(&e.pcr_index)));
    }

    #[test]
    fn log_round_trips_byte_for_byte_and_the_rest_is_0xff() {
        let area = log_area();
        let (log, used) = EventLog::parse_prefix(&area).unwrap();
        assert_eq!(used, LOG_LEN);
        assert_eq!(log.to_bytes().unwrap(), &area[..LOG_LEN]);
        assert!(area[LOG_LEN..].iter().all(|b| *b == 0xFF));
    }

    #[test]
    fn replay_reproduces_the_rtmrs_of_the_quote_from_the_same_boot() {
        let log = EventLog::parse(&log_area()).unwrap();
        let quote = Quote::parse(
            &QuoteBytes::new_checked(vector!("ccel/go-tdx-guest/cos-113-tdx-quote.dat")).unwrap(),
        )
        .unwrap();
        let rtmrs = replay_rtmrs(&log).unwrap();
        assert_eq!(&rtmrs, quote.rtmrs());
        assert_eq!(
            rtmrs[0],
            hexa(
                "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1\
                 b7df60f21f37b19297fc35e544039c7e1edece752afd17f6"
            )
        );
        assert_eq!(rtmrs[3], [0; 48]);
    }

    #[test]
    fn changing_one_digest_changes_the_replayed_rtmr() {
        let mut log = EventLog::parse(&log_area()).unwrap();
        let before = replay_rtmrs(&log).unwrap();
        log.events[5].digests[0].bytes[0] ^= 1;
        let reg = (log.events[5].pcr_index - 1) as usize;
        let after = replay_rtmrs(&log).unwrap();
        assert_ne!(before[reg], after[reg]);
    }

    #[test]
    fn event_cut_in_the_middle_is_an_error_but_a_cut_between_events_is_a_shorter_log() {
        let area = log_area();
        let (log, _) = EventLog::parse_prefix(&area).unwrap();
        // Event boundaries, from the parsed sizes.
        let mut boundaries = vec![65usize];
        for e in &log.events {
            let len =
                12 + e.digests.iter().map(|d| 2 + d.bytes.len()).sum::<usize>() + 4 + e.event.len();
            boundaries.push(boundaries.last().unwrap() + len);
        }
        assert_eq!(*boundaries.last().unwrap(), LOG_LEN);
        for cut in 0..LOG_LEN {
            let parsed = EventLog::parse(&area[..cut]);
            match boundaries.iter().position(|b| *b == cut) {
                Some(n) => assert_eq!(parsed.unwrap().events.len(), n, "cut at {cut}"),
                None => assert!(parsed.is_err(), "cut at {cut} inside an event parsed"),
            }
        }
    }

    #[test]
    fn truncated_event_names_the_field_and_offset() {
        let area = log_area();
        // The first event starts at 65; its digest count is at 73 and its digest at 77.
        assert_eq!(
            EventLog::parse(&area[..80]).unwrap_err(),
            ParseError::Truncated { field: "event.digest", offset: 79, need: 48, got: 1 }
        );
    }

    #[test]
    fn garbage_after_the_log_is_rejected_as_bad_padding() {
        let mut area = log_area();
        area[LOG_LEN + 100] = 0x00;
        assert!(matches!(
            EventLog::parse(&area),
            Err(ParseError::Invalid { field: "event_log.padding", offset: LOG_LEN, .. })
        ));
        assert!(EventLog::parse_prefix(&area).is_ok());
    }

    #[test]
    fn event_with_an_undeclared_algorithm_is_rejected() {
        let mut area = log_area();
        area[77] = 0x0B; // first event's algorithm: SHA-384 -> SHA-256, not declared
        assert!(matches!(
            EventLog::parse(&area),
            Err(ParseError::Invalid { field: "event.digest.algorithm_id", offset: 77, .. })
        ));
    }

    #[test]
    fn mr_index_beyond_rtmr3_cannot_be_replayed() {
        let mut log = EventLog::parse(&log_area()).unwrap();
        log.events.push(PcrEvent2 { pcr_index: 5, ..log.events[0].clone() });
        assert_eq!(
            replay_rtmrs(&log),
            Err(ReplayError::MrIndexOutOfRange { event: 43, mr_index: 5 })
        );
        log.events.pop();
        log.events[0].digests.clear();
        assert_eq!(replay_rtmrs(&log), Err(ReplayError::MissingSha384 { event: 0 }));
    }

    #[test]
    fn mrtd_and_no_action_events_are_not_replayed() {
        let mut log = EventLog::parse(&log_area()).unwrap();
        let before = replay_rtmrs(&log).unwrap();
        log.events.push(PcrEvent2 { pcr_index: 0, ..log.events[0].clone() });
        log.events.push(PcrEvent2 { event_type: EventType::EV_NO_ACTION, ..log.events[0].clone() });
        assert_eq!(replay_rtmrs(&log).unwrap(), before);
    }
}
