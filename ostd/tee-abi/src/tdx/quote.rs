//! The GetQuote shared buffer: a TDREPORT goes out to the host's quoting service, a quote
//! comes back in the same pages.
//!
//! GHCI spec, `TDG.VP.VMCALL<GetQuote>`, and Linux `drivers/virt/coco/tdx-guest/` (`struct
//! tdx_quote_buf`): the buffer starts with a 24-byte header
//!
//! | offset | field   | size | written by |
//! |--------|---------|------|------------|
//! | 0      | version | u64  | TD: 1      |
//! | 8      | status  | u64  | VMM        |
//! | 16     | in_len  | u32  | TD: 1024   |
//! | 20     | out_len | u32  | VMM        |
//! | 24     | data    |      | both       |
//!
//! all little-endian. The TD writes the TDREPORT into `data` and calls GetQuote with the
//! buffer's shared GPA; the VMM sets `status` to IN_FLIGHT while the quote is made, then
//! to the result, with the quote in `data` and its length in `out_len`. The buffer is
//! shared and the host can change it at any moment, so the answer is parsed from a private
//! *copy* taken once; `out_len` is a host value and is bounded by that copy before use.

use super::error::TdxError;
use super::gpa::{Gpa, PAGE_SIZE_4K, SharedBit};
use super::tdvmcall::{TdvmcallRegs, VmcallSubfunction};

/// The only buffer format version (Linux `GET_QUOTE_CMD_VER`).
pub const QUOTE_BUFFER_VERSION: u64 = 1;
/// Header length; the data starts here.
pub const QUOTE_HEADER_LEN: usize = 24;
/// Length of a TDREPORT_STRUCT (TDX Module ABI spec, TDG.MR.REPORT).
pub const TDREPORT_LEN: usize = 1024;
/// Status: the quote is ready.
pub const GET_QUOTE_SUCCESS: u64 = 0;
/// Status: the quoting service is still working.
pub const GET_QUOTE_IN_FLIGHT: u64 = 0xFFFF_FFFF_FFFF_FFFF;
/// Status: the quoting service failed.
pub const GET_QUOTE_ERROR: u64 = 0x8000_0000_0000_0000;
/// Status: there is no quoting service.
pub const GET_QUOTE_SERVICE_UNAVAILABLE: u64 = 0x8000_0000_0000_0001;

const VERSION_AT: usize = 0;
const STATUS_AT: usize = 8;
const IN_LEN_AT: usize = 16;
const OUT_LEN_AT: usize = 20;

/// Writes a GetQuote request for `tdreport` into `buffer` (the private staging copy of the
/// shared pages, or the pages themselves): header, report, and zeroes after it so that no
/// stale data goes to the host.
pub fn write_request(buffer: &mut [u8], tdreport: &[u8; TDREPORT_LEN]) -> Result<(), TdxError> {
    let needed = QUOTE_HEADER_LEN + TDREPORT_LEN;
    if buffer.len() < needed {
        return Err(TdxError::OutOfRange {
            field: "GetQuote buffer length",
            value: buffer.len() as u64,
            min: needed as u64,
            max: u64::MAX,
        });
    }
    buffer.fill(0);
    buffer[VERSION_AT..STATUS_AT].copy_from_slice(&QUOTE_BUFFER_VERSION.to_le_bytes());
    buffer[IN_LEN_AT..OUT_LEN_AT].copy_from_slice(&(TDREPORT_LEN as u32).to_le_bytes());
    buffer[QUOTE_HEADER_LEN..needed].copy_from_slice(tdreport);
    Ok(())
}

/// The state of a GetQuote buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteResponse<'a> {
    /// The service has not finished: copy the buffer again later (after the event-notify
    /// interrupt, or on a timer).
    InFlight,
    /// The quote, `out_len` bytes from the copy's data area.
    Ready(&'a [u8]),
}

/// Parses a private copy of the GetQuote buffer.
///
/// Refused: a copy shorter than the header; a version other than 1 (the host rewrote the
/// header); the error statuses, returned as [`TdxError::QuoteFailed`]; any status the GHCI
/// does not define; success with `out_len` 0 or past the end of the copy.
pub fn parse_response(copy: &[u8]) -> Result<QuoteResponse<'_>, TdxError> {
    let header = copy.get(..QUOTE_HEADER_LEN).ok_or(TdxError::OutOfRange {
        field: "GetQuote buffer length",
        value: copy.len() as u64,
        min: QUOTE_HEADER_LEN as u64,
        max: u64::MAX,
    })?;
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let version = word(VERSION_AT);
    if version != QUOTE_BUFFER_VERSION {
        return Err(TdxError::Unrecognised { field: "GetQuote header version", value: version });
    }
    match word(STATUS_AT) {
        GET_QUOTE_SUCCESS => {}
        GET_QUOTE_IN_FLIGHT => return Ok(QuoteResponse::InFlight),
        status @ (GET_QUOTE_ERROR | GET_QUOTE_SERVICE_UNAVAILABLE) => {
            return Err(TdxError::QuoteFailed { status });
        }
        status => {
            return Err(TdxError::Unrecognised { field: "GetQuote header status", value: status });
        }
    }
    let mut out_len = [0u8; 4];
    out_len.copy_from_slice(&header[OUT_LEN_AT..QUOTE_HEADER_LEN]);
    let out_len = u64::from(u32::from_le_bytes(out_len));
    let room = (copy.len() - QUOTE_HEADER_LEN) as u64;
    if out_len == 0 || out_len > room {
        return Err(TdxError::OutOfRange {
            field: "GetQuote header out_len",
            value: out_len,
            min: 1,
            max: room,
        });
    }
    Ok(QuoteResponse::Ready(&copy[QUOTE_HEADER_LEN..QUOTE_HEADER_LEN + out_len as usize]))
}

/// `TDG.VP.VMCALL<GetQuote>`: R12 = the buffer's shared GPA, R13 = its size. Both are whole
/// 4 KiB pages: the buffer is a set of pages converted to shared with MapGPA.
pub fn get_quote(buffer: Gpa, len: u64, shared: SharedBit) -> Result<TdvmcallRegs, TdxError> {
    const GPA: &str = "GetQuote R12 (buffer GPA)";
    const SIZE: &str = "GetQuote R13 (buffer size)";
    shared.check_shared(GPA, buffer)?;
    buffer.check_aligned(GPA, PAGE_SIZE_4K)?;
    let min = (QUOTE_HEADER_LEN + TDREPORT_LEN) as u64;
    if len < min {
        return Err(TdxError::OutOfRange { field: SIZE, value: len, min, max: u64::MAX });
    }
    Gpa::new(len).check_aligned(SIZE, PAGE_SIZE_4K)?;
    // The whole buffer must stay in the shared half: its last byte is a shared GPA too.
    let last =
        buffer.raw().checked_add(len - 1).ok_or(TdxError::Overflow { field: SIZE, value: len })?;
    shared.check_shared(SIZE, Gpa::new(last))?;
    Ok(TdvmcallRegs::new(VmcallSubfunction::GetQuote, buffer.raw(), len, 0, 0))
}
