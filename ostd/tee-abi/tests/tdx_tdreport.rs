//! The RTMR offsets in a TDREPORT agree with `tee`'s full parser of the layout (the verifier's
//! and the kernel's), on a report whose every byte is distinct by position.
#![forbid(unsafe_code)]

use tee::tdx::report::{TdReport, TdReportBytes};
use tee_abi::tdx::tdreport::{TDREPORT_LEN, rtmrs};

#[test]
fn rtmrs_are_where_the_full_parser_finds_them() {
    let mut report = [0u8; TDREPORT_LEN];
    for (i, b) in report.iter_mut().enumerate() {
        *b = (i * 7 + i / 256) as u8;
    }
    let parsed = TdReport::parse(&TdReportBytes::new_checked(&report[..]).unwrap()).unwrap();
    assert_eq!(rtmrs(&report), parsed.td_info.rtmr);
}
