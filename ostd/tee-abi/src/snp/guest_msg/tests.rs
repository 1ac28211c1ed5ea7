//! Tests of guest-message sealing and of the sequence-number discipline.
//!
//! The PSP side is played with the `aes-gcm` crate directly, building nonce, additional data
//! and header by hand from the spec's layout, so the tests do not lean on the code under test
//! to say what a correct message is.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};

use super::*;
use crate::snp::report::{ATTESTATION_REPORT_SIZE, AttestationReport, KeySelect, ReportRequest};

fn hex<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    assert_eq!(text.len(), 2 * N, "hex length");
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

// Known-answer vectors: "The Galois/Counter Mode of Operation (GCM)", McGrew and Viega,
// appendix B, test cases 13 to 16 (the AES-256 cases; also in NIST's GCM validation set).

#[test]
fn gcm_kat_test_case_13_empty_message() {
    let tag = aead_seal(&[0; 32], &[0; 12], &[], &mut []);
    assert_eq!(tag, hex::<16>("530f8afbc74536b9a963b4f1c4cb738b"));
}

#[test]
fn gcm_kat_test_case_14_one_block() {
    let mut buffer = [0u8; 16];
    let tag = aead_seal(&[0; 32], &[0; 12], &[], &mut buffer);
    assert_eq!(buffer, hex::<16>("cea7403d4d606b6e074ec5d3baf39d18"));
    assert_eq!(tag, hex::<16>("d0d1c8a799996bf0265b98b5d48ab919"));
    assert!(aead_open(&[0; 32], &[0; 12], &[], &mut buffer, &tag));
    assert_eq!(buffer, [0; 16]);
}

const KEY_15: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const IV_15: &str = "cafebabefacedbaddecaf888";
const PT_15: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                     1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const CT_15: &str = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                     8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

fn strip(text: &str) -> alloc::string::String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn gcm_kat_test_case_15_four_blocks() {
    let mut buffer = hex::<64>(&strip(PT_15));
    let tag = aead_seal(&hex(KEY_15), &hex(IV_15), &[], &mut buffer);
    assert_eq!(buffer, hex::<64>(&strip(CT_15)));
    assert_eq!(tag, hex::<16>("b094dac5d93471bdec1a502270e3cc6c"));
}

#[test]
fn gcm_kat_test_case_16_with_aad() {
    let aad = hex::<20>("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let mut buffer = [0u8; 60];
    buffer.copy_from_slice(&hex::<64>(&strip(PT_15))[..60]);
    let tag = aead_seal(&hex(KEY_15), &hex(IV_15), &aad, &mut buffer);
    assert_eq!(buffer[..], hex::<64>(&strip(CT_15))[..60]);
    assert_eq!(tag, hex::<16>("76fc6ece0f4e1768cddf8853bb2d551b"));
    let mut bad_tag = tag;
    bad_tag[0] ^= 1;
    assert!(!aead_open(&hex(KEY_15), &hex(IV_15), &aad, &mut buffer.clone(), &bad_tag));
    assert!(aead_open(&hex(KEY_15), &hex(IV_15), &aad, &mut buffer, &tag));
    assert_eq!(buffer[..], hex::<64>(&strip(PT_15))[..60]);
}

#[test]
fn nonce_is_the_little_endian_seqno_padded_to_12_bytes() {
    assert_eq!(nonce_for(0x0102_0304_0506_0708), [8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0]);
}

const VMPCK: [u8; 32] = [0x42; 32];

fn vmpck(count: u32) -> Vmpck {
    Vmpck::new(VmpckIndex::Vmpck0, VmpckKey::new(VMPCK).unwrap(), count)
}

fn spec_nonce(seqno: u64) -> Nonce<aes_gcm::aes::cipher::consts::U12> {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&seqno.to_le_bytes());
    nonce.into()
}

/// The PSP's view of a request page: checks the header fields by offset and decrypts.
fn psp_open_request(page: &[u8; MSG_PAGE_SIZE]) -> (u64, u8, u8, alloc::vec::Vec<u8>) {
    let seqno = u64::from_le_bytes(page[0x20..0x28].try_into().unwrap());
    assert_eq!(page[0x30], 1, "algo AES-256-GCM");
    assert_eq!(page[0x31], 1, "header version");
    assert_eq!(&page[0x32..0x34], &[0x60, 0], "header size");
    assert_eq!(page[0x3c], 0, "msg_vmpck");
    assert_eq!(&page[0x10..0x20], &[0; 16], "upper half of authtag");
    let msg_sz = u16::from_le_bytes([page[0x36], page[0x37]]) as usize;
    let mut payload = page[0x60..0x60 + msg_sz].to_vec();
    let tag = Tag::from(<[u8; 16]>::try_from(&page[..16]).unwrap());
    Aes256Gcm::new(&VMPCK.into())
        .decrypt_in_place_detached(&spec_nonce(seqno), &page[0x30..0x60], &mut payload, &tag)
        .expect("request authenticates");
    (seqno, page[0x34], page[0x35], payload)
}

/// The PSP's response page, sealed by hand.
fn psp_response(seqno: u64, msg_type: u8, msg_version: u8, payload: &[u8]) -> [u8; MSG_PAGE_SIZE] {
    let mut page = [0u8; MSG_PAGE_SIZE];
    page[0x20..0x28].copy_from_slice(&seqno.to_le_bytes());
    page[0x30] = 1;
    page[0x31] = 1;
    page[0x32..0x34].copy_from_slice(&0x60u16.to_le_bytes());
    page[0x34] = msg_type;
    page[0x35] = msg_version;
    page[0x36..0x38].copy_from_slice(&(payload.len() as u16).to_le_bytes());
    let (header, body) = page.split_at_mut(0x60);
    body[..payload.len()].copy_from_slice(payload);
    let tag = Aes256Gcm::new(&VMPCK.into())
        .encrypt_in_place_detached(
            &spec_nonce(seqno),
            &header[0x30..0x60],
            &mut body[..payload.len()],
        )
        .unwrap();
    header[..16].copy_from_slice(&tag);
    page
}

fn report_response_payload() -> alloc::vec::Vec<u8> {
    let mut payload = alloc::vec![0u8; 0x20 + ATTESTATION_REPORT_SIZE];
    payload[4..8].copy_from_slice(&(ATTESTATION_REPORT_SIZE as u32).to_le_bytes());
    payload[0x20..0x24].copy_from_slice(&3u32.to_le_bytes());
    payload[0x20 + 0x50..0x20 + 0x90].copy_from_slice(&[0xab; 64]);
    payload
}

#[test]
fn report_request_round_trip_advances_the_count_by_two() {
    let mut key = vmpck(0);
    let request = ReportRequest::new([0xab; 64], 0, KeySelect::Default).unwrap();
    for round in 0..3u64 {
        let mut page = [0u8; MSG_PAGE_SIZE];
        let pending = key.seal(MsgType::ReportRequest, 1, &request.encode(), &mut page).unwrap();
        assert_eq!(pending.seqno(), 2 * round + 1);
        let (seqno, msg_type, msg_version, payload) = psp_open_request(&page);
        assert_eq!((seqno, msg_type, msg_version), (2 * round + 1, 5, 1));
        assert_eq!(payload, request.encode());
        let response = psp_response(seqno + 1, 6, 1, &report_response_payload());
        let opened = pending.open(&response).unwrap();
        let report = AttestationReport::from_response(opened.as_bytes()).unwrap();
        assert_eq!(&report.as_bytes()[0x50..0x90], &[0xab; 64]);
        assert_eq!(u64::from(key.count()), 2 * round + 2);
    }
}

/// Seals one report request with a fresh key and opens `response` built from its seqno.
fn open_with(
    tamper: impl FnOnce(&mut [u8; MSG_PAGE_SIZE]),
) -> (Result<usize, GuestMsgError>, Vmpck) {
    let mut key = vmpck(10);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let pending = key.seal(MsgType::ReportRequest, 1, &[7; 0x60], &mut page).unwrap();
    let mut response = psp_response(12, 6, 1, &report_response_payload());
    tamper(&mut response);
    let result = pending.open(&response).map(|p| p.as_bytes().len());
    (result, key)
}

#[test]
fn untampered_response_opens() {
    let (result, key) = open_with(|_| {});
    assert_eq!(result, Ok(0x20 + ATTESTATION_REPORT_SIZE));
    assert_eq!(key.count(), 12);
    assert!(!key.is_disabled());
}

#[test]
fn tampering_anywhere_disables_the_key() {
    let flips = [
        0x00,  // tag
        0x0f,  // last tag byte
        0x3c,  // msg_vmpck, inside the additional data
        0x5f,  // reserved header byte, inside the additional data
        0x60,  // first ciphertext byte
        0x4bf, // last ciphertext byte
    ];
    for at in flips {
        let (result, mut key) = open_with(|page| page[at] ^= 0x01);
        assert_eq!(result, Err(GuestMsgError::AuthenticationFailed), "flip at {at:#x}");
        assert!(key.is_disabled());
        assert_eq!(key.count(), 10, "count unchanged after a failure");
        let mut page = [0u8; MSG_PAGE_SIZE];
        assert_eq!(
            key.seal(MsgType::ReportRequest, 1, &[], &mut page).err(),
            Some(GuestMsgError::Disabled)
        );
    }
}

/// A change a hostile host makes to a response page.
type Tamper = fn(&mut [u8; MSG_PAGE_SIZE]);

#[test]
fn header_mismatches_are_named_and_disable_the_key() {
    let cases: [(Tamper, GuestMsgError); 5] = [
        (|p| p[0x20] = 11, GuestMsgError::WrongSeqno { expected: 12, got: 11 }),
        (|p| p[0x34] = 5, GuestMsgError::WrongType { expected: 6, got: 5 }),
        (|p| p[0x35] = 2, GuestMsgError::WrongVersion { expected: 1, got: 2 }),
        (|p| p[0x30] = 2, GuestMsgError::WrongAlgorithm { got: 2 }),
        (
            |p| p[0x36..0x38].copy_from_slice(&4001u16.to_le_bytes()),
            GuestMsgError::SizeTooLarge { msg_sz: 4001 },
        ),
    ];
    for (tamper, expected) in cases {
        let (result, key) = open_with(tamper);
        assert_eq!(result, Err(expected));
        assert!(key.is_disabled(), "{expected:?}");
    }
}

#[test]
fn a_replayed_response_is_refused() {
    let mut key = vmpck(0);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let pending = key.seal(MsgType::ReportRequest, 1, &[1; 0x60], &mut page).unwrap();
    let first = psp_response(2, 6, 1, &report_response_payload());
    pending.open(&first).unwrap();
    let pending = key.seal(MsgType::ReportRequest, 1, &[1; 0x60], &mut page).unwrap();
    assert_eq!(pending.open(&first).err(), Some(GuestMsgError::WrongSeqno { expected: 4, got: 2 }));
    assert!(key.is_disabled());
}

#[test]
fn sequence_numbers_stop_below_u32_max() {
    // Count u32::MAX - 2: request u32::MAX - 1, response u32::MAX, the last pair that fits.
    let mut key = vmpck(u32::MAX - 2);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let pending = key.seal(MsgType::ReportRequest, 1, &[], &mut page).unwrap();
    assert_eq!(pending.seqno(), u64::from(u32::MAX) - 1);
    pending.open(&psp_response(u64::from(u32::MAX), 6, 1, &[])).unwrap();
    assert_eq!(key.count(), u32::MAX);
    assert_eq!(
        key.seal(MsgType::ReportRequest, 1, &[], &mut page).err(),
        Some(GuestMsgError::SequenceExhausted { count: u32::MAX })
    );
    assert!(key.is_disabled());
    let mut key = vmpck(u32::MAX - 1);
    assert_eq!(
        key.seal(MsgType::ReportRequest, 1, &[], &mut page).err(),
        Some(GuestMsgError::SequenceExhausted { count: u32::MAX - 1 })
    );
}

#[test]
fn an_abandoned_request_disables_the_key_but_an_unsent_one_does_not() {
    let mut key = vmpck(0);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let pending = key.seal(MsgType::KeyRequest, 1, &[0; 32], &mut page).unwrap();
    pending.cancel_unsent();
    assert!(!key.is_disabled());
    let pending = key.seal(MsgType::KeyRequest, 1, &[0; 32], &mut page).unwrap();
    assert_eq!(pending.seqno(), 1, "an unsent request's seqno is reused");
    drop(pending);
    assert!(key.is_disabled());
}

#[test]
fn host_status_busy_keeps_the_request_and_errors_disable() {
    let mut key = vmpck(0);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let mut pending = key.seal(MsgType::ReportRequest, 1, &[0; 0x60], &mut page).unwrap();
    assert_eq!(pending.host_status(2 << 32), Ok(HostVerdict::Busy));
    assert_eq!(pending.host_status(0), Ok(HostVerdict::ResponseReady));
    pending.open(&psp_response(2, 6, 1, &[])).unwrap();
    let mut pending = key.seal(MsgType::ReportRequest, 1, &[0; 0x60], &mut page).unwrap();
    assert_eq!(
        pending.host_status(0x16),
        Err(GuestMsgError::HostFailed { vmm_error: 0, firmware_error: 0x16 })
    );
    drop(pending);
    assert!(key.is_disabled());
}

#[test]
fn seal_refuses_bad_arguments_without_using_a_seqno() {
    let mut key = vmpck(4);
    let mut page = [0u8; MSG_PAGE_SIZE];
    assert_eq!(
        key.seal(MsgType::ReportResponse, 1, &[], &mut page).err(),
        Some(GuestMsgError::NotARequest(MsgType::ReportResponse))
    );
    assert_eq!(
        key.seal(MsgType::ReportRequest, 1, &[0; MAX_PAYLOAD_SIZE + 1], &mut page).err(),
        Some(GuestMsgError::PayloadTooLarge { len: 4001 })
    );
    assert!(!key.is_disabled());
    let pending = key.seal(MsgType::ReportRequest, 1, &[0; MAX_PAYLOAD_SIZE], &mut page).unwrap();
    assert_eq!(pending.seqno(), 5);
    pending.cancel_unsent();
}

#[test]
fn a_too_small_certificate_buffer_keeps_the_request_pending_for_a_plain_resend() {
    let mut key = vmpck(0);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let mut pending = key.seal(MsgType::ReportRequest, 1, &[0; 0x60], &mut page).unwrap();
    assert_eq!(
        pending.host_status_extended(1 << 32, Some(9)),
        Ok(HostVerdict::CertificatesTooSmall { pages_needed: 9 })
    );
    // The same request, resent as a plain guest request, settles the sequence number.
    assert_eq!(pending.host_status(0), Ok(HostVerdict::ResponseReady));
    pending.open(&psp_response(2, 6, 1, &[])).unwrap();
    assert!(!key.is_disabled());
    assert_eq!(key.count(), 2);
}

#[test]
fn invalid_len_is_a_failure_on_a_plain_request_or_without_the_host_s_page_count() {
    for extended in [false, true] {
        let mut key = vmpck(0);
        let mut page = [0u8; MSG_PAGE_SIZE];
        let mut pending = key.seal(MsgType::ReportRequest, 1, &[0; 0x60], &mut page).unwrap();
        let verdict = if extended {
            pending.host_status_extended(1 << 32, None)
        } else {
            pending.host_status(1 << 32)
        };
        assert_eq!(verdict, Err(GuestMsgError::HostFailed { vmm_error: 1, firmware_error: 0 }));
        drop(pending);
        assert!(key.is_disabled(), "extended: {extended}");
    }
}

#[test]
fn invalid_len_with_a_firmware_error_is_a_failure_even_when_extended() {
    let mut key = vmpck(0);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let mut pending = key.seal(MsgType::ReportRequest, 1, &[0; 0x60], &mut page).unwrap();
    assert!(pending.host_status_extended((1 << 32) | 0x16, Some(4)).is_err());
    drop(pending);
    assert!(key.is_disabled());
}
