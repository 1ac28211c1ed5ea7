//! Attestation reports from the PSP: MSG_REPORT_REQ sealed under VMPCK0, carried by the host
//! in two shared pages (SNP firmware ABI, "Guest Messages"; GHCB spec, "SNP Guest Request").
//!
//! The key and its sequence count come from the secrets page (private, measured at launch),
//! copied once at boot and never written back: Linux also stores the count and wipes a
//! disabled key in the page for a kernel it hands over to (kexec), and OSTD hands over to
//! none; the copy is zeroized. `tee_abi::snp::guest_msg` seals and opens the messages and keeps the sequence
//! discipline: a response that fails authentication or carries the wrong sequence number
//! disables the key for good, and so does a request that never got an answer, because the
//! PSP may have consumed its sequence number (reusing it would reuse a GCM IV). Requests are
//! serialised by a sleeping lock: the PSP may take milliseconds.

use alloc::vec::Vec;

use spin::Once;
use tee_abi::snp::ghcb::{ExitCode, GhcbField, GhcbWriter};
use tee_abi::snp::guest_msg::{HostVerdict, MSG_PAGE_SIZE, MsgType, Vmpck};
use tee_abi::snp::report::{AttestationReport, KeySelect, ReportRequest};
use tee_abi::snp::secrets::{SecretsPage, VmpckIndex};

use super::{SnpError, ghcb};
use crate::mm::dma::SharedBuffer;
use crate::sync::Mutex;
use crate::tee::TeeError;

/// The key, and the shared pages the host carries messages and certificates in (made at the
/// first request: the shared pool does not exist at boot).
struct Channel {
    vmpck: Vmpck,
    pages: Option<Pages>,
}

struct Pages {
    request: SharedBuffer,
    response: SharedBuffer,
    certificates: SharedBuffer,
}

/// The certificate buffer of extended requests: Linux's `SEV_FW_BLOB_MAX_SIZE`, 16 KiB, room
/// for the VCEK, ASK and ARK (about 1.5 KiB each) many times over. A host that claims to need
/// more gets a report without certificates (the verifier can fetch the VCEK itself).
const CERTIFICATE_PAGES: usize = 4;

static CHANNEL: Once<Mutex<Channel>> = Once::new();

/// Takes VMPCK0 and its sequence count from the secrets page (copied at boot: the page is
/// firmware memory outside the kernel's direct map). Without a key, reports fail later with
/// [`SnpError::NoVmpck`].
pub(super) fn init(secrets: &SecretsPage) {
    if let Some(key) = secrets.vmpck(VmpckIndex::Vmpck0) {
        let count = secrets.seqno_count(VmpckIndex::Vmpck0);
        let vmpck = Vmpck::new(VmpckIndex::Vmpck0, key.clone(), count);
        CHANNEL.call_once(|| Mutex::new(Channel { vmpck, pages: None }));
    }
}

/// How long to wait before resending a request the host called busy (it throttles guest
/// requests), and for how many such waits in all: Linux's `SNP_REQ_RETRY_DELAY` (2 s) and
/// `SNP_REQ_MAX_RETRY_DURATION` (60 s). Past that the request is given up, and its key
/// disabled, since the PSP may yet process it.
const BUSY_DELAY_MS: u64 = 2_000;
const BUSY_RETRIES: u32 = 30;

fn shared_pages() -> Result<Pages, TeeError> {
    let buffer = |len| SharedBuffer::alloc(len).map_err(|_| TeeError::OutOfMemory);
    let pages = Pages {
        request: buffer(MSG_PAGE_SIZE)?,
        response: buffer(MSG_PAGE_SIZE)?,
        certificates: buffer(CERTIFICATE_PAGES * MSG_PAGE_SIZE)?,
    };
    for buffer in [&pages.request, &pages.response, &pages.certificates] {
        if buffer.device_addr().as_u64() % MSG_PAGE_SIZE as u64 != 0 {
            return Err(TeeError::Unaligned(buffer.device_addr().as_u64()));
        }
    }
    Ok(pages)
}

/// Returns the attestation report binding `report_data` (VMPL 0, the default signing key).
pub(super) fn report(report_data: &[u8; 64]) -> Result<Vec<u8>, TeeError> {
    Ok(report_with(report_data, 0, false)?.0)
}

/// Returns the attestation report binding `report_data` and the host's certificate table
/// (an extended guest request), as copied out of the shared buffer: the caller parses it.
/// `None` when the host has no certificates, or needs more room than [`CERTIFICATE_PAGES`].
/// `vmpl` is the VMPL the report names (the PSP refuses one below the guest's own).
pub(super) fn extended_report(
    report_data: &[u8; 64],
    vmpl: u32,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TeeError> {
    report_with(report_data, vmpl, true)
}

fn report_with(
    report_data: &[u8; 64],
    vmpl: u32,
    certificates: bool,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TeeError> {
    let request = ReportRequest::new(*report_data, vmpl, KeySelect::Default)
        .map_err(|e| TeeError::Snp(SnpError::Report(e)))?;
    let (payload, table) = exchange(MsgType::ReportRequest, 1, &request.encode(), certificates)?;
    let report = AttestationReport::from_response(&payload)
        .map_err(|e| TeeError::Snp(SnpError::Report(e)))?;
    Ok((report.as_bytes().to_vec(), table))
}

/// Seals `payload` as a `msg_type` request, has the host carry it to the PSP (as an extended
/// request when `certificates`), and opens the answer; with it, the certificate buffer's
/// bytes if the host filled it (its first 24 bytes, the first entry, not all zero).
fn exchange(
    msg_type: MsgType,
    version: u8,
    payload: &[u8],
    certificates: bool,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TeeError> {
    let mut channel = CHANNEL.get().ok_or(TeeError::Snp(SnpError::NoVmpck))?.lock();
    if channel.pages.is_none() {
        channel.pages = Some(shared_pages()?);
    }
    let Channel { vmpck, pages } = &mut *channel;
    let pages = pages.as_ref().ok_or(TeeError::OutOfMemory)?;
    let was_disabled = vmpck.is_disabled();
    let result = exchange_on(vmpck, pages, msg_type, version, payload, certificates);
    if vmpck.is_disabled() && !was_disabled {
        // As Linux's sev-guest: loudly, once; no report can be had until the next boot.
        match &result {
            Err(e) => log::error!("tee: SNP VMPCK0 disabled for this boot after: {e}"),
            Ok(_) => log::error!("tee: SNP VMPCK0 disabled for this boot"),
        }
    }
    result
}

fn exchange_on(
    vmpck: &mut Vmpck,
    pages: &Pages,
    msg_type: MsgType,
    version: u8,
    payload: &[u8],
    certificates: bool,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TeeError> {
    let (request_page, response_page) = (&pages.request, &pages.response);
    let mut page = alloc::boxed::Box::new([0u8; MSG_PAGE_SIZE]);
    let msg_error = |e| TeeError::Snp(SnpError::GuestMessage(e));
    let mut pending = vmpck.seal(msg_type, version, payload, &mut page).map_err(msg_error)?;
    if request_page.write_from(0, &page[..]).is_err() {
        pending.cancel_unsent();
        return Err(TeeError::OutOfMemory);
    }
    let (req_gpa, rsp_gpa) =
        (request_page.device_addr().as_u64(), response_page.device_addr().as_u64());
    if certificates {
        // Nothing of an earlier answer may pass for this one's.
        let zeros = alloc::vec![0u8; CERTIFICATE_PAGES * MSG_PAGE_SIZE];
        if pages.certificates.write_from(0, &zeros).is_err() {
            pending.cancel_unsent();
            return Err(TeeError::OutOfMemory);
        }
    }
    let mut extended = certificates;
    let mut busy = 0;
    loop {
        let verdict = if extended {
            let mut ghcb_request =
                GhcbWriter::new(ExitCode::SnpExtendedGuestRequest, req_gpa, rsp_gpa);
            ghcb_request
                .set(GhcbField::Rax, pages.certificates.device_addr().as_u64())
                .set(GhcbField::Rbx, CERTIFICATE_PAGES as u64);
            let (info2, rbx) = ghcb::exchange(&ghcb_request, |r| {
                Ok((r.get(GhcbField::SwExitInfo2)?, r.get(GhcbField::Rbx).ok()))
            })?;
            pending.host_status_extended(info2, rbx)
        } else {
            let ghcb_request = GhcbWriter::new(ExitCode::SnpGuestRequest, req_gpa, rsp_gpa);
            // A host that breaks the GHCB protocol leaves the request's fate unknown:
            // dropping `pending` unsettled disables the key.
            let info2 = ghcb::exchange(&ghcb_request, |r| r.get(GhcbField::SwExitInfo2))?;
            pending.host_status(info2)
        };
        match verdict.map_err(msg_error)? {
            HostVerdict::ResponseReady => break,
            HostVerdict::Busy if busy < BUSY_RETRIES => {
                busy += 1;
                // The same sealed page goes again: its sequence number stays reserved.
                crate::task::sleep_ms(BUSY_DELAY_MS);
            }
            // Dropped unsettled: the key is disabled.
            HostVerdict::Busy => return Err(TeeError::TimedOut),
            HostVerdict::CertificatesTooSmall { pages_needed } => {
                log::warn!(
                    "tee: the host's SNP certificate table needs {pages_needed} pages, more \
                     than the {CERTIFICATE_PAGES} offered; the report comes without it"
                );
                // The same request page, as a plain request, settles its sequence number.
                extended = false;
            }
        }
    }
    // One copy of the host's page; the response is parsed from it alone.
    response_page.read_into(0, &mut page[..]).map_err(|_| TeeError::OutOfMemory)?;
    let opened = pending.open(&page).map_err(msg_error)?;
    let table = if extended { copy_certificates(&pages.certificates)? } else { None };
    Ok((opened.as_bytes().to_vec(), table))
}

/// One copy of the certificate buffer, or `None` if the host left it empty (a first entry of
/// zeros is the table's terminator).
fn copy_certificates(buffer: &SharedBuffer) -> Result<Option<Vec<u8>>, TeeError> {
    let mut table = alloc::vec![0u8; CERTIFICATE_PAGES * MSG_PAGE_SIZE];
    buffer.read_into(0, &mut table).map_err(|_| TeeError::OutOfMemory)?;
    Ok(table[..24].iter().any(|&b| b != 0).then_some(table))
}
