//! The GetQuote buffer, laid out by hand from the GHCI's and Linux's `struct tdx_quote_buf`
//! (version u64, status u64, in_len u32, out_len u32, data).
#![forbid(unsafe_code)]

use tee_abi::tdx::TdxError;
use tee_abi::tdx::gpa::{Gpa, GpaWidth};
use tee_abi::tdx::quote::{QuoteResponse, get_quote, parse_response, write_request};

const SHARED: u64 = 1 << 47;

fn header(version: u64, status: u64, in_len: u32, out_len: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&status.to_le_bytes());
    bytes.extend_from_slice(&in_len.to_le_bytes());
    bytes.extend_from_slice(&out_len.to_le_bytes());
    bytes
}

#[test]
fn request_is_header_then_report_then_zeroes() {
    let report: [u8; 1024] = core::array::from_fn(|i| i as u8 | 1);
    let mut buffer = vec![0xAAu8; 8192];
    write_request(&mut buffer, &report).unwrap();
    assert_eq!(&buffer[..24], header(1, 0, 1024, 0).as_slice());
    assert_eq!(&buffer[24..1048], report.as_slice());
    assert!(buffer[1048..].iter().all(|&b| b == 0));
}

#[test]
fn request_needs_room_for_the_report() {
    let report = [0u8; 1024];
    assert!(matches!(
        write_request(&mut [0u8; 1047], &report),
        Err(TdxError::OutOfRange { value: 1047, min: 1048, .. })
    ));
    assert!(write_request(&mut [0u8; 1048], &report).is_ok());
}

#[test]
fn ready_quote_is_bounded_by_out_len() {
    let mut copy = header(1, 0, 1024, 5);
    copy.extend_from_slice(b"QUOTE-and-then-stale-bytes");
    assert_eq!(parse_response(&copy), Ok(QuoteResponse::Ready(b"QUOTE")));
}

#[test]
fn in_flight_and_failures() {
    assert_eq!(parse_response(&header(1, u64::MAX, 1024, 0)), Ok(QuoteResponse::InFlight));
    assert_eq!(
        parse_response(&header(1, 0x8000_0000_0000_0000, 1024, 0)),
        Err(TdxError::QuoteFailed { status: 0x8000_0000_0000_0000 })
    );
    assert_eq!(
        parse_response(&header(1, 0x8000_0000_0000_0001, 1024, 0)),
        Err(TdxError::QuoteFailed { status: 0x8000_0000_0000_0001 })
    );
    assert_eq!(
        parse_response(&header(1, 7, 1024, 0)),
        Err(TdxError::Unrecognised { field: "GetQuote header status", value: 7 })
    );
}

#[test]
fn host_controlled_header_fields_are_checked() {
    assert_eq!(
        parse_response(&header(2, 0, 1024, 0)),
        Err(TdxError::Unrecognised { field: "GetQuote header version", value: 2 })
    );
    let mut copy = header(1, 0, 1024, 9);
    copy.extend_from_slice(&[0u8; 8]);
    assert_eq!(
        parse_response(&copy),
        Err(TdxError::OutOfRange { field: "GetQuote header out_len", value: 9, min: 1, max: 8 })
    );
    assert_eq!(
        parse_response(&header(1, 0, 1024, 0)),
        Err(TdxError::OutOfRange { field: "GetQuote header out_len", value: 0, min: 1, max: 0 })
    );
    let mut huge = header(1, 0, 1024, u32::MAX);
    huge.extend_from_slice(&[0u8; 100]);
    assert!(parse_response(&huge).is_err());
    assert!(matches!(
        parse_response(&[0u8; 23]),
        Err(TdxError::OutOfRange { value: 23, min: 24, .. })
    ));
}

#[test]
fn get_quote_call_takes_a_shared_page_aligned_buffer() {
    let shared = GpaWidth::Bits48.shared_bit();
    let regs = get_quote(Gpa::new(SHARED | 0x8000), 0x2000, shared).unwrap();
    assert_eq!(
        (regs.rax, regs.rcx, regs.r10, regs.r11, regs.r12, regs.r13),
        (0, 0xFC00, 0, 0x10002, SHARED | 0x8000, 0x2000)
    );
    assert!(matches!(
        get_quote(Gpa::new(0x8000), 0x2000, shared),
        Err(TdxError::WrongSharing { want_shared: true, .. })
    ));
    assert!(matches!(
        get_quote(Gpa::new(SHARED | 0x8010), 0x2000, shared),
        Err(TdxError::Misaligned { .. })
    ));
    assert!(matches!(
        get_quote(Gpa::new(SHARED | 0x8000), 0x2100, shared),
        Err(TdxError::Misaligned { .. })
    ));
    assert!(matches!(
        get_quote(Gpa::new(SHARED | 0x8000), 0x100, shared),
        Err(TdxError::OutOfRange { .. })
    ));
    // The last byte would be past the GPA width.
    assert!(get_quote(Gpa::new(2 * SHARED - 0x1000), 0x2000, shared).is_err());
}
