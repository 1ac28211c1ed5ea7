//! TDX quotes: the TDREPORT goes to the host's quoting service through a shared buffer
//! (TDG.VP.VMCALL<GetQuote>), and the caller sleeps until the VMM's event-notify interrupt
//! says the buffer changed (GHCI, SetupEventNotifyInterrupt), not polling.
//!
//! The buffer is shared memory: it is copied out once per look and parsed from the copy
//! (`tee_abi::tdx::quote::parse_response`), which refuses a header the host rewrote and a
//! length past the buffer. Not run here (no TDX).

use alloc::vec::Vec;

use spin::Once;
use tee_abi::tdx::gpa::Gpa;
use tee_abi::tdx::quote::{self, QuoteResponse};
use tee_abi::tdx::tdreport::TDREPORT_LEN;
use tee_abi::tdx::tdvmcall;

use super::{TeeError, info, report, vmcall};
use crate::mm::dma::SharedBuffer;
use crate::sync::WaitQueue;
use crate::trap::IrqLine;

/// The buffer: header, then the quote (with its certification data, a few KiB; Linux's
/// driver uses 8 KiB and hosts' quotes fit well within 16).
const QUOTE_BUFFER_LEN: usize = 16 * 1024;
/// How long a quote may take: the quoting service may be remote (Linux waits 30 s too).
const QUOTE_TIMEOUT_NS: u64 = 30_000_000_000;

/// The event-notify interrupt, once the VMM agreed to raise it.
struct Notify {
    _line: IrqLine,
}

/// Set once the VMM accepted SetupEventNotifyInterrupt. The GHCI makes it optional (older
/// hosts refuse it), so without it requests look at their buffer on a timer instead.
static NOTIFY: Once<Notify> = Once::new();
/// Every request waits here; the interrupt wakes them all, and each looks at its own buffer.
static WAITERS: WaitQueue = WaitQueue::new();
/// How often a request looks at its buffer when no interrupt will come (Linux's driver
/// looks once a second).
const POLL_NS: u64 = 1_000_000_000;

/// Asks the VMM for the event-notify interrupt; returns whether it will come. A refusal is
/// not remembered: the next request asks again.
fn notify_ready() -> bool {
    if NOTIFY.get().is_some() {
        return true;
    }
    let Ok(line) = IrqLine::alloc() else { return false };
    line.on_active(|| WAITERS.wake_all());
    let Ok(regs) = tdvmcall::setup_event_notify_interrupt(u64::from(line.vector())) else {
        return false;
    };
    if vmcall(regs).check_success(tdvmcall::VmcallSubfunction::SetupEventNotifyInterrupt).is_err() {
        return false;
    }
    NOTIFY.call_once(|| Notify { _line: line });
    true
}

/// Returns a quote of a fresh TDREPORT binding `report_data`.
pub(crate) fn quote(report_data: &[u8; 64]) -> Result<Vec<u8>, TeeError> {
    let interrupt = notify_ready();
    let shared = info()?.shared_bit();
    let tdreport: [u8; TDREPORT_LEN] =
        report(report_data)?.try_into().map_err(|_| TeeError::OutOfMemory)?;
    let mut staging = alloc::vec![0u8; QUOTE_BUFFER_LEN];
    quote::write_request(&mut staging, &tdreport)?;
    let buffer = SharedBuffer::alloc(QUOTE_BUFFER_LEN).map_err(|_| TeeError::OutOfMemory)?;
    buffer.write_from(0, &staging).map_err(|_| TeeError::OutOfMemory)?;
    // GetQuote names the buffer by its shared GPA (Linux: `cc_mkdec(virt_to_phys(buf))`).
    let gpa = Gpa::new(buffer.device_addr().as_u64() | shared.mask());
    let regs = quote::get_quote(gpa, QUOTE_BUFFER_LEN as u64, shared)?;
    vmcall(regs).check_success(tdvmcall::VmcallSubfunction::GetQuote)?;
    let deadline = crate::time::monotonic_ns().saturating_add(QUOTE_TIMEOUT_NS);
    let mut look = || {
        // One copy per look: the host may change the buffer at any moment.
        if buffer.read_into(0, &mut staging).is_err() {
            return Some(Err(TeeError::OutOfMemory));
        }
        match quote::parse_response(&staging) {
            Ok(QuoteResponse::InFlight) => None,
            Ok(QuoteResponse::Ready(quote)) => Some(Ok(quote.to_vec())),
            Err(e) => Some(Err(TeeError::Tdx(e))),
        }
    };
    let answer = loop {
        let now = crate::time::monotonic_ns();
        if now >= deadline {
            break look();
        }
        // With the interrupt, sleep until it (or the deadline); without, look every second.
        let until = if interrupt { deadline } else { deadline.min(now + POLL_NS) };
        if let Ok(answer) = WAITERS.wait_until_or_deadline(&mut look, Some(until)) {
            break Some(answer);
        }
    };
    match answer {
        Some(answer) => answer,
        None => {
            // The host may still write the quote into the buffer: it must never be reused.
            core::mem::forget(buffer);
            Err(TeeError::TimedOut)
        }
    }
}
