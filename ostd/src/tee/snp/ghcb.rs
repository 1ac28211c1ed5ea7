//! The GHCB: the one page this CPU shares with the host for every exit that carries more
//! than the MSR protocol can (GHCB spec §2.3.2).
//!
//! The page is `boot_ghcb` in the image (entry.S maps it without the C-bit; [`init`] makes
//! it shared and registers it). OSTD runs one CPU today, so there is one page: a second CPU
//! would register its own, as Linux does per CPU.
//!
//! Every exchange writes the whole request (so nothing of an earlier one is left for the
//! host), exits, and copies the whole page back out before a byte of it is read: the host
//! may change the page at any time, so the answer is parsed from the copy only
//! (`tee_abi::snp::ghcb::GhcbResponse` then returns a field only if the host marked it
//! valid). Exchanges run with interrupts off under a lock; a #VC inside one (from an NMI
//! handler) would find the lock held and is a fatal error rather than a corrupted exchange.

use tee_abi::snp::ghcb::{GHCB_SIZE, GhcbError, GhcbResponse, GhcbWriter, SHARED_BUFFER_OFFSET};
use tee_abi::snp::msr_protocol::{self, TerminationReason};

use super::hw;
use crate::mm::{Paddr, Vaddr};
use crate::sync::SpinLock;

struct Ghcb {
    /// The page's higher-half address (mapped without the C-bit).
    vaddr: Vaddr,
    /// Its guest-physical address.
    paddr: Paddr,
    /// The copy of the host's answer that responses are read from.
    answer: [u8; GHCB_SIZE],
}

static GHCB: SpinLock<Option<Ghcb>> = SpinLock::new(None);

/// Makes the page at `vaddr` (guest-physical `paddr`, mapped without the C-bit; its direct
/// map alias at `private_alias` still has it) the shared GHCB: rescinded, converted to
/// shared through the MSR protocol, registered, and put in the GHCB MSR. Terminates the
/// guest if the host refuses: nothing can be reported without a GHCB.
pub(super) fn init(vaddr: Vaddr, paddr: Paddr, private_alias: Vaddr) {
    let fail =
        |code| hw::terminate(TerminationReason::new(1, code).unwrap_or(TerminationReason::GENERAL));
    let Some(gfn) = tee_abi::snp::frame::Gfn::containing(paddr) else { fail(1) };
    // SAFETY: nothing has used the page yet (it is outside .bss and its only other mapping,
    // the direct map's, is never used for it); from here on it is reached only through
    // `vaddr`, without the C-bit.
    if unsafe { hw::pvalidate(private_alias, false, false) }.is_err() {
        fail(2);
    }
    let shared =
        msr_protocol::page_state_change_request(gfn, tee_abi::snp::frame::PageStateOp::Shared);
    if msr_protocol::decode_page_state_change_response(hw::msr_protocol(shared)).is_err() {
        fail(3);
    }
    let register = msr_protocol::register_ghcb_request(gfn);
    if msr_protocol::decode_register_ghcb_response(hw::msr_protocol(register), gfn).is_err() {
        fail(4);
    }
    hw::write_ghcb_msr(paddr);
    *GHCB.lock() = Some(Ghcb { vaddr, paddr, answer: [0; GHCB_SIZE] });
}

/// Returns the guest-physical address of the GHCB's shared buffer (for SW_SCRATCH).
pub(super) fn shared_buffer_gpa() -> Paddr {
    GHCB.lock().as_ref().map_or(0, |g| g.paddr + SHARED_BUFFER_OFFSET as u64)
}

/// Sends `request`, and hands `read` the host's answer once its status says success.
///
/// # Panics
/// Before [`init`], or if an exchange is already running on this CPU (a #VC in an NMI
/// handler that interrupted one).
pub(super) fn exchange<R>(
    request: &GhcbWriter,
    read: impl FnOnce(&GhcbResponse<'_>) -> Result<R, GhcbError>,
) -> Result<R, GhcbError> {
    let mut guard = GHCB.try_lock().expect("GHCB exchange nested inside another on this CPU");
    let ghcb = guard.as_mut().expect("GHCB used before tee::snp set it up");
    let page = ghcb.vaddr as *mut [u8; GHCB_SIZE];
    // SAFETY: `vaddr` maps the registered GHCB page (shared with the host, never aliased by
    // a Rust reference); volatile, because the host reads it at the exit.
    unsafe { page.write_volatile(*request.as_bytes()) };
    hw::write_ghcb_msr(ghcb.paddr);
    hw::vmgexit();
    // SAFETY: as above; the host may write the page at any time, so it is copied out once and
    // only the copy is read.
    ghcb.answer = unsafe { page.read_volatile() };
    let response = GhcbResponse::new(&ghcb.answer);
    response.status()?;
    read(&response)
}
