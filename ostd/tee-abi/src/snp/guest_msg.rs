//! Guest messages to the PSP (SNP firmware ABI, chapter "Guest Messages": table "Message
//! Header Format", "Message Type Encodings" and "AEAD Algorithm Encodings"; Linux
//! drivers/virt/coco/sev-guest and arch/x86/coco/sev).
//!
//! A message page is a 0x60-byte header and the payload sealed with AES-256-GCM under a
//! VMPCK. Header: authtag[32] @0x0 (the 16-byte GCM tag, then zeros), msg_seqno u64 @0x20,
//! reserved[8] @0x28, algo u8 @0x30 (1 = AES-256-GCM), hdr_version u8 @0x31 (1), hdr_sz u16
//! @0x32 (0x60), msg_type u8 @0x34, msg_version u8 @0x35, msg_sz u16 @0x36, reserved u32
//! @0x38, msg_vmpck u8 @0x3c, reserved[35] @0x3d. The GCM IV is the sequence number,
//! little-endian, zero-padded to 12 bytes; the additional data is header bytes 0x30..0x60.
//!
//! The host carries the pages, so it can drop, replay or corrupt them. What keeps it out:
//! a request's sequence number is the key's count plus 1 and its response's must be the
//! count plus 2; any response that fails those checks or authentication disables the key for
//! good (as Linux `snp_disable_vmpck` does), because the PSP may have consumed a sequence
//! number the guest can no longer account for, and using it again would reuse a GCM IV.
//! The count is stored in the secrets page as a u32, so the key is retired before a
//! sequence number reaches `u32::MAX`.
//!
//! In the API, [`Vmpck::seal`] hands out a [`PendingRequest`] that borrows the key
//! mutably: a second request cannot be sealed until the first is settled, so two requests
//! can never share a sequence number. [`PendingRequest::open`] consumes it.

use core::fmt;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use zeroize::Zeroize;

use super::le::{put_u16, put_u64, u16_at, u64_at};
use super::secrets::{VmpckIndex, VmpckKey};

/// Bytes in a message page.
pub const MSG_PAGE_SIZE: usize = 4096;
/// Bytes in the header.
pub const HEADER_SIZE: usize = 0x60;
/// The largest payload a page holds.
pub const MAX_PAYLOAD_SIZE: usize = MSG_PAGE_SIZE - HEADER_SIZE;
/// The AEAD algorithm code of AES-256-GCM.
pub const ALGO_AES_256_GCM: u8 = 1;
/// The header version this module writes.
pub const HEADER_VERSION: u8 = 1;

const TAG_SIZE: usize = 16;
const SEQNO_OFFSET: usize = 0x20;
const AAD_OFFSET: usize = 0x30;
const ALGO_OFFSET: usize = 0x30;
const HDR_VERSION_OFFSET: usize = 0x31;
const HDR_SIZE_OFFSET: usize = 0x32;
const MSG_TYPE_OFFSET: usize = 0x34;
const MSG_VERSION_OFFSET: usize = 0x35;
const MSG_SIZE_OFFSET: usize = 0x36;
const MSG_VMPCK_OFFSET: usize = 0x3c;

/// Message types (SNP firmware ABI, table "Message Type Encodings"). A response's code is
/// its request's plus one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    /// MSG_CPUID_REQ.
    CpuidRequest = 1,
    /// MSG_CPUID_RSP.
    CpuidResponse = 2,
    /// MSG_KEY_REQ: derive a key.
    KeyRequest = 3,
    /// MSG_KEY_RSP.
    KeyResponse = 4,
    /// MSG_REPORT_REQ: an attestation report.
    ReportRequest = 5,
    /// MSG_REPORT_RSP.
    ReportResponse = 6,
    /// MSG_EXPORT_REQ.
    ExportRequest = 7,
    /// MSG_EXPORT_RSP.
    ExportResponse = 8,
    /// MSG_IMPORT_REQ.
    ImportRequest = 9,
    /// MSG_IMPORT_RSP.
    ImportResponse = 10,
    /// MSG_ABSORB_REQ.
    AbsorbRequest = 11,
    /// MSG_ABSORB_RSP.
    AbsorbResponse = 12,
    /// MSG_VMRK_REQ.
    VmrkRequest = 13,
    /// MSG_VMRK_RSP.
    VmrkResponse = 14,
    /// MSG_ABSORB_NOMA_REQ.
    AbsorbNoMaRequest = 15,
    /// MSG_ABSORB_NOMA_RSP.
    AbsorbNoMaResponse = 16,
    /// MSG_TSC_INFO_REQ.
    TscInfoRequest = 17,
    /// MSG_TSC_INFO_RSP.
    TscInfoResponse = 18,
}

impl MsgType {
    /// Whether the guest sends this type (requests have odd codes).
    pub const fn is_request(self) -> bool {
        self as u8 % 2 == 1
    }
}

/// Why a message could not be sealed or a response was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestMsgError {
    /// The key was disabled earlier; it is never used again.
    Disabled,
    /// The next request's sequence number would reach `u32::MAX`; the key is now disabled.
    SequenceExhausted {
        /// The count the key stopped at.
        count: u32,
    },
    /// [`Vmpck::seal`] was given a response type.
    NotARequest(MsgType),
    /// The payload does not fit in a message page.
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
    },
    /// SW_EXITINFO2 of the guest request exit reports a failure; the key is now disabled.
    HostFailed {
        /// SW_EXITINFO2[63:32], the hypervisor's error.
        vmm_error: u32,
        /// SW_EXITINFO2[31:0], the firmware's error.
        firmware_error: u32,
    },
    /// The response's msg_seqno is not the request's + 1; the key is now disabled.
    WrongSeqno {
        /// The sequence number expected.
        expected: u64,
        /// The sequence number in the response.
        got: u64,
    },
    /// The response's msg_type is not the request's + 1; the key is now disabled.
    WrongType {
        /// The type code expected.
        expected: u8,
        /// The type code in the response.
        got: u8,
    },
    /// The response's msg_version differs from the request's; the key is now disabled.
    WrongVersion {
        /// The version of the request.
        expected: u8,
        /// The version in the response.
        got: u8,
    },
    /// The response's algo is not AES-256-GCM; the key is now disabled.
    WrongAlgorithm {
        /// The algo code in the response.
        got: u8,
    },
    /// The response's msg_sz is larger than a page holds; the key is now disabled.
    SizeTooLarge {
        /// msg_sz in the response.
        msg_sz: u16,
    },
    /// The response does not authenticate under the key; the key is now disabled.
    AuthenticationFailed,
}

impl fmt::Display for GuestMsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Disabled => write!(f, "VMPCK disabled"),
            Self::SequenceExhausted { count } => {
                write!(f, "VMPCK sequence count {count} exhausted")
            }
            Self::NotARequest(t) => write!(f, "{t:?} is not a request type"),
            Self::PayloadTooLarge { len } => {
                write!(f, "payload of {len} bytes exceeds {MAX_PAYLOAD_SIZE}")
            }
            Self::HostFailed { vmm_error, firmware_error } => {
                write!(
                    f,
                    "guest request failed: vmm error {vmm_error:#x}, firmware error {firmware_error:#x}"
                )
            }
            Self::WrongSeqno { expected, got } => {
                write!(f, "response msg_seqno {got}, expected {expected}")
            }
            Self::WrongType { expected, got } => {
                write!(f, "response msg_type {got}, expected {expected}")
            }
            Self::WrongVersion { expected, got } => {
                write!(f, "response msg_version {got}, expected {expected}")
            }
            Self::WrongAlgorithm { got } => write!(f, "response algo {got}, expected AES-256-GCM"),
            Self::SizeTooLarge { msg_sz } => {
                write!(f, "response msg_sz {msg_sz} exceeds {MAX_PAYLOAD_SIZE}")
            }
            Self::AuthenticationFailed => write!(f, "response failed authentication"),
        }
    }
}

/// The GCM IV for a sequence number: its 8 little-endian bytes, then 4 zero bytes.
fn nonce_for(seqno: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&seqno.to_le_bytes());
    nonce
}

fn aead_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], buffer: &mut [u8]) -> [u8; TAG_SIZE] {
    let cipher = Aes256Gcm::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::from(*nonce), aad, buffer)
        .expect("AES-GCM takes any payload below 64 GiB");
    tag.into()
}

fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; TAG_SIZE],
) -> bool {
    let cipher = Aes256Gcm::new(key.into());
    cipher.decrypt_in_place_detached(&Nonce::from(*nonce), aad, buffer, &Tag::from(*tag)).is_ok()
}

/// A VMPCK and its message sequence count: the only way to seal or open guest messages.
#[derive(Debug)]
pub struct Vmpck {
    key: Option<VmpckKey>,
    index: VmpckIndex,
    count: u32,
}

impl Vmpck {
    /// The key `index` with the count the secrets page's OS area holds for it (0 at first
    /// boot; what an earlier kernel stored otherwise).
    pub fn new(index: VmpckIndex, key: VmpckKey, count: u32) -> Self {
        Self { key: Some(key), index, count }
    }

    /// The last sequence number used (the secrets page's OS area keeps such a count for a
    /// kernel that hands over to another; OSTD hands over to none and keeps it in memory).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Which key this is.
    pub fn index(&self) -> VmpckIndex {
        self.index
    }

    /// Whether the key was disabled.
    pub fn is_disabled(&self) -> bool {
        self.key.is_none()
    }

    /// Disables the key for good and wipes this copy of it (OSTD keeps no other: its copy
    /// of the secrets page was zeroized at boot).
    pub fn disable(&mut self) {
        self.key = None;
    }

    /// Seals `payload` as a `msg_type` message of `msg_version` into `page` (the request
    /// page's bytes, written in full), and reserves the next sequence number for it.
    pub fn seal(
        &mut self,
        msg_type: MsgType,
        msg_version: u8,
        payload: &[u8],
        page: &mut [u8; MSG_PAGE_SIZE],
    ) -> Result<PendingRequest<'_>, GuestMsgError> {
        if !msg_type.is_request() {
            return Err(GuestMsgError::NotARequest(msg_type));
        }
        if payload.len() > MAX_PAYLOAD_SIZE {
            return Err(GuestMsgError::PayloadTooLarge { len: payload.len() });
        }
        if self.is_disabled() {
            return Err(GuestMsgError::Disabled);
        }
        // The response takes count + 2, which the u32 count in the OS area must hold; Linux
        // refuses a request number of u32::MAX or more.
        let seqno = u64::from(self.count) + 1;
        if seqno >= u64::from(u32::MAX) {
            let count = self.count;
            self.disable();
            return Err(GuestMsgError::SequenceExhausted { count });
        }
        let key = self.key.as_ref().ok_or(GuestMsgError::Disabled)?;
        page.fill(0);
        put_u64(page, SEQNO_OFFSET, seqno);
        page[ALGO_OFFSET] = ALGO_AES_256_GCM;
        page[HDR_VERSION_OFFSET] = HEADER_VERSION;
        put_u16(page, HDR_SIZE_OFFSET, HEADER_SIZE as u16);
        page[MSG_TYPE_OFFSET] = msg_type as u8;
        page[MSG_VERSION_OFFSET] = msg_version;
        // At most MAX_PAYLOAD_SIZE (4000), checked above.
        put_u16(page, MSG_SIZE_OFFSET, payload.len() as u16);
        page[MSG_VMPCK_OFFSET] = self.index.number();
        let (header, body) = page.split_at_mut(HEADER_SIZE);
        let body = &mut body[..payload.len()];
        body.copy_from_slice(payload);
        let tag = aead_seal(key.bytes(), &nonce_for(seqno), &header[AAD_OFFSET..], body);
        header[..TAG_SIZE].copy_from_slice(&tag);
        Ok(PendingRequest { vmpck: self, seqno, msg_type, msg_version, settled: false })
    }
}

/// What the host's SW_EXITINFO2 says about a guest request exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostVerdict {
    /// The response page is ready to open.
    ResponseReady,
    /// The host was busy (SW_EXITINFO2[63:32] = 2): send the same request page again,
    /// unchanged, as Linux does; the sequence number stays reserved.
    Busy,
    /// Extended requests only: the certificate buffer was too small (SW_EXITINFO2[63:32] =
    /// 1, INVALID_LEN) and the host says it needs `pages_needed` pages (its RBX, untrusted).
    /// The sequence number stays reserved: send the same request page again as a plain
    /// guest request to settle it (Linux does the same: the PSP may have seen the request,
    /// and its IV must never carry another plaintext).
    CertificatesTooSmall {
        /// How many 4 KiB pages the host claims its certificate table needs.
        pages_needed: u64,
    },
}

/// A sealed request that owns its sequence number until its response is opened.
///
/// Dropping it unsettled disables the key: the request may have reached the PSP, and its
/// sequence number can then never be used again.
///
/// ```compile_fail,E0499
/// # use tee_abi::snp::guest_msg::{MsgType, Vmpck};
/// # use tee_abi::snp::secrets::{VmpckIndex, VmpckKey};
/// let mut vmpck = Vmpck::new(VmpckIndex::Vmpck0, VmpckKey::new([1; 32]).unwrap(), 0);
/// let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
/// let first = vmpck.seal(MsgType::ReportRequest, 1, &[0; 96], &mut a).unwrap();
/// // A second request while the first is pending does not compile.
/// let second = vmpck.seal(MsgType::ReportRequest, 1, &[0; 96], &mut b).unwrap();
/// drop(first);
/// ```
#[derive(Debug)]
pub struct PendingRequest<'a> {
    vmpck: &'a mut Vmpck,
    seqno: u64,
    msg_type: MsgType,
    msg_version: u8,
    settled: bool,
}

impl PendingRequest<'_> {
    /// The request's sequence number.
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// Checks SW_EXITINFO2 after the guest request exit (0 success; hypervisor error in
    /// bits 63:32, 2 = busy; firmware error in bits 31:0). Any failure but busy disables
    /// the key: the request may have reached the PSP.
    pub fn host_status(&mut self, exit_info2: u64) -> Result<HostVerdict, GuestMsgError> {
        self.status(exit_info2, None)
    }

    /// [`Self::host_status`] for an extended guest request (exit 0x8000_0012), whose host may
    /// also answer that the certificate buffer is too small, with the pages it needs in RBX
    /// (`rbx`, read from the GHCB after the exit; `None` if the host did not mark it valid,
    /// which makes INVALID_LEN a failure like any other).
    pub fn host_status_extended(
        &mut self,
        exit_info2: u64,
        rbx: Option<u64>,
    ) -> Result<HostVerdict, GuestMsgError> {
        self.status(exit_info2, Some(rbx))
    }

    fn status(
        &mut self,
        exit_info2: u64,
        extended_rbx: Option<Option<u64>>,
    ) -> Result<HostVerdict, GuestMsgError> {
        const VMM_ERROR_INVALID_LEN: u32 = 1;
        const VMM_ERROR_BUSY: u32 = 2;
        let (vmm_error, firmware_error) = ((exit_info2 >> 32) as u32, exit_info2 as u32);
        match (vmm_error, firmware_error, extended_rbx) {
            (0, 0, _) => Ok(HostVerdict::ResponseReady),
            (VMM_ERROR_BUSY, 0, _) => Ok(HostVerdict::Busy),
            (VMM_ERROR_INVALID_LEN, 0, Some(Some(pages_needed))) => {
                Ok(HostVerdict::CertificatesTooSmall { pages_needed })
            }
            _ => {
                self.fail();
                Err(GuestMsgError::HostFailed { vmm_error, firmware_error })
            }
        }
    }

    /// Releases the sequence number of a request that was never handed to the host, so the
    /// next request reuses it. Only for that case: calling it after a VMGEXIT risks
    /// reusing a GCM IV with another plaintext.
    pub fn cancel_unsent(mut self) {
        self.settled = true;
    }

    fn fail(&mut self) {
        self.settled = true;
        self.vmpck.disable();
    }

    /// Checks and decrypts the response page (a copy the guest took). On success the key's
    /// count advances by 2; on any failure the key is disabled.
    pub fn open(
        mut self,
        response: &[u8; MSG_PAGE_SIZE],
    ) -> Result<ResponsePayload, GuestMsgError> {
        let result = self.check_and_decrypt(response);
        if result.is_ok() {
            self.settled = true;
            // seqno + 1 <= u32::MAX, checked when sealing.
            self.vmpck.count = (self.seqno + 1) as u32;
        } else {
            self.fail();
        }
        result
    }

    fn check_and_decrypt(
        &self,
        response: &[u8; MSG_PAGE_SIZE],
    ) -> Result<ResponsePayload, GuestMsgError> {
        let Some(key) = &self.vmpck.key else { return Err(GuestMsgError::Disabled) };
        let expected_seqno = self.seqno + 1;
        let got = u64_at(response, SEQNO_OFFSET);
        if got != expected_seqno {
            return Err(GuestMsgError::WrongSeqno { expected: expected_seqno, got });
        }
        let expected_type = self.msg_type as u8 + 1;
        let got = response[MSG_TYPE_OFFSET];
        if got != expected_type {
            return Err(GuestMsgError::WrongType { expected: expected_type, got });
        }
        let got = response[MSG_VERSION_OFFSET];
        if got != self.msg_version {
            return Err(GuestMsgError::WrongVersion { expected: self.msg_version, got });
        }
        let got = response[ALGO_OFFSET];
        if got != ALGO_AES_256_GCM {
            return Err(GuestMsgError::WrongAlgorithm { got });
        }
        let msg_sz = u16_at(response, MSG_SIZE_OFFSET);
        let len = usize::from(msg_sz);
        if len > MAX_PAYLOAD_SIZE {
            return Err(GuestMsgError::SizeTooLarge { msg_sz });
        }
        let mut payload = ResponsePayload { bytes: [0; MAX_PAYLOAD_SIZE], len };
        payload.bytes[..len].copy_from_slice(&response[HEADER_SIZE..][..len]);
        let mut tag = [0u8; TAG_SIZE];
        tag.copy_from_slice(&response[..TAG_SIZE]);
        let aad = &response[AAD_OFFSET..HEADER_SIZE];
        if aead_open(key.bytes(), &nonce_for(expected_seqno), aad, &mut payload.bytes[..len], &tag)
        {
            Ok(payload)
        } else {
            Err(GuestMsgError::AuthenticationFailed)
        }
    }
}

impl Drop for PendingRequest<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.vmpck.disable();
        }
    }
}

/// A decrypted response payload; wiped when dropped (a key response carries a key).
pub struct ResponsePayload {
    bytes: [u8; MAX_PAYLOAD_SIZE],
    len: usize,
}

impl ResponsePayload {
    /// The payload, msg_sz bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for ResponsePayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponsePayload({} bytes)", self.len)
    }
}

impl Drop for ResponsePayload {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests;
